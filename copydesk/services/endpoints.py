"""Which LLM endpoint is used, how it is labelled, and a connection test.

The one home for these: ``copydesk llm check``, ``copydesk generate`` and the app's
Generate and Settings pages all call it. Settings come from the workspace's
``copydesk.yaml`` ``llm:`` mapping and the ``COPYDESK_LLM_*`` environment (see
:mod:`copydesk.llm.settings`); a command or page may override some of them for one run.
API keys only ever come from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copydesk.llm.client import LLMClient
from copydesk.llm.factory import make_client
from copydesk.llm.prompts import PromptLibrary
from copydesk.llm.settings import EMBEDDED_LABEL, LLMSettings, load_settings
from copydesk.workspace import Workspace


def endpoint_settings(ws: Workspace, **overrides: Any) -> LLMSettings:
    """The workspace settings, with the given overrides (``None`` or blank: not given)."""
    given = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in overrides.items()}
    return load_settings(ws.config().llm, overrides=given, source=str(ws.config_path))


def endpoint_label(settings: LLMSettings) -> str:
    """How a person should read the endpoint (the embedded model is labelled as a demo)."""
    if settings.kind == "embedded":
        return f"{EMBEDDED_LABEL} — offline demo model: in process, no network, low quality"
    public = settings.public()
    where = public.get("azure_endpoint") if settings.kind == "azure" else public.get("base_url")
    model = settings.deployment or settings.model or "(no model set)"
    return f"{model} via {settings.kind} at {where or 'https://api.openai.com/v1'}"


@dataclass(frozen=True)
class ConnectionResult:
    """What a one-token round trip returned."""

    answer: str
    latency: float
    model: str
    tokens: int

    @property
    def message(self) -> str:
        answer = self.answer.strip()
        answer = answer if len(answer) <= 40 else answer[:39] + "…"
        return (f"the endpoint answered {answer!r} in {self.latency:.2f}s "
                f"({self.tokens} tokens, model {self.model})")


def connection_test(ws: Workspace, settings: LLMSettings, client: LLMClient | None = None) -> ConnectionResult:
    """Send the ``llm-check`` prompt for one token; raises :class:`LLMError` when the
    endpoint is dead, the key wrong or the model unknown."""
    client = client or make_client(settings)
    try:
        prompt = PromptLibrary(ws.prompts_dir).render("llm-check")
        completion = client.chat([{"role": "user", "content": prompt.text}], max_tokens=1, temperature=0.0)
    finally:
        client.close()
    return ConnectionResult(completion.text, completion.latency, completion.model,
                            completion.usage.total_tokens)
