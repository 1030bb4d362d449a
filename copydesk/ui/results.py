"""The Results view of a campaign: draws a :class:`CampaignReport`; no logic here."""

from __future__ import annotations

import streamlit as st

from copydesk.measure import charts
from copydesk.measure.report import CampaignReport


def results_view(report: CampaignReport) -> None:
    """Draw lift per variant with interval bars, the funnel, the trend over time and
    the variants flagged for review (losing, or harming with more unsubscribes or
    complaints than the holdout)."""
    st.subheader(f"Results: {report.campaign_id}")
    st.caption(
        f"Primary metric: {report.metric}. {report.confidence:.0%} intervals against "
        f"{report.holdout.recipients} holdout recipients who were not messaged."
    )
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
    st.markdown("#### Event funnel")
    st.altair_chart(charts.funnel_chart(report), width="stretch")
    st.markdown("#### Over time")
    if report.trend:
        st.altair_chart(charts.trend_chart(report), width="stretch")
    else:
        st.info(f"No {report.metric} outcomes recorded yet.")
    with st.expander("Notes on method"):
        for note in report.notes:
            st.markdown(f"- {note}")
