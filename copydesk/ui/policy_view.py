"""The active guardrail rules as table rows, each with the pack file it came from."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any


def policy_rows(policy: Any, root: Path | None = None) -> list[dict[str, Any]]:
    """One row per effective rule: id, type, category, severity, channels, source file
    (relative to ``root`` when given) and what it overrides."""
    rows = []
    for rule in policy.rules:
        spec = rule.spec
        source = str(rule.source)
        if root is not None:
            with contextlib.suppress(ValueError):
                source = str(Path(source).resolve().relative_to(root.resolve()))
        rows.append({
            "rule": spec.id,
            "type": getattr(spec, "type", ""),
            "category": spec.category.value,
            "severity": spec.severity.value,
            "channels": ", ".join(c.value for c in spec.channels) or "all",
            "message": spec.message,
            "source": source,
            "overrides": rule.overrides or "",
        })
    return rows
