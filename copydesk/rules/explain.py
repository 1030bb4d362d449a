"""Readable explanations of a decision and its trace (CLI ``explain`` and the app preview)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from copydesk.rules.conditions import TraceStep
from copydesk.rules.decide import Decision, Outcome

_HEADLINES = {
    Outcome.SUPPRESSED: "suppressed by {reason}",
    Outcome.CAPPED: "not sent: frequency cap reached",
    Outcome.HOLDOUT: "held out (control group) after rule {rule}",
    Outcome.NO_VARIANT: "no eligible approved variant",
}

_STAGE_LABELS = {
    "consent": "consent",
    "suppress": "suppress",
    "frequency_cap": "frequency cap",
    "select": "select",
    "variants": "variants",
    "holdout": "holdout",
    "allocation": "allocation",
    "split": "split",
}


def show_value(value: Any) -> str:
    """A value as a marketer would write it in a campaign file."""
    if value is None:
        return "(missing)"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "..."
    return str(value)


def headline(decision: Decision) -> str:
    """One line: what happens to this contact."""
    if decision.outcome is Outcome.SELECTED and decision.variant is not None:
        v = decision.variant
        return (
            f"send variant {v.variant_id} (revision {v.revision}, {v.content_hash[:12]}) "
            f"by rule {decision.rule_id}"
        )
    template = _HEADLINES.get(decision.outcome, "{reason}")
    return template.format(reason=decision.reason, rule=decision.rule_id or "-")


def allocation_text(step: TraceStep) -> str:
    """The learnt weights and the counts behind them, from an ``allocation`` step."""
    settings: dict[str, Any] = step.expected if isinstance(step.expected, dict) else {}
    arms: list[dict[str, Any]] = step.actual if isinstance(step.actual, list) else []
    metric = settings.get("metric", "?")
    head = (
        f"{step.operator} on {metric}, outcomes known before {settings.get('as_of', '?')}"
        f", min share {settings.get('min_share', 0):g}, {settings.get('draws', '?')} seeded draws: "
    )
    body = " · ".join(
        f"{a['variant_id']} {a['weight']:.1%} ({a['successes']}/{a['trials']} {metric}, P(best) {a['p_best']:.2f})"
        for a in arms
    )
    return head + body + (f" ({step.note})" if step.note else "")


def step_text(step: TraceStep) -> str:
    """One trace step as text, without the pass/fail mark."""
    label = _STAGE_LABELS.get(step.stage, step.stage)
    rule = f" {step.rule_id}" if step.rule_id and step.stage in ("suppress", "select") else ""
    if step.field is not None:
        text = (
            f"{step.field} {step.operator} {show_value(step.expected)} "
            f"(actual: {show_value(step.actual)}"
            + (f", {step.note}" if step.note else "")
            + ")"
        )
    elif step.operator in ("all", "any", "not"):
        text = step.operator
    elif step.operator == "always":
        text = "always (no 'when')"
    elif step.stage == "frequency_cap":
        text = step.note or f"{step.actual} sends, limit {step.expected}"
    elif step.stage == "variants":
        who = "fallback" if step.rule_id == "fallback" else f"rule {step.rule_id}"
        text = f"{who}: {step.expected} -> {show_value(step.actual)}"
        if step.note:
            text += f" ({step.note})"
    elif step.stage == "holdout":
        sign = "<" if step.result else "≥"
        text = f"bucket {step.actual} {sign} share {step.expected}: {step.note}"
    elif step.stage == "allocation":
        text = allocation_text(step)
    elif step.stage == "split":
        text = f"chose {step.actual} from {show_value(step.expected)} ({step.note})"
    else:
        text = f"{step.operator} {show_value(step.expected)}"
    return f"{label}{rule}: {text}" if step.depth == 0 else text


def explain_text(decision: Decision) -> str:
    """The decision and every evaluated step, indented by condition depth."""
    lines = [
        f"contact {decision.contact_id} · campaign {decision.campaign_id}",
        f"decision: {decision.outcome.value} — {headline(decision)}",
    ]
    if decision.trace:
        lines.append("trace:")
        for step in decision.trace:
            mark = "✓" if step.result else "✗"
            lines.append("  " + "    " * step.depth + f"{mark} {step_text(step)}")
    return "\n".join(lines)


def explain_dict(decision: Decision) -> dict[str, Any]:
    """JSON-friendly decision with trace, for the app and ``--explain`` output."""
    v = decision.variant
    return {
        "contact_id": decision.contact_id,
        "campaign_id": decision.campaign_id,
        "decision": decision.outcome.value,
        "reason": decision.reason,
        "rule_id": decision.rule_id,
        "variant_id": v.variant_id if v else None,
        "revision": v.revision if v else None,
        "content_hash": v.content_hash if v else None,
        "headline": headline(decision),
        "trace": [step.as_dict() for step in decision.trace],
    }
