"""``copydesk serve`` as a user runs it: a subprocess on 127.0.0.1 and a free port."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from copydesk.api.server import free_port
from copydesk.services import Desk
from copydesk.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
CODE = "import sys; from copydesk.cli import main; main(sys.argv[1:])"


def _wait(url: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"the server stopped: {proc.communicate()}")
        try:
            if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer")


def test_serve_warns_without_tokens_and_logs_no_token_or_contact(ws: Workspace, desk: Desk) -> None:
    port = free_port()
    args = [sys.executable, "-c", CODE, "-w", str(ws.root), "serve", "--port", str(port)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, proc)
        secret = desk.create_token("t", "campaign:spring-boots", actor="admin")[1]
        r = httpx.post(url + "/v1/campaigns/spring-boots/decide", headers={"Authorization": f"Bearer {secret}"},
                       json={"contact": {"contact_id": "C1003", "first_name": "Isla", "consent_email": True}})
        assert r.status_code == 200, r.text
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    logged = out + err
    assert "no usable API token" in err
    assert "POST /v1/campaigns/spring-boots/decide HTTP/1.1\" 200" in logged
    assert secret not in logged and "Isla" not in logged and "C1003" not in logged
    assert "Traceback" not in logged


def test_serve_refuses_a_port_in_use(ws: Workspace) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-c", CODE, "-w", str(ws.root), "serve", "--port", str(port)],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert f"could not listen on 127.0.0.1:{port}" in r.stderr


def test_serve_with_two_workers_answers_from_both(ws: Workspace, desk: Desk) -> None:
    secret = desk.create_token("t", "campaign:spring-boots", actor="admin")[1]
    port = free_port()
    args = [sys.executable, "-c", CODE, "-w", str(ws.root), "serve", "--port", str(port), "--workers", "2",
            "--rate", "0.1", "--burst", "1"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, proc)
        codes = []
        for _ in range(12):  # new connections: the kernel spreads them over both workers
            r = httpx.post(url + "/v1/campaigns/spring-boots/decide", headers={"Authorization": f"Bearer {secret}"},
                           json={"contact": {"contact_id": "C1", "consent_email": True}})
            codes.append(r.status_code)
            assert r.status_code in (200, 429), r.text
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    # a burst of one per worker process: at least one 200, and the limit still bites
    assert codes.count(200) >= 1 and 429 in codes, codes
    assert "Traceback" not in out + err
