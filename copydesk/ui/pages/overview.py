"""Overview: counts by status, coverage of the approved library, what is due for
re-review, and guardrail findings over time."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from copydesk.ui import coverage, session
from copydesk.ui.filters import variant_rows

DUE_DAYS = 30


def page() -> None:
    """Draw the Overview page."""
    user = session.require_user()
    d = session.desk()
    st.title("Overview")
    session.show_flashes()
    brand = d.workspace.config().brand if d.workspace else ""
    st.caption(f"{brand} · signed in as {user.name}")

    counts = d.status_counts()
    cols = st.columns(len(counts))
    for col, (status, n) in zip(cols, counts.items(), strict=True):
        col.metric(status.replace("_", " "), f"{n:,}")

    st.subheader("Coverage of approved, unexpired content")
    approved = d.approved_content()
    needs, problems = coverage.workspace_needs(d)
    st.markdown(coverage.LEGEND)
    for problem in problems:
        st.warning(f"A campaign file does not load, so what it needs is not shown: {problem}")
    by_segment = st.toggle("One segment at a time", key="overview_by_segment")
    states = None
    if by_segment:
        segments = sorted({i.segment or "(none)" for i in approved} | set(d.segments()))
        segment = st.selectbox("Segment", segments, key="overview_segment") if segments else None
        if segment is not None:
            matrix = coverage.segment_matrix(approved, segment)
            states = coverage.cell_states(matrix, needs, segment=segment)
            st.markdown(f"**{segment}**")
            st.dataframe(coverage.styled(matrix, states), width="stretch")
    else:
        matrix = coverage.coverage_matrix(approved)
        states = coverage.cell_states(matrix, needs)
        st.dataframe(coverage.styled(matrix, states), width="stretch")
    gaps = coverage.gap_rows(needs, coverage.coverage_counts(approved, by_segment=True))
    red = 0 if states is None else int((states == coverage.GAP).to_numpy().sum())
    st.caption(f"{len(approved):,} approved variant(s); {red} empty cell(s) highlighted red because a "
               "campaign needs them (its contacts get a fallback or no message); empty cells no campaign "
               "needs are grey.")
    if gaps:
        st.markdown(f"**What the campaigns need, by segment** ({len(gaps)} gap(s))")
        st.dataframe(pd.DataFrame(gaps), hide_index=True, width="stretch",
                     column_config={"segment": st.column_config.TextColumn(width="large"),
                                    "needed by": st.column_config.TextColumn(width="large")})

    st.subheader("Due for re-review")
    due = d.list_variants(expiring_within_days=DUE_DAYS, limit=200)
    expired = d.list_variants(status="expired", limit=200)
    if due or expired:
        st.dataframe(pd.DataFrame(variant_rows([*expired, *due])), hide_index=True, width="stretch")
        st.caption(f"{len(expired)} expired (not sent until re-approved), {len(due)} expiring within {DUE_DAYS} days.")
    else:
        st.info(f"Nothing expires within {DUE_DAYS} days.")

    st.subheader("Guardrail findings over time")
    rows = d.findings_by_day()
    if rows:
        frame = pd.DataFrame(rows)
        chart = (
            alt.Chart(frame)
            .mark_bar()
            .encode(
                x=alt.X("day:T", title="day"),
                y=alt.Y("sum(findings):Q", title="findings on new revisions"),
                color=alt.Color("category:N"),
                tooltip=["day:T", "category:N", "severity:N", "findings:Q"],
            )
        )
        st.altair_chart(chart, width="stretch")
    else:
        st.info("No findings yet: generate or write some drafts.")


if __name__ == "__main__":
    page()
