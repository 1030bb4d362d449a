"""The real app in a real browser, for the browser tests: ``streamlit run app.py`` on a
free 127.0.0.1 port, and Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import yaml

from copydesk.workspace import Workspace
from tests.fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Hang guards (seconds), not speed limits: how long to wait for the server and for a page.
SERVER_START = 120
STEP = 60_000  # ms


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the Streamlit server at ``url`` answers its health check."""
    deadline = time.monotonic() + SERVER_START
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"streamlit did not answer within {SERVER_START}s:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def running_app(ws: Workspace, llm: FakeOpenAI, tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free 127.0.0.1 port over ``ws``, its LLM pointed at
    the fake server; yields the URL and stops the server afterwards."""
    config = yaml.safe_load(ws.config_path.read_text(encoding="utf-8"))
    config["llm"] = {"base_url": llm.base_url, "model": "fake-model", "max_retries": 0}
    ws.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "COPYDESK_WORKSPACE": str(ws.root), "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "NO_PROXY": "127.0.0.1,localhost"}
    log = tmp_path / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false", "--global.developmentMode", "false"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
