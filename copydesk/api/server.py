"""Running the API on uvicorn: in the foreground (``copydesk serve``) or on a thread
(tests, the benchmark), on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from copydesk.api.app import create_app
from copydesk.api.settings import ApiSettings
from copydesk.workspace import Workspace

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config(
    workspace: Workspace, settings: ApiSettings, host: str, port: int, *, access_log: bool = True,
) -> uvicorn.Config:
    """The uvicorn configuration. The access log is uvicorn's: client address, request
    line (method, path, query) and status; never headers (the token) or bodies (contacts)."""
    return uvicorn.Config(
        create_app(workspace, settings), host=host, port=port, access_log=access_log, server_header=False,
        proxy_headers=False, log_level="info" if access_log else "warning", lifespan="on",
    )


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def running(workspace: Workspace, settings: ApiSettings | None = None, *, host: str = LOOPBACK,
            port: int | None = None, access_log: bool = False) -> Iterator[str]:
    """Serve on a thread until the block ends; yields the base URL."""
    port = port or free_port(host)
    server = uvicorn.Server(config(workspace, settings or ApiSettings(), host, port, access_log=access_log))
    thread = threading.Thread(target=server.run, name="copydesk-api", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
