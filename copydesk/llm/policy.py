"""What generation needs from the guardrail engine, as a Protocol.

The real engine lives in :mod:`copydesk.guardrails` (``Desk.policy`` loads the
workspace's, and fails closed when there is none). Generation only depends on the
methods below; there is deliberately no "empty" policy to fall back on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from copydesk.models import Brief, Finding


@runtime_checkable
class GuardrailPolicy(Protocol):
    """A policy that checks drafts and briefs."""

    def check(
        self, channel: Any, fields: Mapping[str, str], *, brief: Brief | None = None
    ) -> list[Finding]:
        """Findings for one draft's message fields."""
        ...

    def check_brief(self, brief: Brief) -> list[Finding]:
        """PII and injection findings on the brief's free text (``field`` = text path)."""
        ...

    def check_text(self, fields: Mapping[str, str]) -> list[Finding]:
        """The brief rules (PII, injection) on any named texts, e.g. rendered prompts."""
        ...
