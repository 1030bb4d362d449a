"""Pick the backend the settings ask for."""

from __future__ import annotations

from copydesk.llm.client import LLMClient
from copydesk.llm.settings import LLMSettings


def make_client(settings: LLMSettings) -> LLMClient:
    """The embedded demo model when no endpoint is configured, else the OpenAI SDK client."""
    if settings.kind == "embedded":
        from copydesk.llm.embedded import EmbeddedBackend

        return EmbeddedBackend(settings)
    from copydesk.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(settings)
