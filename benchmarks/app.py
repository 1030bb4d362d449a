"""App page speed with a big library: AppTest run time of the Library and Review pages
(and, for information, Overview) with 10,000 variants in the store.

    .venv/bin/python benchmarks/app.py [--variants 10000] [--runs 5] [--keep DIR]

The store is built through the Desk API (``add_variant``, ``submit``, ``approve``: every
row audited, as in real use) in a temporary copy of the sample workspace without policy
packs, so findings are given rather than computed; the benchmark connection turns
``PRAGMA synchronous`` off to make the build quicker (it changes durability, not the
queries the pages run). About 60% of the variants are approved, 25% in review, 15% drafts;
one in five carries a block or warn finding so highlighting is exercised.

Prints, per page, the first run after switching to it (cold) and the median of ``--runs``
reruns (warm). Target: under 1.5 s per page. Lists are paginated (50 rows in the
Library, 6 cards in the Review page), so the time should not grow with the store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from streamlit.testing.v1 import AppTest  # noqa: E402

from copydesk.models import Finding  # noqa: E402
from copydesk.services import Desk  # noqa: E402
from copydesk.ui.session import USER_KEY  # noqa: E402
from copydesk.vocab import Category, Role, Severity  # noqa: E402
from copydesk.workspace import Workspace  # noqa: E402

PASSWORD = "benchmark password"
BODIES = [
    "A few minutes of care after each walk keeps your boots comfortable for years.",
    "Brush off the mud and let them dry slowly, away from the radiator.",
    "The Boot Care Kit has everything you need for wet hills.",
    "Pack light, start early, and enjoy the long days outside.",
]


def build(root: Path, n: int) -> Workspace:
    """A workspace holding ``n`` variants across the sample briefs, in mixed statuses."""
    root.mkdir(parents=True)
    shutil.copytree(ROOT / "briefs", root / "briefs")
    (root / "copydesk.yaml").write_text("brand: Bench\npolicy: no-packs\n", encoding="utf-8")
    ws = Workspace(root)
    d = Desk.open(ws)
    d.db.execute("PRAGMA synchronous = OFF")
    d.add_user("admin", [Role.ADMIN], PASSWORD, actor=None)
    d.add_user("ana", [Role.COPYWRITER], PASSWORD, actor="admin")
    d.add_user("ben", [Role.REVIEWER], PASSWORD, actor="admin")
    briefs = [d.add_brief_file(p, actor="admin") for p in sorted(ws.briefs_dir.glob("*.yaml"))]
    started = time.perf_counter()
    for i in range(n):
        brief = briefs[i % len(briefs)]
        body = f"{BODIES[i % len(BODIES)]} Note {i}."
        fields = {
            "email": {"subject": f"Boots, part {i}", "body": body, "cta": "Read more"},
            "sms": {"text": f"{body} Reply STOP to opt out"},
            "push": {"title": f"Part {i}", "body": body},
            "web": {"headline": f"Part {i}", "body": body},
            "ad": {"headline": f"Part {i}", "description": body},
        }[brief.channel.value]
        findings: list[Finding] = []
        if i % 5 == 0:
            field = next(iter(fields))
            findings = [Finding(rule_id="tone.hype", category=Category.TONE, severity=Severity.WARN, field=field,
                                start=0, end=4, match=fields[field][:4], message="check the tone",
                                suggestion="say it plainly")]
        v = d.add_variant(brief.id, fields, actor="ana", findings=findings)
        bucket = i % 20
        if bucket >= 3:
            d.submit(v.id, actor="ana")
        if bucket >= 8:
            d.approve(v.id, actor="ben")
        if (i + 1) % 2000 == 0:
            print(f"  {i + 1:,} variants in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    print(f"built {n:,} variants in {time.perf_counter() - started:.1f}s "
          f"({d.status_counts()})", file=sys.stderr)
    d.close()
    return ws


def time_page(module: str, runs: int, user: str = "ben") -> tuple[float, float, str]:
    """(cold, median warm) seconds of one AppTest run of page ``module``, and what it drew."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state[USER_KEY] = user
    at.run()
    at.switch_page(f"copydesk/ui/pages/{module}.py")
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    if at.exception:
        raise SystemExit(f"{module}: {at.exception[0].value}")
    if not at.title or at.title[0].value.split()[0].lower() != module:
        raise SystemExit(f"{module}: the page did not render (titles: {[t.value for t in at.title]})")
    warm = []
    for _ in range(runs):
        t = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t)
    rows = [len(df.value) for df in at.dataframe]
    detail = f"tables {rows}, {len(at.markdown)} markdown blocks, {len(at.button)} buttons"
    return cold, statistics.median(warm), detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the workspace here instead of a temp folder")
    args = parser.parse_args()
    tmp = None
    if args.keep and (args.keep / "store" / "library.db").exists():
        ws = Workspace(args.keep)
    else:
        tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="copydesk-bench-")
        ws = build(args.keep or Path(tmp.name) / "ws", args.variants)  # type: ignore[union-attr]
    os.environ["COPYDESK_WORKSPACE"] = str(ws.root)
    print(f"{'page':<10} {'cold s':>8} {'warm s':>8}   target < 1.5 s")
    for module in ("library", "review", "overview"):
        cold, warm, detail = time_page(module, args.runs)
        print(f"{module:<10} {cold:>8.3f} {warm:>8.3f}   {'ok' if max(cold, warm) < 1.5 else 'SLOW'}  {detail}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
