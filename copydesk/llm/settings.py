"""LLM endpoint settings.

Precedence, highest first: CLI flags (``overrides``), environment variables
(``COPYDESK_LLM_*``; the key also from ``OPENAI_API_KEY``), the workspace's
``copydesk.yaml`` ``llm:`` mapping, then the defaults below. The API key is never
read from ``copydesk.yaml`` (the workspace is versioned in git): set it in the
environment, or name the variable that holds it with ``api_key_env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from copydesk.errors import InputError, UsageError
from copydesk.llm.factory import backend_kinds

ENV_PREFIX = "COPYDESK_LLM_"
EMBEDDED_LABEL = "embedded offline demo model (SmolLM2-135M)"

AUTO = "auto"
OutputMode = Literal["auto", "json_schema", "json_object", "text", "labelled"]
#: Which request field carries the completion token cap (``auto``: by model family).
TokenParamSetting = Literal["auto", "max_tokens", "max_completion_tokens"]
#: ``auto``: the model family's default (:mod:`copydesk.llm.families`); ``omit``: never sent.
ReasoningEffort = Literal["auto", "omit", "none", "minimal", "low", "medium", "high"]


class ModelPrice(BaseModel):
    """What a model costs per 1M tokens (``llm.prices: {model: {input: X, output: Y}}``)."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="price per 1M input (prompt) tokens")
    output: float = Field(ge=0, description="price per 1M output (completion) tokens")


class LLMSettings(BaseSettings):
    """Every knob of the LLM client and the generation loop, with its default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", populate_by_name=True, case_sensitive=False
    )

    api: str = Field(
        default=AUTO,
        description="auto: embedded unless base_url, model or azure_endpoint is set",
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible base URL (…/v1)")
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("api_key", "COPYDESK_LLM_API_KEY", "OPENAI_API_KEY"),
        description="environment only: COPYDESK_LLM_API_KEY or OPENAI_API_KEY",
    )
    api_key_env: str | None = Field(
        default=None, description="name of the environment variable that holds the key"
    )
    model: str | None = Field(default=None, description="model name (Azure: deployment)")
    temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="sampling temperature (never sent to reasoning models)"
    )
    max_tokens: int = Field(default=400, ge=1, description="completion token cap per request")
    token_param: TokenParamSetting = Field(
        default="auto",
        description="max_tokens | max_completion_tokens | auto (by model family; a 400 naming "
        "the other one switches for the endpoint)",
    )
    reasoning_model: bool | None = Field(
        default=None,
        description="a reasoning model: no temperature, reasoning_effort sent, token cap raised "
        "by reasoning_tokens; unset: by model name (o1, o3, o4, gpt-5)",
    )
    reasoning_effort: ReasoningEffort = Field(
        default="auto", description="reasoning models: auto (family default) | omit | none | "
        "minimal | low | medium | high",
    )
    reasoning_tokens: int = Field(
        default=2048, ge=0, description="reasoning models: tokens allowed for hidden reasoning, "
        "added to max_tokens",
    )
    timeout: float = Field(
        default=60.0, gt=0, description="seconds per HTTP request, in total (connect to last byte)"
    )
    deadline: float | None = Field(
        default=None, gt=0, description="seconds for a whole generate run; drafts not done by "
        "then are reported as not attempted",
    )
    max_concurrency: int = Field(default=4, ge=1, le=64, description="requests in flight")
    max_retries: int = Field(
        default=3, ge=0, le=10, description="retries on 429/5xx/connection errors; a timeout is retried once"
    )
    backoff_base: float = Field(default=0.5, ge=0, description="first retry delay, seconds")
    backoff_max: float = Field(default=30.0, ge=0, description="cap on one retry delay")
    reask_attempts: int = Field(
        default=2, ge=0, le=10, description="re-asks with the validation error after bad output"
    )
    repair_rounds: int = Field(
        default=2, ge=0, le=10, description="revision requests for block findings"
    )
    output_mode: OutputMode = Field(
        default="auto",
        description="json_schema | json_object | text (JSON by prompt) | labelled | auto",
    )
    seed: int | None = Field(default=None, description="sampling seed, where supported")
    azure_endpoint: str | None = Field(default=None, description="https://NAME.openai.azure.com")
    api_version: str | None = Field(default=None, description="Azure OpenAI api-version")
    deployment: str | None = Field(default=None, description="Azure OpenAI deployment name")
    embedded_threads: int | None = Field(default=None, ge=1, description="llama.cpp threads")
    embedded_ctx: int = Field(default=2048, ge=512, description="embedded model context size")
    examples: int = Field(
        default=3, ge=0, le=10, description="approved variants of the same channel and stage put "
        "in the prompt as examples (0: none)",
    )
    examples_min_recipients: int = Field(
        default=100, ge=1, description="recipients a variant needs before its converted rate "
        "ranks it as an example (fewer: ranked by newest approval)",
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="model -> {input: X, output: Y}, prices per 1M tokens, "
        "for the cost per draft and per run",
    )
    log_prompts: bool = Field(
        default=True, description="store every prompt and response of generation in the library "
        "(copydesk llm logs)",
    )

    def price(self, model: str | None) -> ModelPrice | None:
        """The price of ``model`` (exact name), or None when it has none."""
        return self.prices.get(model) if model else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, *_workspace_source(settings_cls))

    @field_validator("api")
    @classmethod
    def _known_api(cls, value: str) -> str:
        choices = (AUTO, *backend_kinds())
        if value not in choices:
            # the wording pydantic uses for a Literal, so messages read as before
            expected = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    # -- derived -----------------------------------------------------------------

    @property
    def kind(self) -> str:
        """The backend that will be used (``api`` with ``auto`` resolved); a key of
        ``copydesk.llm.factory.BACKENDS``."""
        if self.api != AUTO:
            return self.api
        if self.azure_endpoint:
            return "azure"
        if self.base_url or self.model:
            return "openai"
        return "embedded"

    def resolved_key(self) -> str | None:
        """The API key: from ``api_key_env`` when set, else the environment default."""
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if not value:
                raise UsageError(f"environment variable {self.api_key_env} (api_key_env) is empty")
            return value
        return self.api_key.get_secret_value() if self.api_key else None

    def public(self) -> dict[str, Any]:
        """Settings safe to show or store: no key, URL without user info or query."""
        data = self.model_dump(exclude={"api_key"})
        data["kind"] = self.kind
        for name in ("base_url", "azure_endpoint"):
            if data.get(name):
                data[name] = redact_url(data[name])
        return data


#: The workspace ``llm:`` mapping in force while :func:`load_settings` builds settings.
_WORKSPACE_CONFIG: ContextVar[dict[str, Any] | None] = ContextVar("llm_config", default=None)


def _workspace_source(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:
    config = _WORKSPACE_CONFIG.get()
    if not config:
        return ()
    return (InitSettingsSource(settings_cls, init_kwargs=config),)


def redact_url(url: str) -> str:
    """``url`` without user info, query or fragment (they may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def load_settings(
    config: Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    source: str = "copydesk.yaml",
) -> LLMSettings:
    """Build settings from the workspace ``llm:`` mapping, the environment and CLI flags.

    ``overrides`` entries whose value is ``None`` are ignored (flag not given).
    Unknown keys in ``config`` and a key stored in the file are errors naming the file.
    """
    config = dict(config or {})
    for key in config:
        if key in ("api_key", "key"):
            raise InputError(
                "do not store API keys in the workspace; set COPYDESK_LLM_API_KEY or "
                "OPENAI_API_KEY, or name the variable with api_key_env",
                source=source,
                field=f"llm.{key}",
            )
        if key not in LLMSettings.model_fields:
            known = ", ".join(sorted(k for k in LLMSettings.model_fields if k != "api_key"))
            raise InputError(f"unknown LLM setting (known: {known})", source=source, field=f"llm.{key}")
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    token = _WORKSPACE_CONFIG.set(config)
    try:
        return LLMSettings(**flags)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        raise UsageError(
            f"LLM setting '{name}': {err['msg']} (from a flag, {ENV_PREFIX}{name.upper()} "
            f"or llm.{name} in {source})"
        ) from None
    finally:
        _WORKSPACE_CONFIG.reset(token)
