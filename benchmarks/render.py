"""Rendering speed and memory: copydesk vs a bare Jinja loop, and peak RSS when streaming.

    .venv/bin/python benchmarks/render.py [--contacts 200000] [--stream 1000000]

1. decide + render + write (JSONL) for N generated contacts through
   ``render_campaign`` on one worker, next to a bare Jinja loop (plain Environment) that
   renders the same templates (variant fields + channel parts) for the same contacts
   with the variant copydesk chose, in the same process, without deciding, sandboxing or
   writing. Compared per rendered message (the stricter measure: copydesk's time also
   covers the suppressed and held-out contacts). Target ratio >= 0.5.
2. peak RSS (ru_maxrss) of a subprocess that streams M generated contacts through
   ``render_campaign``, next to one streaming a small audience. Target: flat, < 500 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from copydesk.models import ApprovedContent  # noqa: E402
from copydesk.render.pipeline import render_campaign  # noqa: E402
from copydesk.rules.campaign import CampaignFile, parse_campaign  # noqa: E402
from copydesk.vocab import Channel, Stage  # noqa: E402

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
STAGES = ["awareness", "consideration", "onboarding", "active", "dormant", "loyal"]
NAMES = ["Amelia", "Oliver", "Isla", "Harry", "Siân", "Chloé", "Zara", "Noah", "<b>Bo</b>"]

CAMPAIGN = """\
id: bench-spring
channel: email
template: email/default
holdout: 0.05
frequency_cap: {max: 2, per_days: 7}
suppress:
  - id: no-reactivation-for-recent-buyers
    when: {all: [{field: lifecycle_stage, is: dormant}, {field: last_purchase_at, within_days: 30}]}
  - id: no-beginner-content-for-experts
    when: {field: skill_level, in: [advanced, expert]}
select:
  - id: new-customers
    when: {field: lifecycle_stage, is: onboarding}
    variants: {brief: boots-onboarding}
  - id: loyal
    when: {all: [{field: lifecycle_stage, is: loyal}, {field: orders, gte: 3}]}
    variants: {ids: [V12, V13], weights: [70, 30]}
fallback: {brief: spring-generic}
"""


def library() -> list[ApprovedContent]:
    def item(vid: str, brief: str, subject: str) -> ApprovedContent:
        return ApprovedContent(
            variant_id=vid, brief_id=brief, revision=1, content_hash=vid.ljust(64, "0"),
            channel=Channel.EMAIL, stage=Stage.ACTIVE, segment="walkers",
            fields={
                "subject": subject,
                "preheader": "Fresh kit for spring walks",
                "body": "Hi {{ first_name | default('there') }},\n\nSpring is here and the fells "
                        "are calling. Your {{ last_product | default('kit') }} is ready for "
                        "{{ favourite_activity | default('a walk') }}.\n\nSee you outside.",
                "cta": "Shop spring",
            },
            approved_by="rita", approved_at=NOW, review_by=None,
        )

    return [
        item("V1", "boots-onboarding", "Break in your boots, {{ first_name | default('walker') }}"),
        item("V2", "boots-onboarding", "{{ first_name | default('Hello') }}, boot care in 3 steps"),
        item("V12", "rewards-loyal", "{{ first_name | default('Hello') }}, double points"),
        item("V13", "rewards-loyal", "Your points are waiting"),
        item("V20", "spring-generic", "Spring on the fells, {{ first_name | default('there') }}"),
    ]


def contacts(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield {
            "contact_id": f"C{i:08d}",
            "first_name": rng.choice(NAMES),
            "lifecycle_stage": rng.choice(STAGES),
            "skill_level": rng.choice(["beginner", "beginner", "intermediate", "expert"]),
            "orders": rng.randint(0, 9),
            "last_purchase_at": TODAY - timedelta(days=rng.randint(0, 900)),
            "last_product": "Summit Trail Boots",
            "favourite_activity": "fell walking",
            "consent_email": rng.random() < 0.9,
        }


def campaign_file() -> CampaignFile:
    return CampaignFile(parse_campaign(CAMPAIGN, "bench.yaml"), Path("bench.yaml"), "0" * 64)


def run_copydesk(people: list[dict[str, Any]], out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    summary = render_campaign(campaign_file(), people, out, library=library(),
                              templates_dir=REPO / "templates", today=TODAY, now=NOW,
                              chunk_size=2000)
    return time.perf_counter() - start, summary.rendered


def chosen_variants(out: Path) -> dict[str, str]:
    """contact_id -> variant_id of every message copydesk rendered."""
    found: dict[str, str] = {}
    with out.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["decision"] == "selected":
                found[row["contact_id"]] = row["variant_id"]
    return found


def run_bare(people: list[dict[str, Any]], chosen: dict[str, str]) -> tuple[float, int]:
    """Plain jinja2.Environment, templates compiled once, the same variant copydesk chose
    rendered for the same contacts: no decision, no sandbox, no writing."""
    import jinja2

    from copydesk.render.sandbox import _paragraphs

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(REPO / "templates")),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["paragraphs"] = _paragraphs
    parts = [env.get_template("email/default.html.j2"), env.get_template("email/default.txt.j2")]
    compiled = {
        v.variant_id: (
            {name: env.from_string(text) for name, text in v.fields.items()},
            {"id": v.variant_id, "revision": 1, "content_hash": v.content_hash},
        )
        for v in library()
    }
    campaign = {"id": "bench-spring", "channel": "email"}
    todo = [(c, compiled[chosen[c["contact_id"]]]) for c in people if c["contact_id"] in chosen]
    n = 0
    start = time.perf_counter()
    for c, (fields, info) in todo:
        message = {name: t.render(c) for name, t in fields.items()}
        ctx = {"message": message, "contact": c, "campaign": campaign, "variant": info}
        for part in parts:
            part.render(ctx)
        n += 1
    return time.perf_counter() - start, n


def stream_child(n: int, out: str) -> None:
    """Runs in a subprocess: stream n contacts to out, print peak RSS in MB."""
    start = time.perf_counter()
    summary = render_campaign(campaign_file(), contacts(n), Path(out), library=library(),
                              templates_dir=REPO / "templates", today=TODAY, now=NOW,
                              chunk_size=2000)
    took = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"contacts": summary.total, "rendered": summary.rendered,
                      "seconds": round(took, 1), "peak_rss_mb": round(rss_mb, 1)}))


def child_rss(n: int, tmp: Path) -> dict[str, Any]:
    out = tmp / f"stream-{n}.jsonl"
    proc = subprocess.run([sys.executable, __file__, "--child", str(n), str(out)],
                          check=True, capture_output=True, text=True)
    out.unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--stream", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stream_child(int(args.child[0]), args.child[1])
        return

    people = list(contacts(args.contacts))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cd_s, rendered = run_copydesk(people, tmp / "out.jsonl")
        bare_s, bare_n = run_bare(people, chosen_variants(tmp / "out.jsonl"))
        assert bare_n == rendered
        bare_rate = bare_n / bare_s
        cd_msg_rate = rendered / cd_s
        print(f"contacts: {len(people):,}; messages rendered: {rendered:,} "
              f"(the rest suppressed, capped or held out)")
        print(f"bare Jinja loop, same messages (render only): {bare_rate:>9,.0f} messages/s")
        print(f"copydesk decide+render+write, 1 worker:       {cd_msg_rate:>9,.0f} messages/s"
              f"  ({len(people) / cd_s:,.0f} contacts/s)")
        print(f"ratio: {cd_msg_rate / bare_rate:.2f}x (target >= 0.5x)")
        if args.stream:
            small = child_rss(20_000, tmp)
            big = child_rss(args.stream, tmp)
            print(f"peak RSS streaming {small['contacts']:,}: {small['peak_rss_mb']} MB; "
                  f"{big['contacts']:,}: {big['peak_rss_mb']} MB "
                  f"({big['seconds']} s) (target flat, < 500 MB)")


if __name__ == "__main__":
    main()
