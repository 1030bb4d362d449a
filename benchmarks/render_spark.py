"""The Spark engine's speed and driver memory: a CSV audience rendered on ``local[2]``.

    .venv/bin/python benchmarks/render_spark.py [--contacts 200000] [--contacts 20000 ...] [--master local[2]]

Each run is a fresh process (so peak memory is this run's): it starts a session, renders
the audience with :func:`copydesk.spark.render_source` and writes the messages and rejects
as Parquet folders. Reported: seconds for the render and write (the session already up),
the session's start-up, contacts/s, and peak RSS of the Python driver, of the JVM (in local
mode it is the driver *and* the executors) and of the largest Python worker. The driver's
memory must stay flat as the audience grows: nothing is collected to it.

``benchmarks/render.py`` imports :func:`spark_render_seconds` for its scale table.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def spark_render_seconds(
    audience: Path, out_dir: Path, campaign_file: Any, library: Sequence[Any], templates_dir: Path,
    master: str = "local[2]",
) -> dict[str, Any]:
    """Render ``audience`` on Spark in a fresh process; seconds, rows and peak RSS (MB) of
    the driver (``driver_rss_mb``), the JVM and the largest Python worker."""
    out_dir.mkdir(parents=True, exist_ok=True)
    job = out_dir / "job.pickle"
    job.write_bytes(pickle.dumps((campaign_file, list(library))))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(audience), str(out_dir / "messages"), str(job),
         str(templates_dir), master],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the Spark run failed: {tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _rss_mb(pid: int, key: str = "VmHWM") -> float:
    """A process's peak (``VmHWM``) or current (``VmRSS``) resident memory in MB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _child(audience: str, out: str, job_file: str, templates_dir: str, master: str) -> None:
    """In a fresh process: start a session, render, write, and print one JSON line."""
    from copydesk.spark import render_source
    from copydesk.spark.session import spark_session

    campaign_file, library = pickle.loads(Path(job_file).read_bytes())
    started = time.perf_counter()
    spark = spark_session(master, app_name="copydesk-benchmark")
    up = time.perf_counter() - started
    start = time.perf_counter()
    result = render_source(spark, audience, campaign_file, library=library, templates_dir=Path(templates_dir),
                           now=_NOW, today=_NOW.date())
    summary = result.write(out)
    took = time.perf_counter() - start
    procs = _descendants(os.getpid())
    jvm = [p for p in procs if "java" in _cmdline(p)]
    workers = [p for p in procs if p not in jvm and "python" in _cmdline(p)]
    figures = {
        "contacts": summary.total, "rows": summary.total - summary.rejected, "rendered": summary.rendered,
        "rejected": summary.rejected, "seconds": took, "startup_seconds": up,
        "driver_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jvm_rss_mb": max((_rss_mb(p) for p in jvm), default=0.0),
        "python_worker_rss_mb": max((_rss_mb(p) for p in workers), default=0.0),
    }
    spark.stop()
    print(json.dumps(figures))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _bench_inputs() -> tuple[Any, list[Any], Path]:
    from benchmarks.render import campaign_file, library

    return campaign_file(), library(), REPO / "templates"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, action="append", help="audience size (repeatable)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    from benchmarks.render import write_csv

    sizes = args.contacts or [20_000, 200_000]
    campaign, library, templates = _bench_inputs()
    print(f"Spark engine on {args.master}: CSV -> Parquet folders, fresh process per run")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for n in sizes:
            audience = write_csv(n, tmp / f"audience-{n}.csv")
            r = spark_render_seconds(audience, tmp / f"out-{n}", campaign, library, templates, master=args.master)
            print(f"  {n:>10,} contacts: {r['seconds']:6.1f} s ({n / r['seconds']:>8,.0f} contacts/s; session "
                  f"start {r['startup_seconds']:.1f} s)  peak RSS: driver {r['driver_rss_mb']:.0f} MB, "
                  f"JVM {r['jvm_rss_mb']:.0f} MB, Python worker {r['python_worker_rss_mb']:.0f} MB")


from datetime import UTC, datetime  # noqa: E402  (the benchmark's fixed clock, as benchmarks/render.py)

_NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)

if __name__ == "__main__":
    main()
