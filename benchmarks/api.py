"""Send-time API speed: served ``decide`` calls against the same decisions in process.

    .venv/bin/python benchmarks/api.py [--requests 3000] [--seconds 20]

Builds a throwaway workspace (the sample templates, campaigns and audience; one approved
variant per sample brief), starts ``copydesk serve`` in a subprocess on 127.0.0.1 and a
free port, and runs a bounded load loop (at most --requests calls and --seconds per
phase) of ``POST /v1/campaigns/spring-boots/decide`` over the 40 sample contacts, at
concurrency 1 and 16 (threads, one httpx client each; an asyncio loop on one httpx
AsyncClient was tried and generated less load). Beside it, in this process:

- ``in-process decide``: :func:`copydesk.api.decisions.decide_contact` with the
  contact typed as the API types it, i.e. exactly the work one served call does, without
  HTTP. The ratio served/in-process is the HTTP overhead. Target at concurrency 16: >= 0.3.
- ``health c=16``: ``GET /v1/health`` served at concurrency 16, what the HTTP stack
  (uvicorn, FastAPI, the load generator) manages with no work behind it: the ceiling.
- ``batch of 40``: ``POST .../decide/batch`` with 40 contacts per call at concurrency 16;
  its decisions/s against the in-process rate is the overhead when a sender batches.
- ``preview``: :func:`copydesk.services.campaigns.preview` (what ``copydesk campaign
  explain`` calls), which loads the approved library and compiles the plan per call.

Reports requests/s and p50/p99 latency; prints the figures and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from copydesk.api.decisions import contact_record, decide_contact  # noqa: E402
from copydesk.api.server import free_port  # noqa: E402
from copydesk.api.settings import ApiSettings  # noqa: E402
from copydesk.api.state import ServerState  # noqa: E402
from copydesk.render.audience import Record, read_rows  # noqa: E402
from copydesk.services import Desk  # noqa: E402
from copydesk.services import campaigns as svc  # noqa: E402
from copydesk.vocab import Role  # noqa: E402
from copydesk.workspace import Workspace  # noqa: E402

PASSWORD = "correct horse battery"
QUIET_POLICY = """\
pack: quiet
brand:
  name: Bench
  offers:
    - {id: spring-boots-15, text: 15% off Summit Trail Boots until 30 April 2027}
    - {id: free-returns-60, text: free returns within 60 days}
    - {id: rewards-double-points, text: double Ridgeline Rewards points on orders over £50}
rules:
  - id: quiet.invisible
    type: invisible
    category: injection
    severity: block
    message: "Invisible character ({match})"
    tests: {fire: ["a\\u200bb"], pass: ["plain copy"]}
"""
FIELDS = {
    "boots-onboarding": {"subject": "Care for your boots, {{ first_name | default('there') }}",
                         "body": "Clean them after each walk with the Boot Care Kit."},
    "spring-generic": {"subject": "Spring on the fells, {{ first_name | default('there') }}",
                       "body": "New season, new trails."},
    "rewards-loyal": {"subject": "{{ first_name | default('Hello') }}, your points",
                      "body": "You have {{ loyalty_points | default(0) }} points."},
    "winback-dormant": {"subject": "We miss you", "body": "The hills are calling."},
}


def workspace(root: Path) -> tuple[Workspace, str]:
    """A workspace with approved variants and a campaign token (returned)."""
    for name in ("templates", "campaigns", "audiences", "briefs"):
        shutil.copytree(REPO / name, root / name)
    (root / "guardrails").mkdir()
    (root / "guardrails" / "policy.yaml").write_text(QUIET_POLICY, encoding="utf-8")
    (root / "copydesk.yaml").write_text("brand: Bench\npolicy: guardrails\n", encoding="utf-8")
    ws = Workspace(root)
    desk = Desk.open(ws)
    desk.add_user("admin", [Role.ADMIN], PASSWORD, actor=None)
    desk.add_user("ana", [Role.COPYWRITER], PASSWORD, actor="admin")
    desk.add_user("ben", [Role.REVIEWER], PASSWORD, actor="admin")
    for path in sorted(ws.briefs_dir.glob("*.yaml")):
        desk.add_brief_file(path, actor="ana")
    for brief, fields in FIELDS.items():
        v = desk.add_variant(brief, fields, actor="ana")
        desk.submit(v.id, actor="ana")
        desk.approve(v.id, actor="ben", comment="ok")
    _, secret = desk.create_token("bench", "campaign:spring-boots", actor="admin")
    desk.close()
    return ws, secret


def contacts(ws: Workspace) -> list[dict[str, Any]]:
    """The sample contacts as a sender would post them."""
    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date | datetime) else v
    return [{k: plain(v) for k, v in item.data.items()}
            for item in read_rows(ws.audiences_dir / "sample-contacts.csv") if isinstance(item, Record)]


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"requests": len(ordered), "per_second": round(len(ordered) / wall, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def in_process(call: Callable[[dict[str, Any]], Any], people: list[dict[str, Any]], limit: int,
               seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    start = time.perf_counter()
    while len(latencies) < limit and time.perf_counter() - start < seconds:
        t = time.perf_counter()
        call(people[len(latencies) % len(people)])
        latencies.append(time.perf_counter() - t)
    return summary(latencies, time.perf_counter() - start)


def served(url: str, token: str, people: list[dict[str, Any]], *, concurrency: int, limit: int,
           seconds: float, health: bool = False, batch: int = 0) -> dict[str, float]:
    """``decide`` calls (or, with ``health``, ``GET /v1/health``: the HTTP stack alone; with
    ``batch``, ``decide/batch`` calls of that many contacts, counted as decisions)."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    issued = [0]
    start = time.perf_counter()

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            while True:
                with lock:
                    n = issued[0]
                    if n >= limit or time.perf_counter() - start > seconds:
                        return
                    issued[0] += 1
                t = time.perf_counter()
                if health:
                    r = client.get("/v1/health")
                elif batch:
                    items = [{"contact": people[(n + i) % len(people)]} for i in range(batch)]
                    r = client.post("/v1/campaigns/spring-boots/decide/batch", json={"items": items})
                else:
                    r = client.post("/v1/campaigns/spring-boots/decide", json={"contact": people[n % len(people)]})
                took = time.perf_counter() - t
                with lock:
                    (latencies.append(took) if r.status_code == 200 else failures.append(r.status_code))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if failures:
        raise SystemExit(f"{len(failures)} failed calls, e.g. status {failures[0]}")
    result = summary(latencies, time.perf_counter() - start)
    if batch:
        result["decisions_per_second"] = round(result["per_second"] * batch, 1)
    return result


def start_server(ws: Workspace, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    code = "import sys; from copydesk.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "-w", str(ws.root), "serve", "--port", str(port), "--no-access-log",
         "--rate", "1000000", "--burst", "1000000", "--workers", str(workers)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="most calls per phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="most seconds per phase")
    parser.add_argument("--workers", type=int, default=1, help="server processes (copydesk serve --workers)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="copydesk-api-bench-") as tmp:
        ws, token = workspace(Path(tmp))
        people = contacts(ws)
        state = ServerState(ws, ApiSettings())
        desk = Desk.open(ws)
        cf = svc.open_campaign(ws, "spring-boots")
        results: dict[str, dict[str, float]] = {}
        results["in-process decide"] = in_process(
            lambda c: decide_contact(state, "spring-boots", contact_record(dict(c)), []), people,
            args.requests, args.seconds)
        results["preview (explain)"] = in_process(
            lambda c: svc.preview(desk, cf, contact_record(dict(c))), people, min(args.requests, 500), args.seconds)
        state.close()
        desk.close()
        port = free_port()
        proc = start_server(ws, port, args.workers)
        try:
            url = f"http://127.0.0.1:{port}"
            served(url, token, people, concurrency=4, limit=200, seconds=10)  # warm up
            for c in (1, 16):
                results[f"served c={c}"] = served(url, token, people, concurrency=c, limit=args.requests,
                                                  seconds=args.seconds)
            results["batch of 40, c=16"] = served(url, token, people, concurrency=16, seconds=args.seconds,
                                                  limit=max(1, args.requests // 40), batch=40)
            results["health c=16 (HTTP only)"] = served(url, token, people, concurrency=16, limit=args.requests,
                                                        seconds=args.seconds, health=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    base = results["in-process decide"]["per_second"]
    print(f"{'':24} {'calls':>7} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs in-process':>14}")
    for name, r in results.items():
        print(f"{name:24} {r['requests']:>7.0f} {r['per_second']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['per_second'] / base:>13.2f}x")
    ratio = results["served c=16"]["per_second"] / base
    print(f"served at c=16 / in-process = {ratio:.2f} (target >= 0.3): {'ok' if ratio >= 0.3 else 'MISSED'}")
    batched = results["batch of 40, c=16"]["decisions_per_second"]
    print(f"batch of 40 at c=16: {batched:,.0f} decisions/s = {batched / base:.2f} x in-process")
    print(json.dumps({"results": results, "ratio_c16": round(ratio, 3), "workers": args.workers, "cpus": os.cpu_count(),
                      "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
