"""Render workers end when their parent is killed: no orphans chewing an audience
nobody will read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys, time
from pathlib import Path
from copydesk.render.pipeline import render_campaign
from copydesk.rules.campaign import load_campaign
from tests.rules.rules_helpers import NOW, TODAY, content

def people():
    i = 0
    while True:  # an endless audience: the run only ends when killed
        i += 1
        yield {"contact_id": f"C{i}", "consent_email": True, "lifecycle_stage": "onboarding"}

print("started", flush=True)
render_campaign(load_campaign(Path(sys.argv[1]) / "campaigns" / "spring-boots.yaml"), people(), Path(sys.argv[2]),
                library=[content("V1", "boots-onboarding")], templates_dir=Path(sys.argv[1]) / "templates",
                today=TODAY, now=NOW, workers=2, chunk_size=50)
"""


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    # a liveness wait (the test fails instead of hanging), not a speed assertion
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(REPO), str(tmp_path / "out.jsonl")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"started"
        assert _wait(lambda: len(_children(proc.pid)) >= 2, 60), "the workers never started"
        helpers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _wait(lambda: not any(_alive(p) for p in helpers), 30), [p for p in helpers if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
