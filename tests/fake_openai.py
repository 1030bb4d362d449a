"""A real OpenAI-compatible HTTP server on 127.0.0.1, scriptable per request.

Start it with :class:`FakeOpenAI` (a context manager) or the ``fake_openai`` fixture.
Queue replies with :meth:`FakeOpenAI.enqueue`; when the queue is empty the server
answers with :attr:`FakeOpenAI.default` (a reply valid for every channel). Every
request body it received is kept in :attr:`FakeOpenAI.requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: A draft valid for every channel (draft models ignore keys they do not know).
VALID_DRAFT: dict[str, str] = {
    "subject": "Ready for wet hills",
    "preheader": "Boots that stay dry",
    "body": "Our waterproof boots are built for UK hills.",
    "cta": "Shop boots",
    "text": "Ridgeline: waterproof boots for UK hills. Reply STOP to opt out",
    "title": "Dry feet, full days",
    "headline": "Built for wet hills",
    "description": "Waterproof boots for UK hills.",
    "rationale": "Leads with the key message.",
}


class _Server(ThreadingHTTPServer):
    # The stdlib default backlog of 5 drops bursts of concurrent connects (the
    # client then waits ~1 s for a SYN retry), which would distort concurrency tests.
    request_queue_size = 128


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    content: str | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] = (40, 30)

    @classmethod
    def draft(cls, **overrides: str) -> Reply:
        """A valid JSON draft, with some fields replaced."""
        return cls(content=json.dumps({**VALID_DRAFT, **overrides}))

    @classmethod
    def text(cls, content: str) -> Reply:
        """Any assistant text (invalid JSON, labelled text...)."""
        return cls(content=content)

    @classmethod
    def error(cls, status: int, message: str = "error", headers: dict[str, str] | None = None,
              delay: float = 0.0) -> Reply:
        return cls(status=status, body={"error": {"message": message, "type": "fake"}},
                   headers=headers or {}, delay=delay)

    @classmethod
    def rate_limited(cls, retry_after: float | str) -> Reply:
        return cls.error(429, "Rate limit reached", {"Retry-After": str(retry_after)})

    def slow(self, delay: float) -> Reply:
        self.delay = delay
        return self


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def text(self) -> str:
        """Every message content joined: what left the machine."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


class FakeOpenAI:
    """The server. ``base_url`` ends in ``/v1`` like the real API."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.default: Reply | Callable[[Received], Reply] = lambda _req: Reply.draft()
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def chat_requests(self) -> list[Received]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling --------------------------------------------------------------

    def _next(self, request: Received) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        default = self.default
        return default(request) if callable(default) else default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def do_GET(self) -> None:  # noqa: N802
                self._send(200, {"object": "list", "data": [{"id": "fake-model",
                                                            "object": "model"}]}, {})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode(errors="replace")}
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                    body, time.monotonic())
                with fake._lock:
                    fake.requests.append(received)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    reply = fake._next(received)
                    if reply.delay:
                        time.sleep(reply.delay)
                    if reply.status != 200:
                        self._send(reply.status, reply.body or {}, reply.headers)
                        return
                    payload = reply.body or {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake-model"),
                        "choices": [{
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content or ""},
                            "finish_reason": "stop",
                        }],
                        "usage": {
                            "prompt_tokens": reply.usage[0],
                            "completion_tokens": reply.usage[1],
                            "total_tokens": sum(reply.usage),
                        },
                    }
                    self._send(200, payload, reply.headers)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

        return Handler
