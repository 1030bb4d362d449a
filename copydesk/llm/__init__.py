"""LLM drafting: settings, the ``LLMClient`` interface and its two backends (any
OpenAI-compatible endpoint, the embedded offline demo model), prompt files,
output schemas and parsing, and the generate → validate → check → repair loop.

    from copydesk.llm import load_settings, make_client
    client = make_client(load_settings(workspace.config().llm))
"""

from __future__ import annotations

from copydesk.llm.client import Completion, EndpointError, LLMClient, Usage
from copydesk.llm.factory import make_client
from copydesk.llm.generate import DraftOutcome, GenerationOptions, GenerationResult, Generator
from copydesk.llm.settings import EMBEDDED_LABEL, LLMSettings, load_settings

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
