"""How the Campaigns page shows what :mod:`copydesk.services.campaigns` returns: trace
rows, dry-run chart rows, and the sandboxed frame for a rendered e-mail."""

from __future__ import annotations

import html
from typing import Any

from copydesk.render.pipeline import Summary
from copydesk.rules.decide import Decision
from copydesk.rules.explain import step_text


def trace_rows(decision: Decision) -> list[dict[str, Any]]:
    """The decision's trace as table rows, indented by depth."""
    return [{"": "✓" if s.result else "✗", "step": s.stage, "check": "    " * s.depth + step_text(s)}
            for s in decision.trace]


def outcome_rows(summary: Summary) -> list[dict[str, Any]]:
    """Contacts per outcome and reason, for the dry-run chart."""
    rows: list[dict[str, Any]] = [{"outcome": "rendered", "reason": f"variant {vid}", "contacts": n}
                                  for vid, n in sorted(summary.variants.items())]
    rows += [{"outcome": "suppressed", "reason": reason, "contacts": n}
             for reason, n in sorted(summary.suppressed.items())]
    for outcome, reason, n in (("held out", "holdout", summary.held_out),
                               ("capped", "frequency-cap", summary.capped),
                               ("no variant", "no-eligible-variant", summary.no_variant),
                               ("rejected", "unreadable or unrenderable row", summary.rejected)):
        if n:
            rows.append({"outcome": outcome, "reason": reason, "contacts": n})
    return rows


def sandboxed_frame(document: str, *, height: int = 600) -> str:
    """A wrapper page holding ``document`` in an ``<iframe sandbox>``: the rendered email
    is shown as it will look, but no script in it runs and it cannot reach the app."""
    return (
        '<!doctype html><html><body style="margin:0">'
        f'<iframe sandbox="" title="rendered message" style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe></body></html>'
    )
