"""LLM drafting: settings, the ``LLMClient`` interface and its two backends (any
OpenAI-compatible endpoint, the embedded offline demo model), prompt files,
output schemas and parsing, and the generate → validate → check → repair loop.

    from copydesk.llm import load_settings, make_client
    client = make_client(load_settings(workspace.config().llm))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copydesk.llm.client import Completion, EndpointError, LLMClient, Usage
from copydesk.llm.factory import make_client
from copydesk.llm.settings import EMBEDDED_LABEL, LLMSettings, load_settings

if TYPE_CHECKING:
    from copydesk.llm.generate import DraftOutcome, GenerationOptions, GenerationResult, Generator

# The generation loop (and the library it reads examples from) loads on first use, so
# code that only needs settings or a client (the judge, `llm check`) stays light.
_LAZY = {"DraftOutcome", "GenerationOptions", "GenerationResult", "Generator"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from copydesk.llm import generate

        return getattr(generate, name)
    raise AttributeError(f"module 'copydesk.llm' has no attribute {name!r}")

__all__ = [
    "EMBEDDED_LABEL",
    "Completion",
    "DraftOutcome",
    "EndpointError",
    "GenerationOptions",
    "GenerationResult",
    "Generator",
    "LLMClient",
    "LLMSettings",
    "Usage",
    "load_settings",
    "make_client",
]
