"""Rendering speed and memory: copydesk vs a bare Jinja loop, and peak RSS when streaming.

    .venv/bin/python benchmarks/render.py [--contacts 200000] [--scale 1000000] [--no-spark]

1. decide + render + write (JSONL) for N generated contacts through
   ``render_campaign`` on one worker, next to a bare Jinja loop (plain Environment) that
   renders the same templates (variant fields + channel parts) for the same contacts
   with the variant copydesk chose, in the same process, without deciding, sandboxing or
   writing. Compared per rendered message (the stricter measure: copydesk's time also
   covers the suppressed and held-out contacts). Target ratio >= 0.8.
2. Scale: a CSV file of S generated contacts (default 1,000,000) rendered to JSONL in a
   fresh subprocess with 1 worker and with 2 workers (workers read their own pieces of
   the file), and by the Spark engine on ``local[2]`` when pyspark and Java are there
   (benchmarks/render_spark.py). Prints seconds, contacts/s, the speed-up over 1 worker and
   peak RSS of the parent and of the largest worker, next to the same for a 20,000-contact
   file. Targets on 2 idle cores: 2 workers <= 30 s for 1M, speed-up >= 1.7x, RSS flat.

    .venv/bin/python benchmarks/render.py --contacts 0 --scale 1000000   # the scale table only
"""

from __future__ import annotations

import argparse
import csv
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


CSV_COLUMNS = ["contact_id", "first_name", "lifecycle_stage", "skill_level", "orders", "last_purchase_at",
               "last_product", "favourite_activity", "consent_email"]


def write_csv(n: int, path: Path) -> Path:
    """An audience file of ``n`` generated contacts."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for c in contacts(n):
            writer.writerow([str(v).lower() if isinstance(v := c[k], bool) else v for k in CSV_COLUMNS])
    return path


def file_child(audience: str, workers: int, out: str) -> None:
    """Runs in a fresh subprocess: render a file, print seconds and peak RSS in MB."""
    start = time.perf_counter()
    summary = render_campaign(campaign_file(), Path(audience), Path(out), library=library(),
                              templates_dir=REPO / "templates", today=TODAY, now=NOW, workers=workers)
    took = time.perf_counter() - start
    print(json.dumps({"contacts": summary.total, "rendered": summary.rendered, "seconds": took,
                      "parent_rss_mb": _high_water_mb(),
                      "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def _high_water_mb() -> float:
    """This process's peak RSS since exec (ru_maxrss would include the process that
    started it: Linux keeps it across execve)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_file(audience: Path, workers: int, tmp: Path) -> dict[str, Any]:
    out = tmp / f"out-{workers}.jsonl"
    proc = subprocess.run([sys.executable, __file__, "--child", str(audience), str(workers), str(out)],
                          check=True, capture_output=True, text=True)
    out.unlink(missing_ok=True)
    out.with_name(f"out-{workers}.rejects.csv").unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_spark(audience: Path, tmp: Path) -> dict[str, Any] | None:
    """The Spark engine on local[2], or None (with the reason printed) when it cannot run."""
    try:
        from benchmarks.render_spark import spark_render_seconds
    except ImportError as exc:
        print(f"spark local[2]: not run ({exc})")
        return None
    try:
        return spark_render_seconds(audience, tmp / "spark-out", campaign_file(), library(), REPO / "templates",
                                    master="local[2]")
    except Exception as exc:  # no Java, no pyspark: say so and keep the local figures
        print(f"spark local[2]: not run ({type(exc).__name__}: {exc})")
        return None


def scale_table(n: int, tmp: Path, *, spark: bool) -> None:
    small = write_csv(20_000, tmp / "audience-20k.csv")
    big = write_csv(n, tmp / f"audience-{n}.csv")
    print(f"\nscale: CSV -> JSONL, {n:,} contacts ({big.stat().st_size / 1e6:,.0f} MB), fresh process per run")
    base = None
    for workers in (1, 2):
        r = run_file(big, workers, tmp)
        s = run_file(small, workers, tmp)
        base = base or r["seconds"]
        print(f"  {workers} worker(s): {r['seconds']:6.1f} s  {r['contacts'] / r['seconds']:>9,.0f} contacts/s  "
              f"speed-up {base / r['seconds']:.2f}x  peak RSS parent {r['parent_rss_mb']:.0f} MB, "
              f"worker {r['worker_rss_mb']:.0f} MB (20k contacts: {s['parent_rss_mb']:.0f} / "
              f"{s['worker_rss_mb']:.0f} MB)")
    if spark:
        result = run_spark(big, tmp)
        if result is not None:
            print(f"  spark local[2]: {result['seconds']:6.1f} s  {n / result['seconds']:>9,.0f} contacts/s  "
                  f"speed-up {base / result['seconds']:.2f}x  driver peak RSS "
                  f"{result.get('driver_rss_mb', float('nan')):.0f} MB (the seconds leave out the "
                  f"{result.get('startup_seconds', float('nan')):.1f} s session start)")
    print("  targets on 2 idle cores: 2 workers <= 30 s for 1M, speed-up >= 1.7x, RSS flat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        file_child(args.child[0], int(args.child[1]), args.child[2])
        return

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.contacts:
            people = list(contacts(args.contacts))
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
            print(f"ratio: {cd_msg_rate / bare_rate:.2f}x (target >= 0.8x)")
        if args.scale:
            scale_table(args.scale, tmp, spark=not args.no_spark)


if __name__ == "__main__":
    main()
