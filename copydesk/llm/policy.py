"""What generation needs from the guardrail engine, as a Protocol, plus an empty one.

The real engine lives in :mod:`copydesk.guardrails` (``Desk.policy`` loads the
workspace's). Generation only depends on the two methods below.
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


class EmptyPolicy:
    """A policy with no rules (tests, and workspaces without a guardrail engine)."""

    def check(
        self, channel: Any, fields: Mapping[str, str], *, brief: Brief | None = None
    ) -> list[Finding]:
        return []

    def check_brief(self, brief: Brief) -> list[Finding]:
        return []

