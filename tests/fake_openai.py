"""A real OpenAI-compatible HTTP server on 127.0.0.1, scriptable per request.

Start it with :class:`FakeOpenAI` (a context manager) or the ``fake_openai`` fixture.
Queue replies with :meth:`FakeOpenAI.enqueue`; when the queue is empty the server
answers with :attr:`FakeOpenAI.default` (a reply valid for every channel, with a
different angle per request so a run's drafts are not near-duplicates). Every request
body it received is kept in :attr:`FakeOpenAI.requests`.

A reply can set its HTTP status and error body, its ``finish_reason``, reasoning
tokens, a delay before answering (cut short when the server stops) and a trickle: the
body sent one byte at a time with a pause between bytes, like a stalled server.
"""

from __future__ import annotations

import itertools
import json
import re
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

#: One closing line per default reply, so consecutive default drafts differ clearly
#: (token Jaccard well under the 0.9 near-duplicate threshold).
ANGLES: tuple[str, ...] = (
    "Stay dry from the first step.",
    "Muddy mornings feel lighter now.",
    "Long ridges ask for steady grip.",
    "Rainy weekends become walking weekends.",
    "Your feet deserve calmer evenings.",
    "Every puddle turns into a shortcut.",
    "Cold streams cross without worry.",
    "Happy trails start with warm toes.",
    "Bog, scree or pavement: handled.",
    "Pack light and wander further.",
    "Soft leather settles into stride.",
    "Weatherproof days begin outside.",
)
_ANGLE_FIELDS = ("body", "text", "description")


def angled_draft(number: int) -> dict[str, str]:
    """:data:`VALID_DRAFT` with the closing line of angle ``number`` on its main texts."""
    angle = ANGLES[number % len(ANGLES)]
    return {k: (f"{v} {angle}" if k in _ANGLE_FIELDS else v) for k, v in VALID_DRAFT.items()}


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
    finish_reason: str | None = "stop"
    #: Seconds between the bytes of the body (0: sent at once).
    trickle: float = 0.0
    reasoning_tokens: int | None = None

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
    def bad_request(cls, message: str, *, param: str | None = None, code: str | None = None,
                    status: int = 400) -> Reply:
        """A 400 with OpenAI's error shape (``message``, ``type``, ``param``, ``code``)."""
        return cls(status=status, body={"error": {"message": message, "type": "invalid_request_error",
                                                  "param": param, "code": code}})

    @classmethod
    def truncated(cls, content: str) -> Reply:
        """A reply cut off at the token limit (``finish_reason: length``)."""
        return cls(content=content, finish_reason="length")

    @classmethod
    def rate_limited(cls, retry_after: float | str) -> Reply:
        return cls.error(429, "Rate limit reached", {"Retry-After": str(retry_after)})

    def slow(self, delay: float) -> Reply:
        self.delay = delay
        return self

    def trickled(self, seconds_per_byte: float) -> Reply:
        """Send this reply's body one byte at a time, ``seconds_per_byte`` apart."""
        self.trickle = seconds_per_byte
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
        self.default: Reply | Callable[[Received], Reply] = self.angled
        self._angles = itertools.count()
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        #: Replies the client hung up on before the last byte (a trickle or delay cut short).
        self.abandoned = 0
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
        self._stopping.set()  # cuts delays and trickles short
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling --------------------------------------------------------------

    def angled(self, _request: Received | None = None) -> Reply:
        """A valid draft with the next angle (the default reply): each call differs."""
        return Reply(content=json.dumps(angled_draft(next(self._angles))))

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

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str],
                      trickle: float = 0.0) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if not trickle:
                        self.wfile.write(data)
                        return
                    self.wfile.flush()
                    for i in range(len(data)):
                        if fake._stopping.wait(trickle):
                            return
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    with fake._lock:
                        fake.abandoned += 1  # the client gave up (timeout)

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
                    if reply.delay and fake._stopping.wait(reply.delay):
                        return
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
                            "finish_reason": reply.finish_reason,
                        }],
                        "usage": {
                            "prompt_tokens": reply.usage[0],
                            "completion_tokens": reply.usage[1],
                            "total_tokens": sum(reply.usage),
                        },
                    }
                    if reply.reasoning_tokens is not None:
                        payload["usage"]["completion_tokens_details"] = {
                            "reasoning_tokens": reply.reasoning_tokens}
                    self._send(200, payload, reply.headers, reply.trickle)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

        return Handler


def answer_the_sum(req: Received) -> Reply:
    """Answer ``copydesk llm check``'s question correctly (prompts/llm-verify.j2)."""
    a, b = map(int, re.findall(r"sum of (\d+) and (\d+)", req.text)[0])
    return Reply.text(json.dumps({"ok": True, "sum": a + b}))
