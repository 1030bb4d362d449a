"""Write a :class:`CampaignReport` as plain text, JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from copydesk.errors import UsageError
from copydesk.measure.outcomes import Event
from copydesk.measure.report import CampaignReport, Comparison, Group

FORMATS = ("text", "json", "csv")


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _primary(report: CampaignReport, group: Group) -> str:
    if report.metric == "revenue":
        value = group.revenue_per_recipient
        return "-" if value is None else f"{value:.2f}"
    rate = group.rates[report.metric]
    return f"{_pct(rate.rate)} [{_pct(rate.lower)}, {_pct(rate.upper)}]"


def _lift(report: CampaignReport, comparison: Comparison | None) -> str:
    if comparison is None:
        return "-"
    if report.metric == "revenue":
        return f"{comparison.estimate:+.2f} [{comparison.lower:+.2f}, {comparison.upper:+.2f}]"
    return f"{comparison.estimate * 100:+.2f} pts [{comparison.lower * 100:+.2f}, {comparison.upper * 100:+.2f}]"


def _relative(comparison: Comparison | None) -> str:
    if comparison is None:
        return "-"
    return f"{comparison.estimate * 100:+.0f}% [{comparison.lower * 100:+.0f}%, {comparison.upper * 100:+.0f}%]"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def to_text(report: CampaignReport) -> str:
    """A plain-text report: one row per group, then plain sentences, flags and notes."""
    holdout = report.holdout
    lines = [
        f"Results for campaign {report.campaign_id} "
        f"(primary metric: {report.metric}; {report.confidence:.0%} intervals)",
        "",
        f"holdout: {holdout.recipients} recipients; {report.metric} {_primary(report, holdout)}; "
        f"unsubscribed {_pct(holdout.rates['unsubscribed'].rate)}; "
        f"complained {_pct(holdout.rates['complained'].rate)}",
        "",
    ]
    header = [
        "scope",
        "key",
        "n",
        "holdout n",
        report.metric,
        "lift vs holdout",
        "relative lift",
        "unsubscribed",
        "complained",
        "verdict",
    ]
    rows = [header]
    for group in report.groups:
        rows.append(
            [
                group.scope.value,
                group.key,
                str(group.recipients),
                str(group.holdout_recipients),
                _primary(report, group),
                _lift(report, group.lift),
                _relative(group.relative_lift),
                _pct(group.rates["unsubscribed"].rate),
                _pct(group.rates["complained"].rate),
                group.verdict.value + (" + HARM" if group.harm else ""),
            ]
        )
    lines += _table(rows)
    lines += ["", "In words:"] + [f"  - {group.summary}" for group in report.groups]
    flagged = report.flagged()
    if flagged:
        lines += ["", "Flagged for review:"]
        lines += [
            f"  - {group.scope.value} {group.key}: {group.verdict.value}"
            + ("; " + "; ".join(group.harm_reasons) if group.harm else "")
            for group in flagged
        ]
    lines += ["", "Notes:"] + [f"  - {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def to_json(report: CampaignReport) -> str:
    """The full report as JSON (every interval, sample size and method)."""
    return report.model_dump_json(indent=2) + "\n"


def _bounds(prefix: str, comparison: Comparison | None) -> dict[str, Any]:
    if comparison is None:
        return {prefix: "", f"{prefix}_lower": "", f"{prefix}_upper": ""}
    return {
        prefix: comparison.estimate,
        f"{prefix}_lower": comparison.lower,
        f"{prefix}_upper": comparison.upper,
    }


def to_csv(report: CampaignReport) -> str:
    """One CSV row per group (holdout first), with every count, rate and interval."""
    out = io.StringIO()
    rows: list[dict[str, Any]] = []
    for group in [report.holdout, *report.groups]:
        row: dict[str, Any] = {
            "campaign_id": report.campaign_id,
            "metric": report.metric,
            "scope": group.scope.value,
            "key": group.key,
            "baseline": group.baseline,
            "recipients": group.recipients,
            "holdout_recipients": group.holdout_recipients,
        }
        for event in Event:
            row[f"{event.value}_events"] = group.events[event.value]
            row[f"{event.value}_rate"] = group.rates[event.value].rate
        row["revenue_per_recipient"] = "" if group.revenue_per_recipient is None else group.revenue_per_recipient
        row.update(_bounds("lift", group.lift))
        row.update(_bounds("relative_lift", group.relative_lift))
        row.update(_bounds("revenue_lift", group.revenue_lift))
        for harm_event in ("unsubscribed", "complained"):
            row.update(_bounds(f"{harm_event}_lift", group.harm_lifts.get(harm_event)))
        row["verdict"] = group.verdict.value
        row["harm"] = int(group.harm)
        rows.append(row)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def render(report: CampaignReport, fmt: str) -> str:
    """The report in ``fmt``: ``text``, ``json`` or ``csv``."""
    if fmt == "text":
        return to_text(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    raise UsageError(f"unknown format '{fmt}'; use {', '.join(FORMATS)}")
