"""Review: the queue of submitted variants, side by side per brief, with findings on
their spans; approve, reject, or waive a false-positive block finding."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from copydesk.clock import today
from copydesk.models import User, Variant
from copydesk.services import Desk
from copydesk.services.variants import open_blocks
from copydesk.ui import session, variant_view
from copydesk.ui.diff import revision_diff
from copydesk.ui.filters import LibraryFilter
from copydesk.ui.highlight import md_escape
from copydesk.ui.widgets import page_picker

PER_PAGE = 6
PER_ROW = 3
IN_REVIEW = "Submitted for review"
EXPIRED = "Expired approvals"


def _approve(d: Desk, vid: str, shown: int, key: str, actor: str) -> None:
    by: date | None = st.session_state.get(f"{key}-by") if st.session_state.get(f"{key}-set-by") else None
    session.run_action(f"{vid} revision {shown} approved.", d.approve, vid, actor=actor,
                       comment=st.session_state.get(f"{key}-comment", ""), review_by=by, expected_revision=shown)


def _reject(d: Desk, vid: str, shown: int, key: str, actor: str) -> None:
    session.run_action(f"{vid} revision {shown} rejected.", d.reject, vid, actor=actor,
                       comment=st.session_state.get(f"{key}-comment", ""), expected_revision=shown)


def _waive(d: Desk, vid: str, shown: int, key: str, actor: str) -> None:
    choice = st.session_state.get(f"{key}-rule") or ""
    rule_id, _, field = choice.partition(" on ")
    session.run_action(f"{vid}: {rule_id} waived on revision {shown}.", d.waive, vid, rule_id, actor=actor,
                       reason=st.session_state.get(f"{key}-reason", ""), field=field or None,
                       expected_revision=shown)


def _diff(d: Desk, v: Variant) -> None:
    if v.current.number < 2:
        return
    previous = d.get_revision(v.id, v.current.number - 1)
    with st.expander(f"Changes from revision {previous.number} (by {previous.author})"):
        for change in revision_diff(previous.content.fields, v.current.content.fields):
            if change.changed:
                st.markdown(f"**{change.name}**<br>{change.html}", unsafe_allow_html=True)


def _actions(d: Desk, v: Variant, user: User) -> None:
    shown = v.current.number
    key = f"rv-{v.id}-{shown}"
    if user.name in d.contributors(v.id):
        st.caption("You wrote or edited this variant: four eyes means someone else approves it.")
    with st.form(key):
        st.text_area("Comment (required to reject)", key=f"{key}-comment", height=68)
        c1, c2 = st.columns(2)
        c1.checkbox("Set a review-by date", key=f"{key}-set-by")
        c2.date_input("Review by", value=today() + timedelta(days=d.review_days), min_value=today() + timedelta(days=1),
                      max_value=today() + timedelta(days=d.max_review_days), key=f"{key}-by",
                      label_visibility="collapsed")
        b1, b2 = st.columns(2)
        b1.form_submit_button("Approve", type="primary", on_click=_approve, args=(d, v.id, shown, key, user.name))
        b2.form_submit_button("Reject", on_click=_reject, args=(d, v.id, shown, key, user.name))
    blocks = open_blocks(v.current)
    if blocks:
        with st.expander("Waive a false positive"), st.form(f"{key}-waive"):
            st.selectbox("Block finding", sorted({f"{f.rule_id} on {f.field}" for f in blocks}), key=f"{key}-rule")
            st.text_input("Why it is a false positive", key=f"{key}-reason")
            st.form_submit_button("Waive", on_click=_waive, args=(d, v.id, shown, key, user.name))


def _card(d: Desk, v: Variant, user: User) -> None:
    with st.container(border=True):
        st.markdown(variant_view.header(v))
        authors = sorted(d.contributors(v.id))
        st.caption(f"by {', '.join(authors)} · updated {v.updated_at:%Y-%m-%d %H:%M}"
                   + (f" · expired {v.review_by}" if v.is_expired(today()) else ""))
        variant_view.show_revision(v.current)
        for w in v.current.waivers:
            st.caption(f"waiver by {w.by}: {md_escape(w.reason)}")
        _diff(d, v)
        _actions(d, v, user)


def page() -> None:
    """Draw the Review page."""
    user = session.require_user()
    d = session.desk()
    st.title("Review")
    session.show_flashes()
    if not session.allowed(user, "variant.review"):
        st.info("Reviewing needs the reviewer role.")
        return
    source = st.radio("Queue", [IN_REVIEW, EXPIRED], horizontal=True, key="review_source")
    status = "in_review" if source == IN_REVIEW else "expired"
    if status == "in_review":
        queue = d.review_queue()
        if not queue:
            st.success("Nothing waiting for review.")
            return
        st.dataframe(pd.DataFrame([q.__dict__ for q in queue]), hide_index=True, width="stretch")
        waiting = {q.brief_id: q.waiting for q in queue}
        brief_id = st.selectbox("Brief", list(waiting), key="review_brief",
                                format_func=lambda b: f"{b} ({waiting[b]} waiting)")
    else:
        brief_id = ""
    filt = LibraryFilter(status=status, brief_id=brief_id)
    total = d.count_variants(**filt.list_kwargs())
    if not total:
        st.success("No expired approvals." if status == "expired" else "Nothing waiting for this brief.")
        return
    pg = page_picker(total, key="review_page", size=PER_PAGE)
    variants = d.list_variants(**filt.list_kwargs(), limit=pg.size, offset=pg.offset)
    for start in range(0, len(variants), PER_ROW):
        for col, v in zip(st.columns(PER_ROW), variants[start:start + PER_ROW], strict=False):
            with col:
                _card(d, v, user)


if __name__ == "__main__":
    page()
