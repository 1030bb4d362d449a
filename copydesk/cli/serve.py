"""``copydesk serve``: the read-only HTTP API (docs/reference/api.md) on uvicorn."""

from __future__ import annotations

import socket
from pathlib import Path

import typer

from copydesk.api.settings import ApiSettings
from copydesk.cli.common import console_err, open_desk, workspace
from copydesk.cli.display import lit
from copydesk.errors import UsageError


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Anything but loopback needs "
                             "TLS in front (docs/security.md#the-http-api)."),
    port: int = typer.Option(8700, "--port", min=1, max=65535, help="Port to listen on."),
    max_body: int = typer.Option(1024 * 1024, "--max-body", min=1024, help="Largest request body (bytes)."),
    max_batch: int = typer.Option(100, "--max-batch", min=1, max=10_000, help="Most contacts per batch call."),
    rate: float = typer.Option(50.0, "--rate", min=0.1, help="Requests a second per token."),
    burst: int = typer.Option(100, "--burst", min=1, help="Requests at once per token after a quiet spell."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Server processes (one event loop each). "
                                "Rate limits and the hourly use record are per process."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log",
                                    help="Log each request line and status (never headers or bodies)."),
) -> None:
    """Serve approved content and send-time decisions over HTTP, read-only, to callers
    with an API token ('copydesk token create'). Binds 127.0.0.1 unless --host says otherwise."""
    import uvicorn

    from copydesk.api.server import config, is_loopback

    ws = workspace()
    if not open_desk().has_usable_tokens():
        console_err.print("[yellow]warning:[/] no usable API token: every request but /v1/health will be "
                          "refused (an admin runs 'copydesk token create')")
    if not is_loopback(host):
        console_err.print(f"[yellow]warning:[/] listening on {lit(host)} in plain HTTP: put a TLS proxy in "
                          "front (docs/security.md#the-http-api); tokens travel in every request")
    try:
        settings = ApiSettings(max_body_bytes=max_body, max_batch=max_batch, rate_per_second=rate, burst=burst)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _check_address(host, port)
    if workers > 1:
        _run_workers(ws.root, settings, host, port, workers=workers, access_log=access_log)
        return
    server = uvicorn.Server(config(ws, settings, host, port, access_log=access_log))
    server.run()
    if not server.started:
        raise UsageError(f"could not listen on {host}:{port} (in use, or not an address of this machine)")


def _run_workers(root: Path, settings: ApiSettings, host: str, port: int, *, workers: int, access_log: bool) -> None:
    """Several uvicorn worker processes sharing one listening socket; each builds its app
    from the environment (:func:`copydesk.api.app.app_from_environment`).

    The socket is made here rather than by ``uvicorn.run(workers=N)``: uvicorn creates it
    with protocol 0, so asyncio does not set TCP_NODELAY on accepted connections, and
    every response (headers and body are two writes) waits ~40 ms on Nagle and the
    client's delayed ACK."""
    import dataclasses
    import json
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from copydesk.api.app import SETTINGS_ENV, WORKSPACE_ENV

    os.environ[WORKSPACE_ENV] = str(root.resolve())
    os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings))
    cfg = uvicorn.Config("copydesk.api.app:app_from_environment", factory=True, host=host, port=port,
                         workers=workers, access_log=access_log, server_header=False, proxy_headers=False,
                         log_level="info" if access_log else "warning")
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"could not listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    console_err.print(f"serving on http://{lit(host)}:{port} with {workers} worker processes")
    import inspect

    # uvicorn before 0.30 takes the server's run function too (pyproject allows >= 0.29)
    extra = {"target": uvicorn.Server(cfg).run} if "target" in inspect.signature(Multiprocess).parameters else {}
    try:
        Multiprocess(cfg, sockets=[sock], **extra).run()
    finally:
        sock.close()


def _check_address(host: str, port: int) -> None:
    """One line instead of uvicorn's log when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise UsageError(f"could not listen on {host}:{port}: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    """Add ``serve``."""
    app.command("serve")(serve)
