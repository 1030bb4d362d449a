"""The Results view of a campaign: draws a :class:`CampaignReport`; no logic here."""

from __future__ import annotations

from typing import Any

import streamlit as st

from copydesk.measure import charts
from copydesk.measure.report import CampaignReport


def _pair_rows(report: CampaignReport) -> list[dict[str, Any]]:
    scale = 1.0 if report.metric == "revenue" else 100.0
    unit = "" if report.metric == "revenue" else " pts"
    rows = []
    for pair in report.pairs:
        d = pair.difference
        rows.append({
            "rule": pair.rule,
            "comparison": f"{pair.first} vs {pair.second}",
            "n": f"{pair.n_first:,} vs {pair.n_second:,}",
            "difference": "n/a" if d is None else
            f"{d.estimate * scale:+.2f}{unit} [{d.lower * scale:+.2f}, {d.upper * scale:+.2f}]",
            "p": "n/a" if pair.p_value is None else f"{pair.p_value:.3g}",
            "Holm p": "n/a" if pair.p_holm is None else f"{pair.p_holm:.3g}",
            "verdict": pair.verdict.value,
        })
    return rows


def _warnings(report: CampaignReport) -> None:
    checks = report.checks
    for check in checks.srm:
        if check.mismatch:
            st.error(f"**Sample ratio mismatch** — {check.summary}")
    if checks.mismatch:
        st.error("The recorded recipients do not follow the campaign file, so every comparison is suspect: "
                 "**all verdicts are withheld** until this is explained. Harm flags are still raised.")
    if checks.peeking.early:
        st.warning(checks.peeking.note)


def _head_to_head(report: CampaignReport) -> None:
    if not report.pairs:
        return
    st.markdown("#### Variants head to head")
    st.caption(f"Within each rule, on {report.metric}; p-values Holm-adjusted over "
               f"{report.checks.tests.head_to_head} test(s), intervals unadjusted.")
    st.table(_pair_rows(report))
    for pair in report.pairs:
        st.markdown(f"- {pair.summary}")


def results_view(report: CampaignReport) -> None:
    """Draw the trust checks first (sample ratio mismatch, early look), then lift per
    variant with interval bars, verdicts, variants head to head (Holm-adjusted), the
    funnel, the trend over time and the rows flagged for review (losing, or harming with
    more unsubscribes or complaints than the holdout)."""
    st.subheader(f"Results: {report.campaign_id}")
    checks = report.checks
    _warnings(report)
    st.caption(
        f"Primary metric: {report.metric}. {report.confidence:.0%} intervals against "
        f"{report.holdout.recipients} holdout recipients who were not messaged. "
        f"Minimum for a verdict: {checks.minimum.rule}."
    )
    if checks.winsorizing is not None:
        st.info(checks.winsorizing.note)
    flagged = report.flagged()
    if flagged:
        st.error(f"{len(flagged)} row(s) flagged for review")
        for group in flagged:
            st.markdown(f"- **{group.scope.value} {group.key}**: {group.summary}")
    st.markdown("#### Lift against the holdout")
    if charts.lift_rows(report):
        st.altair_chart(charts.lift_chart(report), width="stretch")
    else:
        st.info("No lift yet: the campaign needs both messaged and holdout recipients.")
    st.markdown("#### Verdicts")
    for group in report.groups:
        st.markdown(f"- {group.summary}")
    _head_to_head(report)
    st.markdown("#### Event funnel")
    st.altair_chart(charts.funnel_chart(report), width="stretch")
    if report.allocation is not None and report.allocation.points:
        from copydesk.measure.allocation import allocation_chart

        st.markdown("#### Allocation that learns")
        st.caption(f"{report.allocation.method}: each variant's weight per send day (lines) and the share "
                   "actually sent (points); the holdout is fixed and never learns.")
        st.altair_chart(allocation_chart(report.allocation), width="stretch")
        for note in report.allocation.notes:
            st.caption(note)
    st.markdown("#### Over time")
    if report.trend:
        st.altair_chart(charts.trend_chart(report), width="stretch")
    else:
        st.info(f"No {report.metric} outcomes recorded yet.")
    with st.expander("Checks"):
        for check in checks.srm:
            st.markdown(f"- {check.summary}")
        for reason in checks.srm_not_checked:
            st.markdown(f"- not checked: {reason}")
        st.markdown(f"- timing: {checks.peeking.note}")
    with st.expander("Notes on method"):
        for note in report.notes:
            st.markdown(f"- {note}")
