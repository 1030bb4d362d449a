"""Test doubles for the guardrail policy (never used by the product, which fails closed
without a real policy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from copydesk.models import Brief, Finding


class NoRules:
    """A policy that finds nothing: isolates generation tests from the guardrails."""

    def check(self, channel: Any, fields: Mapping[str, str], *, brief: Brief | None = None) -> list[Finding]:
        return []

    def check_brief(self, brief: Brief) -> list[Finding]:
        return []

    def check_text(self, fields: Mapping[str, str]) -> list[Finding]:
        return []
