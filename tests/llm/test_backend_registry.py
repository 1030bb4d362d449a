"""The backend registry: a new backend is one client class plus one registry entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from copydesk.errors import UsageError
from copydesk.llm import factory
from copydesk.llm.client import Completion, LLMClient, Message, ResponseSchema, Usage
from copydesk.llm.embedded import EmbeddedBackend
from copydesk.llm.factory import make_client, register_backend
from copydesk.llm.openai_backend import OpenAIBackend
from copydesk.llm.settings import LLMSettings, load_settings


class EchoBackend(LLMClient):
    """A toy backend: replies with the last message, upper-cased."""

    endpoint_kind = "echo"

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.model = settings.model or "echo-1"

    def describe(self) -> dict[str, Any]:
        return {"endpoint_kind": self.endpoint_kind, "model": self.model}

    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        return Completion(messages[-1]["content"].upper(), Usage(), 0.0, self.model, self.endpoint_kind)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, factory.BackendFactory]:
    """A private copy of the registry, so registrations end with the test."""
    backends = dict(factory.BACKENDS)
    monkeypatch.setattr(factory, "BACKENDS", backends)
    return backends


def test_the_shipped_kinds_build_their_clients() -> None:
    assert factory.backend_kinds() == ("embedded", "openai", "azure")
    assert isinstance(make_client(load_settings({})), EmbeddedBackend)
    openai = make_client(load_settings({"base_url": "http://127.0.0.1:9/v1", "model": "m"}))
    assert isinstance(openai, OpenAIBackend) and openai.endpoint_kind == "openai"
    azure = make_client(load_settings({"api": "azure", "azure_endpoint": "https://x.openai.azure.com",
                                       "deployment": "d"}))
    assert isinstance(azure, OpenAIBackend) and azure.endpoint_kind == "azure"


def test_an_unknown_api_names_every_registered_kind() -> None:
    with pytest.raises(UsageError) as info:
        load_settings({"api": "echo"})
    assert str(info.value) == (
        "LLM setting 'api': Input should be 'auto', 'embedded', 'openai' or 'azure' "
        "(from a flag, COPYDESK_LLM_API or llm.api in copydesk.yaml)"
    )


def test_a_registered_backend_is_selected_by_api(
    registry: dict[str, factory.BackendFactory], monkeypatch: pytest.MonkeyPatch
) -> None:
    register_backend("echo", EchoBackend)
    assert "echo" in registry
    settings = load_settings({"api": "echo", "model": "loud"})
    assert settings.kind == "echo" and settings.public()["kind"] == "echo"
    client = make_client(settings)
    assert isinstance(client, EchoBackend) and client.label == "loud (echo)"
    assert client.chat([{"role": "user", "content": "hello"}]).text == "HELLO"
    # the error message and the environment see the registration too
    with pytest.raises(UsageError, match="'auto', 'embedded', 'openai', 'azure' or 'echo'"):
        load_settings({"api": "shout"})
    monkeypatch.setenv("COPYDESK_LLM_API", "echo")
    assert load_settings({}).kind == "echo"


def test_auto_is_not_a_backend_kind(registry: dict[str, factory.BackendFactory]) -> None:
    with pytest.raises(ValueError, match="'auto' is not a backend kind"):
        register_backend("auto", EchoBackend)
    assert "auto" not in registry


def test_a_kind_unregistered_after_validation_is_a_usage_error(registry: dict[str, factory.BackendFactory]) -> None:
    register_backend("echo", EchoBackend)
    settings = load_settings({"api": "echo"})
    del registry["echo"]
    with pytest.raises(UsageError, match="no LLM backend 'echo' \\(known: embedded, openai, azure\\)"):
        make_client(settings)
