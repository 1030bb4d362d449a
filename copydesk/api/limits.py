"""Limits that protect the server: the request body size (413), a per-token rate (429
with ``Retry-After``), and the last-resort catch for bugs (500, one log line, no
traceback, no contact data). The body limit and the catch are plain ASGI middleware,
so they hold before FastAPI parses anything."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from copydesk.api.errors import ApiError, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("copydesk.api")


async def _json(send: Send, status: int, body: dict[str, Any],
                headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413, by its Content-Length or, for
    a chunked body, as soon as the bytes read pass the limit. The body is read here (it
    is small by then) and replayed to the app."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = error_body(413, "too_large", f"the request body is larger than {self.limit:,} bytes",
                             field="body")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _json(send, 400, error_body(400, "bad_request", "Content-Length is not a number"))
                return
            if declared > self.limit:
                await _json(send, 413, too_big, [(b"connection", b"close")])
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _json(send, 413, too_big, [(b"connection", b"close")])
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class CatchAll:
    """A bug anywhere below answers 500 with a JSON error and logs one line: the route
    and the exception's type, never its message (it could quote a contact's values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            log.error("%s %s -> 500 %s (a bug: please report it)", scope.get("method"), route,
                      type(exc).__name__)
            if not started:
                await _json(send, 500, error_body(500, "internal", "internal error; the server log has one line"))


class RateLimiter:
    """A token bucket per API token: ``rate`` requests a second, up to ``burst`` at once.
    Thread-safe; state is in memory (one server process)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one request of ``key``'s bucket, or raise a 429 :class:`ApiError` saying
        when to retry."""
        with self._lock:
            at = self.clock()
            level, last = self._buckets.get(key, (float(self.burst), at))
            level = min(float(self.burst), level + (at - last) * self.rate)
            if level < 1.0:
                self._buckets[key] = (level, at)
                wait = max(1, math.ceil((1.0 - level) / self.rate))
                raise ApiError(429, "rate_limited", f"more than {self.rate:g} requests a second with this token; "
                               f"retry after {wait} s", headers={"Retry-After": str(wait)})
            self._buckets[key] = (level - 1.0, at)
