"""Generation benchmarks (run by hand, never as timed tests).

    .venv/bin/python benchmarks/generation.py            # all three
    .venv/bin/python benchmarks/generation.py --part b   # one of a, b, c

(a) tokens/s of the embedded model through copydesk vs raw llama_cpp on the same
    prompt, as a ratio (target >= 0.9);
(b) the fake OpenAI server with 200 ms latency: wall time for 20 variants at
    concurrency 8 vs the ideal ceil(20/8) x 200 ms (target <= 1.3x);
(c) share of embedded-model variants valid on the first attempt and after re-asks,
    over 20 briefs built from the sample brand, for each output mode;
(d) issue 12 item 3: the 8 sample briefs x 2 drafts through the embedded model, as the
    CLI runs them (default settings): the share with no open block finding after repair,
    seconds per draft, and every draft with its findings written to a JSON file for
    judging by a reader (``--variant before``: free generation by the model, the old
    way; ``after``: offline composition, :mod:`copydesk.llm.offline`, the model writing
    the hook; ``after-opening``: and the body's opening sentence).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from copydesk.guardrails import load_policy  # noqa: E402
from copydesk.llm.embedded import REPEAT_PENALTY, EmbeddedBackend  # noqa: E402
from copydesk.llm.generate import GenerationOptions, GenerationResult, Generator  # noqa: E402
from copydesk.llm.openai_backend import OpenAIBackend  # noqa: E402
from copydesk.llm.prompts import PromptLibrary  # noqa: E402
from copydesk.llm.settings import load_settings  # noqa: E402
from copydesk.models import Brief  # noqa: E402
from copydesk.vocab import Channel  # noqa: E402
from copydesk.yamlio import load_model  # noqa: E402

PROMPTS = PromptLibrary(REPO / "prompts")
POLICY = load_policy(REPO / "guardrails")
BRAND = "Ridgeline Outfitters"


def sample_briefs(count: int) -> list[Brief]:
    """The sample brand's briefs, then variations of them on other channels."""
    base = [load_model(p, Brief) for p in sorted((REPO / "briefs").glob("*.yaml"))]
    channels = list(Channel)
    out = list(base[:count])
    i = 0
    while len(out) < count:
        b = base[i % len(base)]
        channel = channels[(i + 1 + channels.index(b.channel)) % len(channels)]
        out.append(b.model_copy(update={"id": f"{b.id}-{channel.value}-{i}", "channel": channel}))
        i += 1
    return out


def part_a(repeats: int = 3, max_tokens: int = 160) -> float:
    settings = load_settings({}, overrides={"temperature": 0.0, "seed": 7})
    backend = EmbeddedBackend(settings)
    llama = backend.llama()
    brief = sample_briefs(1)[0]
    gen = Generator(backend, PROMPTS, POLICY, GenerationOptions(), brand=BRAND)
    system = PROMPTS.render("system", brand=BRAND, channel="email", locale="en-GB",
                            personalization=brief.personalization)
    user = PROMPTS.render("generate-variant", brief=brief.model_dump(mode="json"), channel="email",
                          fields=[{"name": "subject", "description": "subject line",
                                   "required": True}],
                          style=gen.style, variant_number=1, variant_count=1)
    messages = [{"role": "system", "content": system.text}, {"role": "user", "content": user.text}]
    llama.create_chat_completion(messages=messages, max_tokens=8)  # warm up
    raw_rates, ours_rates = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        raw = llama.create_chat_completion(messages=messages, temperature=0.0, seed=7,
                                           max_tokens=max_tokens, repeat_penalty=REPEAT_PENALTY)
        raw_rates.append(raw["usage"]["completion_tokens"] / (time.perf_counter() - t))
        t = time.perf_counter()
        ours = backend.chat(messages, temperature=0.0, max_tokens=max_tokens)
        ours_rates.append(ours.usage.completion_tokens / (time.perf_counter() - t))
    raw_best, ours_best = max(raw_rates), max(ours_rates)
    ratio = ours_best / raw_best
    print(f"(a) embedded tokens/s: raw llama_cpp {raw_best:.1f}, copydesk {ours_best:.1f}, "
          f"ratio {ratio:.3f} (target >= 0.9)")
    return ratio


def part_b(n: int = 20, concurrency: int = 8, latency: float = 0.2) -> float:
    from tests.fake_openai import FakeOpenAI, Reply

    brief = sample_briefs(1)[0]
    with FakeOpenAI() as fake:
        fake.default = lambda _req: Reply.draft().slow(latency)
        settings = load_settings({}, overrides={"base_url": fake.base_url, "model": "fake",
                                                "max_concurrency": concurrency})
        gen = Generator(OpenAIBackend(settings), PROMPTS, POLICY,
                        GenerationOptions.from_settings(settings), brand=BRAND)
        gen.run(brief, 2)  # warm up (connection pool, imports)
        t = time.perf_counter()
        result = gen.run(brief, n)
        wall = time.perf_counter() - t
    ok = sum(o.status == "ok" for o in result.outcomes)
    ideal = math.ceil(n / concurrency) * latency
    print(f"(b) {n} variants at concurrency {concurrency}, {latency * 1000:.0f} ms latency: "
          f"{wall:.3f}s vs ideal {ideal:.3f}s = {wall / ideal:.2f}x (target <= 1.3x); "
          f"{ok}/{n} ok, max in flight {fake.max_in_flight}")
    return wall / ideal


def part_c(count: int = 20, modes: tuple[str, ...] = ("labelled", "json_schema")) -> None:
    briefs = sample_briefs(count)
    for mode in modes:
        settings = load_settings({}, overrides={"output_mode": mode, "seed": 11,
                                                "max_tokens": 250, "reask_attempts": 2})
        backend = EmbeddedBackend(settings)
        gen = Generator(backend, PROMPTS, POLICY, GenerationOptions.from_settings(settings),
                        brand=BRAND)
        first = after = tokens = 0
        t = time.perf_counter()
        for brief in briefs:
            (outcome,) = gen.run(brief, 1).outcomes
            tokens += outcome.usage.completion_tokens
            if outcome.fields is not None:
                after += 1
                first += outcome.attempts == 1
        wall = time.perf_counter() - t
        print(f"(c) {mode:>11}: valid on first attempt {first}/{count} ({first / count:.0%}), "
              f"after re-asks {after}/{count} ({after / count:.0%}); "
              f"{tokens} completion tokens, {wall:.0f}s", flush=True)


def part_d(variant: str, out: Path | None, per_brief: int = 2) -> dict[str, object]:
    settings = load_settings({})
    backend = EmbeddedBackend(settings)
    gen = Generator(backend, PROMPTS, POLICY, GenerationOptions.from_settings(settings),
                    brand=BRAND)
    drafts: list[dict[str, object]] = []
    for brief in sample_briefs(8):
        t = time.perf_counter()
        result = run_variant(variant, gen, brief, per_brief)
        wall = time.perf_counter() - t
        for o in result.outcomes:
            blocks = [f"{f.rule_id}: {f.match!r}" for f in o.blocks]
            drafts.append({
                "brief": brief.id, "channel": brief.channel.value, "index": o.index,
                "status": o.status, "clean": o.fields is not None and not blocks,
                "fields": o.fields, "blocks": blocks,
                "warnings": [f"{f.rule_id}: {f.match!r}" for f in o.findings
                             if f.severity.value == "warn"],
                "latency_s": round(o.latency, 2), "attempts": o.attempts,
                "completion_tokens": o.usage.completion_tokens, "error": o.error,
                "last_output": o.last_output if o.fields is None else None,
            })
            print(f"(d) {variant} {brief.id} #{o.index}: {o.status}, {len(blocks)} block(s), "
                  f"{o.latency:.1f}s, {o.attempts} call(s)", flush=True)
        print(f"(d)   {brief.id}: {wall:.1f}s for {per_brief} drafts", flush=True)
    clean = sum(bool(d["clean"]) for d in drafts)
    seconds = [float(str(d["latency_s"])) for d in drafts]
    summary: dict[str, object] = {
        "variant": variant, "drafts": len(drafts), "clean_after_repair": clean,
        "median_s_per_draft": round(statistics.median(seconds), 2),
        "max_s_per_draft": round(max(seconds), 2),
    }
    print(f"(d) {variant}: no open block after repair {clean}/{len(drafts)} "
          f"({clean / len(drafts):.0%}); median {summary['median_s_per_draft']}s per draft, "
          f"max {summary['max_s_per_draft']}s", flush=True)
    if out is not None:
        out.write_text(json.dumps({"summary": summary, "drafts": drafts}, indent=1,
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def run_variant(variant: str, gen: Generator, brief: Brief, n: int) -> GenerationResult:
    """One brief's drafts, the old way (the model writes everything) or composed."""
    if variant == "before":
        return gen.run(brief, n)
    from copydesk.llm import offline

    offline.WRITE_OPENING = variant == "after-opening"
    with offline.drafting(brief, POLICY, BRAND, prompts=PROMPTS):
        return gen.run(brief, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "c", "d", "all"], default="all")
    parser.add_argument("--variant", choices=["before", "after", "after-opening"], default="after",
                        help="part d: free generation (before), offline composition (after: "
                        "the model writes the hook; after-opening: also the opening line)")
    parser.add_argument("--out", type=Path, help="part d: write every draft to this JSON file")
    parser.add_argument("--briefs", type=int, default=20)
    parser.add_argument("--modes", default="labelled,json_schema")
    args = parser.parse_args()
    if args.part in ("a", "all"):
        part_a()
    if args.part in ("b", "all"):
        part_b()
    if args.part in ("c", "all"):
        part_c(args.briefs, tuple(args.modes.split(",")))
    if args.part in ("d", "all"):
        part_d(args.variant, args.out)


if __name__ == "__main__":
    main()
