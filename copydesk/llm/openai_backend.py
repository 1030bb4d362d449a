"""Any OpenAI-compatible endpoint through the ``openai`` SDK (sync and async).

Retries are ours, not the SDK's (it gets ``max_retries=0``): 429, 5xx, timeouts and
connection errors are retried with exponential backoff and full jitter, honouring
``Retry-After``.

``timeout`` bounds each HTTP request in total, connect to last byte: the SDK's own
timeout is per read, so a server trickling a byte a second would never trip it; every
request runs under ``asyncio.wait_for`` (the blocking ``chat`` runs the same coroutine
on a private event-loop thread, so both paths are cut off alike and the connection is
closed).

A 400 (or 422) is read, not guessed at: a complaint about ``response_format`` / the JSON
schema degrades the output format (``json_schema`` → ``json_object`` → plain text); one
naming ``max_tokens`` or ``max_completion_tokens`` as unsupported switches to the other;
one naming ``temperature``, ``reasoning_effort`` or ``seed`` as unsupported drops it.
Each correction holds for the endpoint from then on and is reported in the completion's
``events`` (and :attr:`OpenAIBackend.adjustments`). Any other 400 fails with the
server's own message. The request shape starts from the model family
(:mod:`copydesk.llm.families`): reasoning models get ``max_completion_tokens``, no
``temperature`` and a ``reasoning_effort``.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai

from copydesk.llm.client import (
    Completion,
    EndpointError,
    FormatMode,
    LLMClient,
    Message,
    ResponseSchema,
    Usage,
)
from copydesk.llm.families import TokenParam, request_shape
from copydesk.llm.settings import LLMSettings, redact_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Local servers (Ollama, llama.cpp, LM Studio) accept any key; the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"
_DOWNGRADE: dict[FormatMode, FormatMode] = {"json_schema": "json_object", "json_object": "text"}
#: Corrections one call may make before it gives up (format twice, token parameter, three drops).
MAX_CORRECTIONS = 6
#: Retries after a timeout, within ``max_retries``: a stall may pass, but a server that
#: timed out twice in a row is not answering, and every other request would wait as long.
TIMEOUT_RETRIES = 1
#: Parameters an endpoint may not support; a 400 saying so drops them.
OPTIONAL_PARAMS = ("temperature", "reasoning_effort", "seed")
_OTHER_TOKEN_PARAM: dict[TokenParam, TokenParam] = {
    "max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens",
}
_FORMAT_WORDS = re.compile(
    r"response_format|response format|json_schema|json schema|json_object|json mode|structured output",
    re.IGNORECASE,
)
_UNSUPPORTED = re.compile(
    r"unsupported|not supported|unrecognized|unrecognised|unknown (?:parameter|field|argument|name)"
    r"|extra (?:inputs?|fields?)|not permitted|not allowed|does not support|doesn't support"
    r"|invalid (?:parameter|argument)|unexpected (?:keyword|field|parameter)|only the default",
    re.IGNORECASE,
)
#: 400 codes that concern one request only, so the run goes on with the next draft.
_PER_REQUEST_CODES = frozenset({"context_length_exceeded", "content_filter", "content_policy_violation"})
_SENT_PARAMS = ("max_tokens", "max_completion_tokens", "temperature", "reasoning_effort", "seed")

T = TypeVar("T")


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class _TotalTimeout(Exception):
    """One HTTP request outlived ``timeout`` (however slowly the bytes kept coming)."""


@dataclass
class _Call:
    """One ``chat`` call: its format mode and what it went through so far."""

    mode: FormatMode
    started: float = field(default_factory=time.perf_counter)
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    corrections: int = 0
    events: list[str] = field(default_factory=list)


class _LoopThread:
    """A private event loop on a daemon thread: the blocking ``chat`` runs the async
    call there, so one code path enforces the total deadline for both."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="copydesk-llm", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:  # Ctrl-C in the caller: stop the request too
            future.cancel()
            raise

    def stop(self, cleanup: Coroutine[Any, Any, None] | None = None) -> None:
        if cleanup is not None:
            asyncio.run_coroutine_threadsafe(cleanup, self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class OpenAIBackend(LLMClient):
    """``LLMClient`` over ``openai.AsyncOpenAI`` (or the Azure variant)."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint_kind = "azure" if settings.kind == "azure" else "openai"
        self.model = settings.deployment or settings.model or ""
        if not self.model:
            raise EndpointError(
                "no model configured: pass --model, set COPYDESK_LLM_MODEL or llm.model",
                fatal=True,
            )
        self.max_concurrency = settings.max_concurrency
        self.base_url = (
            settings.azure_endpoint or "" if self.endpoint_kind == "azure"
            else settings.base_url or DEFAULT_BASE_URL
        )
        self.shape = request_shape(settings, settings.model, settings.deployment)
        self._asleep = asleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        # What this endpoint accepts, learned from its 400s (guarded by _lock).
        self._format: FormatMode | None = None
        self._token_param: TokenParam = self.shape.token_param
        self._dropped: set[str] = set()
        self._clients: dict[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = {}
        self._runner: _LoopThread | None = None
        #: Every backoff delay slept, in order (tests and the CLI summary read it).
        self.delays: list[float] = []
        #: Corrections learned from the endpoint's 400s, each once, in order.
        self.adjustments: list[str] = []

    # -- clients -------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        s = self.settings
        key = s.resolved_key()
        common: dict[str, Any] = {"timeout": s.timeout, "max_retries": 0}
        if self.endpoint_kind == "azure":
            if not s.api_version:
                raise EndpointError(
                    "Azure OpenAI needs api_version (COPYDESK_LLM_API_VERSION)", fatal=True
                )
            return {
                **common,
                "azure_endpoint": s.azure_endpoint,
                "azure_deployment": s.deployment or s.model,
                "api_version": s.api_version,
                "api_key": key,
            }
        return {**common, "base_url": self.base_url, "api_key": key or PLACEHOLDER_KEY}

    def _async_client(self) -> openai.AsyncOpenAI:
        # An async client's connection pool belongs to one event loop: one client per
        # loop (each generation run's ``asyncio.run``, and the private loop of ``chat``).
        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[old]
            client = self._clients.get(loop)
        if client is None:
            kwargs = self._client_kwargs()
            try:
                if self.endpoint_kind == "azure":
                    client = openai.AsyncAzureOpenAI(**kwargs)
                else:
                    client = openai.AsyncOpenAI(**kwargs)
            except openai.OpenAIError as exc:
                raise EndpointError(f"cannot configure the client: {exc}", fatal=True) from None
            with self._lock:
                client = self._clients.setdefault(loop, client)
        return client

    def describe(self) -> dict[str, Any]:
        return {
            "endpoint_kind": self.endpoint_kind,
            "base_url": redact_url(self.base_url),
            "model": self.model,
            "label": self.label,
            "model_family": self.shape.family.name,
            "reasoning": self.shape.reasoning,
        }

    def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            client = self._clients.pop(runner.loop, None)
            runner.stop(client.close() if client is not None else None)
        self._clients.clear()

    # -- request building ------------------------------------------------------------

    def _request(
        self,
        messages: Sequence[Message],
        schema: ResponseSchema | None,
        mode: FormatMode,
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        s = self.settings
        with self._lock:
            token_param, dropped = self._token_param, set(self._dropped)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            token_param: self.shape.token_budget(max_tokens or s.max_tokens, s),
        }
        if self.shape.send_temperature and "temperature" not in dropped:
            body["temperature"] = s.temperature if temperature is None else temperature
        if self.shape.reasoning_effort and "reasoning_effort" not in dropped:
            body["reasoning_effort"] = self.shape.reasoning_effort
        if s.seed is not None and "seed" not in dropped:
            body["seed"] = s.seed
        if schema is not None and mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.name, "schema": schema.schema, "strict": True},
            }
        elif schema is not None and mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def _first_mode(self, schema: ResponseSchema | None) -> FormatMode:
        if schema is None:
            return "text"
        with self._lock:
            if self._format is not None:
                return self._format
        wanted = self.settings.output_mode
        if wanted in ("json_schema", "json_object", "text"):
            return wanted
        return "text" if wanted == "labelled" else "json_schema"

    def _completion(self, raw: Any, body: dict[str, Any], call: _Call) -> Completion:
        choice = raw.choices[0] if raw.choices else None
        message = choice.message if choice is not None else None
        text = (message.content if message is not None else None) or ""
        usage = raw.usage
        details = getattr(usage, "completion_tokens_details", None)
        parameters = {k: body[k] for k in _SENT_PARAMS if k in body}
        return Completion(
            text=text,
            usage=Usage(
                getattr(usage, "prompt_tokens", 0) or 0,
                getattr(usage, "completion_tokens", 0) or 0,
                getattr(details, "reasoning_tokens", 0) or 0,
            ),
            latency=time.perf_counter() - call.started,
            model=raw.model or self.model,
            endpoint_kind=self.endpoint_kind,
            format_mode=call.mode,
            retries=call.retries,
            finish_reason=getattr(choice, "finish_reason", None),
            events=tuple(call.events),
            parameters=parameters,
            refusal=getattr(message, "refusal", None) or None,
            fallbacks=call.corrections,
        )

    # -- what a 400 asks for -------------------------------------------------------------

    def _learn(self, note: str) -> None:
        with self._lock:
            if note not in self.adjustments:
                self.adjustments.append(note)

    def _correct(self, exc: openai.APIStatusError, body: dict[str, Any], call: _Call) -> str | None:
        """Apply the correction a 400 asks for and describe it; None when the 400 is not
        about the output format or a parameter this endpoint does not support."""
        said, param, code = _error_info(exc)
        text = f"{said} {param} {code}"
        quoted = f"the endpoint said {said[:160]!r}"
        unsupported = _UNSUPPORTED.search(text) is not None
        if "response_format" in body and _FORMAT_WORDS.search(text):
            nxt = _DOWNGRADE.get(call.mode)
            if nxt is None:
                return None
            with self._lock:
                self._format = nxt
            note = f"output format {call.mode} → {nxt} ({quoted})"
            call.mode = nxt
            self._learn(note)
            return note
        sent: TokenParam = "max_tokens" if "max_tokens" in body else "max_completion_tokens"
        other = _OTHER_TOKEN_PARAM[sent]
        if _names(sent, text, param) and (unsupported or _names(other, text, param)):
            with self._lock:
                self._token_param = other
            note = f"{sent} → {other} ({quoted})"
            self._learn(note)
            return note
        for name in OPTIONAL_PARAMS:
            if name in body and _names(name, text, param) and unsupported:
                with self._lock:
                    self._dropped.add(name)
                note = f"{name} no longer sent ({quoted})"
                self._learn(note)
                return note
        return None

    # -- retry policy ------------------------------------------------------------------

    def _delay(self, attempt: int, exc: Exception) -> float:
        """Backoff before retry number ``attempt`` (1-based): Retry-After when given,
        else full jitter over an exponentially growing window."""
        s = self.settings
        response = getattr(exc, "response", None)
        hinted = parse_retry_after(getattr(response, "headers", None))
        if hinted is not None:
            return min(hinted, max(s.backoff_max, 0.0))
        window = min(s.backoff_max, s.backoff_base * (2 ** (attempt - 1)))
        return self._rng.uniform(window / 2, window)

    def _classify(self, exc: Exception) -> tuple[bool, str, EndpointError]:
        """(retryable, a short reason, the error to raise when out of retries)."""
        where = redact_url(self.base_url)
        if isinstance(exc, _TotalTimeout | openai.APITimeoutError):
            why = f"timed out after {self.settings.timeout:g}s"
            return True, why, EndpointError(f"request to {where} {why}")
        if isinstance(exc, openai.APIConnectionError):
            return True, "connection failed", EndpointError(
                f"cannot reach the LLM endpoint at {where} ({exc.__cause__ or exc}); "
                "is the server running? check base_url",
                fatal=True,
            )
        if isinstance(exc, openai.RateLimitError):
            return True, "429 rate limited", EndpointError(
                f"{where} kept answering 429 rate limited: {_msg(exc)}")
        if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
            return True, f"server error {exc.status_code}", EndpointError(
                f"{where} server error {exc.status_code}: {_msg(exc)}")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return False, "", EndpointError(
                f"{where} refused the API key ({exc.status_code}): set COPYDESK_LLM_API_KEY or "
                "OPENAI_API_KEY, or pass --api-key-env",
                fatal=True,
            )
        if isinstance(exc, openai.NotFoundError):
            return False, "", EndpointError(
                f"{where} has no model '{self.model}' or no chat endpoint (404): {_msg(exc)}",
                fatal=True,
            )
        if isinstance(exc, openai.APIStatusError):
            _, _, code = _error_info(exc)
            return False, "", EndpointError(
                f"{where} rejected the request ({exc.status_code}): {_msg(exc)}",
                fatal=code not in _PER_REQUEST_CODES,
            )
        return False, "", EndpointError(f"LLM call failed: {exc}", fatal=True)

    def _after_failure(self, exc: Exception, body: dict[str, Any], call: _Call) -> float | None:
        """The backoff before the next attempt after ``exc`` (None: at once, corrected).
        Raises the ``EndpointError``, with the call's cost, when there is none."""
        if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
            note = self._correct(exc, body, call) if call.corrections < MAX_CORRECTIONS else None
            if note is not None:
                call.corrections += 1
                call.events.append(note)
                return None
        retryable, why, error = self._classify(exc)
        given_up = "no retries left"
        if isinstance(exc, _TotalTimeout | openai.APITimeoutError):
            call.timeouts += 1
            if call.timeouts > TIMEOUT_RETRIES:
                retryable, given_up = False, f"{call.timeouts} times in a row, given up"
                error = EndpointError(
                    f"{error}, {call.timeouts} times in a row: the endpoint is not answering in time "
                    "(check the server; a slow local model may need a larger timeout or lower "
                    "max_concurrency)",
                    fatal=True,
                )
        if not retryable or call.retries >= self.settings.max_retries:
            if why:
                call.events.append(f"{why}: {given_up}")
            raise EndpointError(
                str(error), fatal=error.fatal, requests=call.requests, retries=call.retries,
                fallbacks=call.corrections, elapsed=time.perf_counter() - call.started,
                events=tuple(call.events),
            ) from None
        call.retries += 1
        delay = self._delay(call.retries, exc)
        self.delays.append(delay)
        call.events.append(f"{why}: retry {call.retries} of {self.settings.max_retries} after {delay:.1f}s")
        return delay

    # -- calls -------------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        with self._lock:
            if self._runner is None:
                self._runner = _LoopThread()
            runner = self._runner
        return runner.run(self.achat(messages, schema=schema, temperature=temperature, max_tokens=max_tokens))

    async def achat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        client = self._async_client()
        call = _Call(self._first_mode(schema))
        while True:
            body = self._request(messages, schema, call.mode, temperature, max_tokens)
            call.requests += 1
            try:
                raw = await asyncio.wait_for(client.chat.completions.create(**body), self.settings.timeout)
            except TimeoutError:
                delay = self._after_failure(_TotalTimeout(), body, call)
            except openai.OpenAIError as exc:
                delay = self._after_failure(exc, body, call)
            else:
                return self._completion(raw, body, call)
            if delay is not None:
                await self._asleep(delay)


def _error_info(exc: openai.APIStatusError) -> tuple[str, str, str]:
    """(message, param, code) of an OpenAI-shaped error body, lower-case where matched."""
    body = getattr(exc, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    param = code = ""
    if isinstance(inner, dict):
        param = str(inner.get("param") or "")
        code = str(inner.get("code") or "")
    return _msg(exc), param.lower(), code.lower()


def _names(name: str, text: str, param: str) -> bool:
    """The error is about parameter ``name``."""
    return param == name or re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None


def _msg(exc: openai.OpenAIError) -> str:
    """The server's own error message, short."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:200]
        if isinstance(inner, str):
            return inner[:200]
    return str(getattr(exc, "message", exc))[:200]
