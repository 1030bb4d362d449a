"""Profanity: the curated, obfuscation-aware term lists of the packs against
``alt-profanity-check`` (a linear model shipped inside its package), on the labelled
evaluation set.

    .venv/bin/pip install alt-profanity-check   # not a copydesk dependency
    .venv/bin/python benchmarks/profanity.py [--set guardrails/eval/drafts.jsonl]

For each detector: recall on the drafts labelled ``profanity``, false alarms on the
drafts that are not, and drafts/s on one core; the two side by side in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from copydesk.guardrails import load_policy  # noqa: E402
from copydesk.guardrails.evaluate import FLAGGING, load_cases  # noqa: E402
from copydesk.vocab import Category  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default=str(ROOT / "guardrails/eval/drafts.jsonl"))
    parser.add_argument("--policy", default=str(ROOT / "guardrails"))
    parser.add_argument("--threshold", type=float, default=0.5, help="alt-profanity-check probability")
    parser.add_argument("--repeat", type=int, default=20, help="passes over the set for the speed figure")
    args = parser.parse_args()

    cases, problems = load_cases(Path(args.set))
    for p in problems:
        print(f"skipped: {p}")
    texts = ["\n".join(c.fields.values()) for c in cases]
    truth = [Category.PROFANITY in c.expect for c in cases]
    policy = load_policy(Path(args.policy)).select(["existence"])
    profanity_rules = [r for r in policy.rules if r.spec.category == Category.PROFANITY]

    def curated(case_index: int) -> bool:
        c = cases[case_index]
        return any(
            f.category == Category.PROFANITY and f.severity in FLAGGING
            for f in policy.check(c.channel, c.fields)
        )

    detectors: dict[str, list[bool]] = {}
    speed: dict[str, float] = {}
    start = time.perf_counter()
    for _ in range(args.repeat):
        detectors["curated lists"] = [curated(i) for i in range(len(cases))]
    speed["curated lists"] = args.repeat * len(cases) / (time.perf_counter() - start)
    try:
        from profanity_check import predict_prob
    except ImportError:
        print("alt-profanity-check is not installed: pip install alt-profanity-check")
    else:
        predict_prob(texts[:10])  # load the model before timing
        start = time.perf_counter()
        for _ in range(args.repeat):
            probs = predict_prob(texts)
        speed["alt-profanity-check"] = args.repeat * len(cases) / (time.perf_counter() - start)
        detectors["alt-profanity-check"] = [float(p) >= args.threshold for p in probs]

    positives = sum(truth)
    negatives = len(truth) - positives
    print(f"{len(cases)} drafts: {positives} profane, {negatives} not ({len(profanity_rules)} profanity rules)")
    print(f"{'detector':<22} {'recall':>7} {'false alarms':>13} {'precision':>9} {'drafts/s':>10}")
    for name, flags in detectors.items():
        tp = sum(f and t for f, t in zip(flags, truth, strict=True))
        fp = sum(f and not t for f, t in zip(flags, truth, strict=True))
        recall = tp / positives if positives else float("nan")
        precision = tp / (tp + fp) if tp + fp else float("nan")
        print(f"{name:<22} {recall:>7.2f} {fp:>6} of {negatives:<5} {precision:>9.2f} {speed[name]:>10,.0f}")
    if len(speed) == 2:
        ratio = speed["alt-profanity-check"] / speed["curated lists"]
        print(f"alt-profanity-check / curated speed: {ratio:.2f}x")


if __name__ == "__main__":
    main()
