"""Review: the queue of submitted variants, side by side per brief, with findings on
their spans; approve, reject, waive a false-positive block finding, or decide a
copywriter's waiver request (waive and approve, or reject)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from copydesk.clock import today
from copydesk.models import User, Variant
from copydesk.services import Desk
from copydesk.services.reviews import WaiverRequest
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
BY_DEFAULT = "default"
BY_DATE = "date"
FOUR_EYES = "You wrote or edited this variant: four eyes means someone else approves it."


def _review_by(key: str) -> date | None:
    """The date chosen, or ``None`` for the default (only an explicit choice counts)."""
    if st.session_state.get(f"{key}-by-choice") == BY_DATE:
        chosen: date | None = st.session_state.get(f"{key}-by")
        return chosen
    return None


def _approve(d: Desk, vid: str, shown: int, key: str, actor: str) -> None:
    session.run_action(f"{vid} revision {shown} approved.", d.approve, vid, actor=actor,
                       comment=st.session_state.get(f"{key}-comment", ""), review_by=_review_by(key),
                       expected_revision=shown)


def _grant(d: Desk, vid: str, shown: int, key: str, actor: str) -> None:
    session.run_action(f"{vid}: waiver request granted, revision {shown} approved.", d.grant_waiver_request, vid,
                       actor=actor, reason=st.session_state.get(f"{key}-grant-reason", ""),
                       comment=st.session_state.get(f"{key}-comment", ""), review_by=_review_by(key),
                       expected_revision=shown)


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


def _review_by_control(d: Desk, key: str) -> None:
    """An explicit choice: the default review-by date, or a date picked (shown only then)."""
    default_day = today() + timedelta(days=d.review_days)
    labels = {BY_DEFAULT: f"default ({d.review_days} days: {default_day:%Y-%m-%d})", BY_DATE: "a date I choose"}
    choice = st.radio("Review by", list(labels), key=f"{key}-by-choice", horizontal=True,
                      format_func=labels.__getitem__,
                      help="The approval lapses after this day and the copy must be approved again.")
    if choice == BY_DATE:
        st.date_input("Review-by date", value=default_day, min_value=today() + timedelta(days=1),
                      max_value=today() + timedelta(days=d.max_review_days), key=f"{key}-by")


def _request(req: WaiverRequest | None) -> None:
    if req is None:
        return
    lines = "\n".join(f"- `{md_escape(i.rule_id)}` on {md_escape(i.field)}, '{md_escape(i.match)}': "
                      f"{md_escape(i.reason)}" for i in req.items)
    st.warning(f"**Waiver request** from {md_escape(req.by)}: these block findings (marked in red above) are "
               f"false positives, they say:\n{lines}")


def _actions(d: Desk, v: Variant, user: User, req: WaiverRequest | None) -> None:
    shown = v.current.number
    key = f"rv-{v.id}-{shown}"
    own = user.name in d.contributors(v.id)
    if own:
        st.info(FOUR_EYES + " Approve and waive are off.")
    _review_by_control(d, key)
    with st.form(key):
        if req is not None:
            st.text_area("Your reason the requested findings are false positives *", key=f"{key}-grant-reason",
                         height=68, disabled=own)
        st.text_area("Comment (required to reject)", key=f"{key}-comment", height=68)
        b1, b2 = st.columns(2)
        if req is not None:
            b1.form_submit_button("Waive and approve", type="primary", on_click=_grant, disabled=own,
                                  help=FOUR_EYES if own else "Waive the requested findings with your reason, "
                                  "then approve this revision", args=(d, v.id, shown, key, user.name))
        else:
            b1.form_submit_button("Approve", type="primary", on_click=_approve, disabled=own,
                                  help=FOUR_EYES if own else None, args=(d, v.id, shown, key, user.name))
        b2.form_submit_button("Reject", on_click=_reject, args=(d, v.id, shown, key, user.name))
    blocks = open_blocks(v.current)
    if blocks and req is None and not own:
        with st.expander("Waive a false positive"), st.form(f"{key}-waive"):
            st.selectbox("Block finding", sorted({f"{f.rule_id} on {f.field}" for f in blocks}), key=f"{key}-rule")
            st.text_input("Why it is a false positive", key=f"{key}-reason")
            st.form_submit_button("Waive", on_click=_waive, args=(d, v.id, shown, key, user.name))


def _card(d: Desk, v: Variant, user: User) -> None:
    req = d.waiver_request(v.id)
    with st.container(border=True):
        st.markdown(variant_view.header(v) + (" · :orange-badge[waiver request]" if req else ""))
        authors = sorted(d.contributors(v.id))
        st.caption(f"by {', '.join(authors)} · updated {v.updated_at:%Y-%m-%d %H:%M}"
                   + (f" · expired {v.review_by}" if v.is_expired(today()) else ""))
        variant_view.show_revision(v.current)
        for w in v.current.waivers:
            st.caption(f"waiver by {w.by}: {md_escape(w.reason)}")
        _request(req)
        _diff(d, v)
        _actions(d, v, user, req)


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
        frame = pd.DataFrame([q.__dict__ for q in queue]).rename(columns={"brief_id": "brief",
                                                                          "waiver_requests": "waiver requests"})
        st.dataframe(frame, hide_index=True, width="stretch")
        waiting = {q.brief_id: q for q in queue}
        brief_id = st.selectbox(
            "Brief", list(waiting), key="review_brief",
            format_func=lambda b: f"{b} ({waiting[b].waiting} waiting"
            + (f", {waiting[b].waiver_requests} waiver request(s))" if waiting[b].waiver_requests else ")"))
    else:
        brief_id = ""
    filt = LibraryFilter(status=status, brief_id=brief_id)
    total = d.count_variants(**filt.list_kwargs())
    if not total:
        st.success("No expired approvals." if status == "expired" else "Nothing waiting for this brief.")
        return
    pg = page_picker(total, key="review_page", size=PER_PAGE)
    variants = d.list_variants(**filt.list_kwargs(), limit=pg.size, offset=pg.offset)
    # one or two variants share the width between them, not a third of it each
    per_row = max(1, min(PER_ROW, len(variants)))
    for start in range(0, len(variants), per_row):
        for col, v in zip(st.columns(per_row), variants[start:start + per_row], strict=False):
            with col:
                _card(d, v, user)


if __name__ == "__main__":
    page()
