"""The backend registry: each ``api`` kind names the factory that builds its client.

A new backend is one module with an :class:`~copydesk.llm.client.LLMClient` subclass
plus one entry in :data:`BACKENDS` (or a :func:`register_backend` call). The settings'
``api`` option accepts ``auto`` and the kinds registered here. Each factory imports
its module when called: llama.cpp and the OpenAI SDK are slow to import, and a run
needs only one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from copydesk.errors import UsageError

if TYPE_CHECKING:
    from copydesk.llm.client import LLMClient
    from copydesk.llm.settings import LLMSettings

BackendFactory = Callable[["LLMSettings"], "LLMClient"]


def _embedded(settings: LLMSettings) -> LLMClient:
    from copydesk.llm.embedded import EmbeddedBackend

    return EmbeddedBackend(settings)


def _openai(settings: LLMSettings) -> LLMClient:
    # one client class for both: it reads settings.kind to pick the Azure variant
    from copydesk.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(settings)


#: kind -> factory. Insertion order is the order error messages list the kinds in.
BACKENDS: dict[str, BackendFactory] = {
    "embedded": _embedded,
    "openai": _openai,
    "azure": _openai,
}


def register_backend(kind: str, factory: BackendFactory) -> None:
    """Add (or replace) the factory for ``kind``; ``api: <kind>`` then selects it."""
    if kind == "auto":
        raise ValueError("'auto' is not a backend kind: it picks one of the registered kinds")
    BACKENDS[kind] = factory


def backend_kinds() -> tuple[str, ...]:
    """The registered kinds, in registration order."""
    return tuple(BACKENDS)


def make_client(settings: LLMSettings) -> LLMClient:
    """The client for ``settings.kind``: with ``api: auto``, the embedded demo model
    when no endpoint is configured, else the OpenAI SDK client (see ``LLMSettings.kind``)."""
    factory = BACKENDS.get(settings.kind)
    if factory is None:  # only when a kind was unregistered after the settings were built
        raise UsageError(f"no LLM backend '{settings.kind}' (known: {', '.join(BACKENDS)})")
    return factory(settings)
