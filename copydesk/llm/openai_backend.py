"""Any OpenAI-compatible endpoint through the ``openai`` SDK (sync and async).

Retries are ours, not the SDK's (it gets ``max_retries=0``): 429, 5xx, timeouts and
connection errors are retried with exponential backoff and full jitter, honouring
``Retry-After``. Structured output degrades per endpoint: ``json_schema`` →
``json_object`` → plain text when the endpoint rejects a ``response_format`` with a 400.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import openai

from copydesk.llm.client import (
    Completion,
    EndpointError,
    FormatMode,
    LLMClient,
    Message,
    ResponseSchema,
    Usage,
    sampling_params,
)
from copydesk.llm.settings import LLMSettings, redact_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Local servers (Ollama, llama.cpp, LM Studio) accept any key; the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"
_DOWNGRADE: dict[FormatMode, FormatMode] = {"json_schema": "json_object", "json_object": "text"}


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


class OpenAIBackend(LLMClient):
    """``LLMClient`` over ``openai.OpenAI`` / ``AsyncOpenAI`` (or the Azure variants)."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
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
        self._sleep = sleep
        self._asleep = asleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._format: FormatMode | None = None  # learned by downgrading
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        #: Every backoff delay slept, in order (tests and the CLI summary read it).
        self.delays: list[float] = []

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

    def _sync_client(self) -> openai.OpenAI:
        if self._sync is None:
            try:
                if self.endpoint_kind == "azure":
                    self._sync = openai.AzureOpenAI(**self._client_kwargs())
                else:
                    self._sync = openai.OpenAI(**self._client_kwargs())
            except openai.OpenAIError as exc:
                raise EndpointError(f"cannot configure the client: {exc}", fatal=True) from None
        return self._sync

    def _async_client(self) -> openai.AsyncOpenAI:
        # An async client's connection pool belongs to one event loop; each
        # ``asyncio.run`` (one per generation run) gets its own client.
        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            self._async, self._async_loop = None, loop
        if self._async is None:
            try:
                if self.endpoint_kind == "azure":
                    self._async = openai.AsyncAzureOpenAI(**self._client_kwargs())
                else:
                    self._async = openai.AsyncOpenAI(**self._client_kwargs())
            except openai.OpenAIError as exc:
                raise EndpointError(f"cannot configure the client: {exc}", fatal=True) from None
        return self._async

    def describe(self) -> dict[str, Any]:
        return {
            "endpoint_kind": self.endpoint_kind,
            "base_url": redact_url(self.base_url),
            "model": self.model,
            "label": self.label,
        }

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        self._async = None

    # -- request building ------------------------------------------------------------

    def _request(
        self,
        messages: Sequence[Message],
        schema: ResponseSchema | None,
        mode: FormatMode,
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            **sampling_params(self.settings, temperature=temperature, max_tokens=max_tokens),
        }
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
        if self._format is not None:
            return self._format
        wanted = self.settings.output_mode
        if wanted in ("json_schema", "json_object", "text"):
            return wanted
        return "text" if wanted == "labelled" else "json_schema"

    def _downgrade(self, mode: FormatMode, exc: openai.BadRequestError) -> FormatMode | None:
        """The next weaker format after the endpoint rejected ``mode``, or None."""
        nxt = _DOWNGRADE.get(mode)
        if nxt is None:
            return None
        with self._lock:
            self._format = nxt
        return nxt

    def _completion(self, raw: Any, mode: FormatMode, started: float, retries: int) -> Completion:
        choice = raw.choices[0] if raw.choices else None
        text = (choice.message.content if choice is not None else None) or ""
        usage = raw.usage
        return Completion(
            text=text,
            usage=Usage(
                getattr(usage, "prompt_tokens", 0) or 0,
                getattr(usage, "completion_tokens", 0) or 0,
            ),
            latency=time.perf_counter() - started,
            model=raw.model or self.model,
            endpoint_kind=self.endpoint_kind,
            format_mode=mode,
            retries=retries,
            finish_reason=getattr(choice, "finish_reason", None),
        )

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

    def _classify(self, exc: Exception) -> tuple[bool, EndpointError]:
        """(retryable, the error to raise when out of retries) for an SDK exception."""
        where = redact_url(self.base_url)
        if isinstance(exc, openai.APITimeoutError):
            return True, EndpointError(
                f"request to {where} timed out after {self.settings.timeout:g}s"
            )
        if isinstance(exc, openai.APIConnectionError):
            return True, EndpointError(
                f"cannot reach the LLM endpoint at {where} ({exc.__cause__ or exc}); "
                "is the server running? check base_url",
                fatal=True,
            )
        if isinstance(exc, openai.RateLimitError):
            return True, EndpointError(f"{where} kept answering 429 rate limited: {_msg(exc)}")
        if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
            return True, EndpointError(f"{where} server error {exc.status_code}: {_msg(exc)}")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return False, EndpointError(
                f"{where} refused the API key ({exc.status_code}): set COPYDESK_LLM_API_KEY or "
                "OPENAI_API_KEY, or pass --api-key-env",
                fatal=True,
            )
        if isinstance(exc, openai.NotFoundError):
            return False, EndpointError(
                f"{where} has no model '{self.model}' or no chat endpoint (404): {_msg(exc)}",
                fatal=True,
            )
        if isinstance(exc, openai.APIStatusError):
            return False, EndpointError(f"{where} rejected the request ({exc.status_code}): "
                                        f"{_msg(exc)}", fatal=True)
        return False, EndpointError(f"LLM call failed: {exc}", fatal=True)

    def _after_failure(
        self, exc: openai.OpenAIError, body: dict[str, Any], mode: FormatMode, retries: int
    ) -> tuple[FormatMode, int, float | None]:
        """What the next attempt after ``exc`` uses: its format mode, the retry count,
        and the backoff to sleep first (None: retry at once with a weaker format).
        Raises the ``EndpointError`` when there is no next attempt."""
        if isinstance(exc, openai.BadRequestError):
            nxt = self._downgrade(mode, exc) if "response_format" in body else None
            if nxt is None:
                raise self._classify(exc)[1] from None
            return nxt, retries, None
        retryable, error = self._classify(exc)
        if not retryable or retries >= self.settings.max_retries:
            raise error from None
        retries += 1
        delay = self._delay(retries, exc)
        self.delays.append(delay)
        return mode, retries, delay

    # -- calls -------------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        client = self._sync_client()
        mode = self._first_mode(schema)
        started = time.perf_counter()
        retries = 0
        while True:
            body = self._request(messages, schema, mode, temperature, max_tokens)
            try:
                raw = client.chat.completions.create(**body)
                return self._completion(raw, mode, started, retries)
            except openai.OpenAIError as exc:
                mode, retries, delay = self._after_failure(exc, body, mode, retries)
                if delay is not None:
                    self._sleep(delay)

    async def achat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        client = self._async_client()
        mode = self._first_mode(schema)
        started = time.perf_counter()
        retries = 0
        while True:
            body = self._request(messages, schema, mode, temperature, max_tokens)
            try:
                raw = await client.chat.completions.create(**body)
                return self._completion(raw, mode, started, retries)
            except openai.OpenAIError as exc:
                mode, retries, delay = self._after_failure(exc, body, mode, retries)
                if delay is not None:
                    await self._asleep(delay)


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
