"""Model families and the request shape each expects by default.

OpenAI's reasoning models (o1, o3, o4-mini, gpt-5) take ``max_completion_tokens``
instead of ``max_tokens``, reject ``temperature``, and accept ``reasoning_effort``.
Everything else (gpt-4o, gpt-4.1, and the models behind Ollama, vLLM, LM Studio and
llama.cpp server) takes ``max_tokens`` and ``temperature``. The model name picks the
family; the settings ``token_param``, ``reasoning_model`` and ``reasoning_effort``
override it, and a 400 naming a parameter corrects it per endpoint at run time
(:mod:`copydesk.llm.openai_backend`). The table is documented in
docs/reference/llm-endpoints.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from copydesk.llm.settings import LLMSettings

TokenParam = Literal["max_tokens", "max_completion_tokens"]


@dataclass(frozen=True)
class Family:
    """What a model family expects in a chat request."""

    name: str
    reasoning: bool
    token_param: TokenParam
    #: ``reasoning_effort`` sent by default (None: not sent).
    reasoning_effort: str | None


CHAT = Family("chat", reasoning=False, token_param="max_tokens", reasoning_effort=None)

#: First match wins; names are matched lower-cased, without a ``provider/`` prefix.
FAMILIES: tuple[tuple[re.Pattern[str], Family], ...] = (
    # o1-mini and o1-preview predate reasoning_effort and reject it
    (re.compile(r"^o1-(?:mini|preview)\b"), Family("o1-mini, o1-preview", True, "max_completion_tokens", None)),
    (re.compile(r"^o[134](?:$|-)"), Family("o-series", True, "max_completion_tokens", "low")),
    # gpt-5-chat is the non-reasoning chat model of the family
    (re.compile(r"^gpt-5(?:\.\d+)?-chat\b"), Family("gpt-5 chat", False, "max_completion_tokens", None)),
    (re.compile(r"^gpt-5(?:$|[.-])"), Family("gpt-5", True, "max_completion_tokens", "low")),
)


def family_of(model: str | None) -> Family:
    """The family of model name ``model`` (``CHAT`` when no pattern matches)."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]
    for pattern, family in FAMILIES:
        if pattern.search(name):
            return family
    return CHAT


@dataclass(frozen=True)
class RequestShape:
    """The request fields one endpoint starts with: settings over family defaults."""

    family: Family
    reasoning: bool
    token_param: TokenParam
    send_temperature: bool
    reasoning_effort: str | None

    def token_budget(self, max_tokens: int, settings: LLMSettings) -> int:
        """The completion token cap to send: a reasoning model's hidden reasoning counts
        against it, so ``reasoning_tokens`` are added on top of the visible budget."""
        return max_tokens + (settings.reasoning_tokens if self.reasoning else 0)


def request_shape(settings: LLMSettings, *names: str | None) -> RequestShape:
    """The shape for the first of ``names`` that names a known family (the model, then
    the Azure deployment), with the settings' explicit choices applied."""
    family = next((f for f in map(family_of, names) if f is not CHAT), CHAT)
    reasoning = family.reasoning if settings.reasoning_model is None else settings.reasoning_model
    if settings.token_param != "auto":
        token_param: TokenParam = settings.token_param
    elif reasoning:
        token_param = "max_completion_tokens"
    else:
        token_param = family.token_param
    effort: str | None = None
    if reasoning and settings.reasoning_effort != "omit":
        if settings.reasoning_effort != "auto":
            effort = settings.reasoning_effort
        else:
            effort = family.reasoning_effort if family.reasoning else "low"
    return RequestShape(family, reasoning, token_param, not reasoning, effort)
