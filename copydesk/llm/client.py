"""The small interface every LLM backend implements, and what a call returns."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from copydesk.errors import LLMError

if TYPE_CHECKING:
    from copydesk.llm.settings import LLMSettings

Message = dict[str, str]
#: How the request asks for structure: a JSON schema, any JSON object, or nothing
#: (the prompt alone says what to write).
FormatMode = Literal["json_schema", "json_object", "text"]


@dataclass(frozen=True)
class Usage:
    """Token counts reported by the endpoint (0 when it reports none).
    ``reasoning_tokens`` are the hidden part of ``completion_tokens`` (reasoning models)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        out = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.reasoning_tokens:
            out["reasoning_tokens"] = self.reasoning_tokens
        return out


@dataclass(frozen=True)
class Completion:
    """One model reply. ``latency`` is seconds for the whole call, retries included.

    ``finish_reason`` is the endpoint's (``length``: cut off at the token cap).
    ``events`` says, in order, what the call went through besides the final request:
    transport retries and request adjustments (format fallback, token parameter,
    dropped parameters). ``parameters`` are the sampling fields actually sent.
    ``refusal`` is a structured-output refusal (the model declined to answer)."""

    text: str
    usage: Usage
    latency: float
    model: str
    endpoint_kind: str
    format_mode: FormatMode = "text"
    retries: int = 0
    finish_reason: str | None = None
    events: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    refusal: str | None = None
    #: Requests format fallbacks and parameter corrections cost (not counted in ``retries``).
    fallbacks: int = 0

    @property
    def truncated(self) -> bool:
        """The reply stopped at the token cap, so it is incomplete."""
        return self.finish_reason in TRUNCATED


#: ``finish_reason`` values that mean the reply hit the token cap.
TRUNCATED = frozenset({"length", "max_tokens"})


@dataclass(frozen=True)
class ResponseSchema:
    """A JSON schema the reply must follow, with a name for ``response_format``."""

    name: str
    schema: dict[str, Any] = field(hash=False, compare=False)


def sampling_params(settings: LLMSettings, *, temperature: float | None, max_tokens: int | None) -> dict[str, Any]:
    """``temperature``, ``max_tokens`` and ``seed`` for one request: the call's own
    values where given, else the configured ones (no ``seed`` unless configured)."""
    params: dict[str, Any] = {
        "temperature": settings.temperature if temperature is None else temperature,
        "max_tokens": max_tokens or settings.max_tokens,
    }
    if settings.seed is not None:
        params["seed"] = settings.seed
    return params


class EndpointError(LLMError):
    """The endpoint failed after all retries. ``fatal`` errors (dead endpoint, bad key,
    unknown model) will fail every request alike, so a run stops instead of repeating them.
    ``requests``, ``retries``, ``fallbacks``, ``elapsed`` and ``events`` say what the
    failed call cost and went through, so a failure is reported with its real attempts
    and time."""

    def __init__(
        self,
        message: str,
        *,
        fatal: bool = False,
        requests: int = 0,
        retries: int = 0,
        fallbacks: int = 0,
        elapsed: float = 0.0,
        events: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.requests = requests
        self.retries = retries
        self.fallbacks = fallbacks
        self.elapsed = elapsed
        self.events = events


class LLMClient(ABC):
    """A chat model. Implementations: the OpenAI-compatible SDK client and the
    embedded llama.cpp model. ``chat`` blocks; ``achat`` is the asyncio variant."""

    #: ``embedded``, ``openai`` or ``azure``.
    endpoint_kind: str = ""
    #: Model name as configured.
    model: str = ""
    #: Requests this client can usefully run at once.
    max_concurrency: int = 1

    @property
    def label(self) -> str:
        """How outputs name this model to a person."""
        return f"{self.model} ({self.endpoint_kind})"

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Endpoint kind, base URL and model, safe to print and store (never the key)."""

    @abstractmethod
    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """Send ``messages``; with ``schema`` ask for JSON following it where supported."""

    async def achat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """Async ``chat``; the default runs the blocking call in a worker thread."""
        return await asyncio.to_thread(
            self.chat, messages, schema=schema, temperature=temperature, max_tokens=max_tokens
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release network resources (the embedded model stays loaded for reuse)."""
