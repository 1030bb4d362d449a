"""Altair charts for a campaign report: lift with interval bars, the event funnel,
the trend over time. Pure functions of the report, so they test without Streamlit."""

from __future__ import annotations

from typing import Any

import altair as alt

from copydesk.measure.outcomes import FUNNEL
from copydesk.measure.report import CampaignReport, Scope

VERDICT_COLOURS = {
    "wins": "#2e7d32",
    "loses": "#c62828",
    "not enough data": "#757575",
    "withheld": "#ef6c00",
}


def _scale(report: CampaignReport) -> float:
    """Proportions are charted in percentage points; revenue in currency units."""
    return 1.0 if report.metric == "revenue" else 100.0


def lift_rows(report: CampaignReport) -> list[dict[str, Any]]:
    """One row per variant (and the campaign overall) with a lift interval."""
    scale = _scale(report)
    rows = []
    for group in report.groups:
        if group.scope not in (Scope.CAMPAIGN, Scope.VARIANT) or group.lift is None:
            continue
        rows.append(
            {
                "row": f"{group.scope.value}: {group.key}",
                "lift": group.lift.estimate * scale,
                "lower": group.lift.lower * scale,
                "upper": group.lift.upper * scale,
                "n": group.lift.n,
                "n_holdout": group.lift.n_holdout,
                "mde": None if group.power is None or group.power.mde is None else group.power.mde * scale,
                "verdict": group.verdict.value,
                "harm": "harm" if group.harm else "",
                "unsubscribed": group.rates["unsubscribed"].rate,
                "complained": group.rates["complained"].rate,
            }
        )
    return rows


def lift_chart(report: CampaignReport) -> alt.LayerChart:
    """Lift against the holdout per variant: a point with its interval bar, a rule at
    zero, coloured by verdict; harm is marked with a red ring."""
    unit = "per recipient" if report.metric == "revenue" else "percentage points"
    data = alt.InlineData(values=lift_rows(report))
    base = alt.Chart(data).encode(
        y=alt.Y("row:N", title=None, sort=None),
        tooltip=[
            "row:N",
            alt.Tooltip("lift:Q", format="+.2f"),
            alt.Tooltip("lower:Q", format="+.2f"),
            alt.Tooltip("upper:Q", format="+.2f"),
            "n:Q",
            "n_holdout:Q",
            alt.Tooltip("mde:Q", format=".2f", title="MDE (80% power)"),
            "verdict:N",
            "harm:N",
            alt.Tooltip("unsubscribed:Q", format=".2%"),
            alt.Tooltip("complained:Q", format=".2%"),
        ],
    )
    colour = alt.Color(
        "verdict:N",
        scale=alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values())),
    )
    bars = base.mark_errorbar(ticks=True).encode(
        x=alt.X("lower:Q", title=f"lift in {report.metric} vs holdout ({unit}, 95% CI)"),
        x2="upper:Q",
        color=colour,
    )
    points = base.mark_point(filled=True, size=80).encode(x="lift:Q", color=colour)
    harm = (
        base.mark_point(size=260, color="#c62828", strokeWidth=2)
        .encode(x="lift:Q")
        .transform_filter(alt.datum.harm == "harm")
    )
    zero = alt.Chart(alt.InlineData(values=[{"zero": 0}])).mark_rule(strokeDash=[4, 4]).encode(x="zero:Q")
    return alt.LayerChart(layer=[zero, bars, points, harm])


def funnel_rows(report: CampaignReport) -> list[dict[str, Any]]:
    """Rate of each funnel event for the holdout and each variant."""
    rows = []
    arms = [report.holdout] + [g for g in report.groups if g.scope is Scope.VARIANT]
    for group in arms:
        arm = "holdout" if group.scope is Scope.HOLDOUT else group.key
        for step, event in enumerate(FUNNEL):
            rate = group.rates[event.value]
            if rate.rate is None or rate.lower is None or rate.upper is None:
                continue  # an empty arm has no rate to draw (not 0%, not [0%, 100%])
            rows.append(
                {
                    "arm": arm,
                    "event": event.value,
                    "step": step,
                    "rate": rate.rate,
                    "lower": rate.lower,
                    "upper": rate.upper,
                    "recipients": rate.n,
                }
            )
    return rows


def funnel_chart(report: CampaignReport) -> alt.LayerChart:
    """The event funnel (delivered, opened, clicked, converted) per arm, with Wilson
    intervals. The holdout got no message, so only its conversions are comparable."""
    order = [event.value for event in FUNNEL]
    base = alt.Chart(alt.InlineData(values=funnel_rows(report))).encode(
        x=alt.X("event:N", sort=order, title=None),
        xOffset="arm:N",
    )
    bars = base.mark_bar().encode(
        y=alt.Y("rate:Q", axis=alt.Axis(format="%"), title="share of recipients"),
        color=alt.Color("arm:N"),
        tooltip=["arm:N", "event:N", alt.Tooltip("rate:Q", format=".2%"), "recipients:Q"],
    )
    whiskers = base.mark_errorbar().encode(y="lower:Q", y2="upper:Q")
    return alt.LayerChart(layer=[bars, whiskers])


def trend_rows(report: CampaignReport) -> list[dict[str, Any]]:
    """Cumulative primary metric per recipient, per arm and day."""
    return [point.model_dump() for point in report.trend]


def trend_chart(report: CampaignReport) -> alt.Chart:
    """The primary metric over time: cumulative rate (or revenue) per recipient per arm."""
    title = "cumulative revenue per recipient" if report.metric == "revenue" else f"cumulative {report.metric} rate"
    axis = alt.Axis() if report.metric == "revenue" else alt.Axis(format="%")
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=trend_rows(report)))
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("cumulative_per_recipient:Q", title=title, axis=axis),
            color="arm:N",
            tooltip=["day:T", "arm:N", "value:Q", "cumulative:Q", "recipients:Q"],
        )
    )
    return chart
