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
    by_segment = st.toggle("Split by segment", key="overview_by_segment")
    approved = d.approved_content()
    matrix = coverage.coverage_matrix(approved, by_segment=by_segment, segments=d.segments())
    gaps = coverage.empty_cells(matrix)
    st.dataframe(matrix.style.map(coverage.highlight_empty), width="stretch")
    st.caption(f"{len(approved):,} approved variant(s); {len(gaps)} empty cell(s) highlighted — "
               "contacts in those cells get a fallback or no message.")

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
