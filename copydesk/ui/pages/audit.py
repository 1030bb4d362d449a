"""Audit: the append-only, hash-chained event log, with filters and chain verification."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from copydesk.ui import session
from copydesk.ui.filters import audit_rows
from copydesk.ui.messages import readable_rows

LIMITS = (100, 500, 2000, 10000)


def page() -> None:
    """Draw the Audit page."""
    session.require_user()
    d = session.desk()
    st.title("Audit log")
    session.show_flashes()
    if st.button("Verify the hash chain", type="primary", key="audit_verify"):
        ok, message = d.verify_audit()
        if ok:
            st.success(message)
        else:
            st.error("The audit record does not verify:")
            st.code(message, language=None, wrap_lines=True)
    c1, c2, c3, c4 = st.columns(4)
    actors, actions = d.audit_facets()
    actor = c1.selectbox("Actor", ["", *actors], key="audit_actor")
    action = c2.selectbox("Action", ["", *actions], key="audit_action")
    entity_id = c3.text_input("Entity id (variant, brief, user...)", key="audit_entity").strip()
    limit = c4.selectbox("Newest", LIMITS, key="audit_limit")
    events = d.audit_log(entity_id=entity_id or None, actor=actor or None, action=action or None, limit=limit)
    rows = audit_rows(events)
    st.caption(f"{len(rows):,} event(s), newest first")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        seq = st.selectbox("Event details", [r["seq"] for r in rows], key="audit_detail")
        event = next(e for e in events if e.seq == seq)
        st.dataframe(pd.DataFrame(readable_rows(event.model_dump(mode="json"))), hide_index=True, width="stretch",
                     key="audit_detail_fields",
                     column_config={"value": st.column_config.TextColumn(width="large")})


if __name__ == "__main__":
    page()
