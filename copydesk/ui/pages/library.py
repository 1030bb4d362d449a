"""Library: full-text search and filters, variant history with provenance, retire,
and downloads of the approved library (CSV / JSON, and per sending platform)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from copydesk.models import User, Variant
from copydesk.services import Desk
from copydesk.services.library import STATUS_FILTERS
from copydesk.ui import esp_export, session, variant_view
from copydesk.ui.filters import LibraryFilter, variant_rows
from copydesk.ui.highlight import md_escape
from copydesk.ui.provenance import history_rows, review_rows
from copydesk.ui.widgets import page_picker
from copydesk.vocab import Channel, Stage, Status

PER_PAGE = 50
EXPIRING_DAYS = 30
SEARCH_LIMIT = 1000
EXPORTS = {"csv": ("CSV", "text/csv"), "json": ("JSON", "application/json")}


def _filters(d: Desk) -> LibraryFilter:
    c1, c2, c3, c4, c5 = st.columns([3, 1, 1, 1, 1])
    text = c1.text_input("Search the text", key="lib_text", placeholder="e.g. waterproof boots")
    status = c2.selectbox("Status", ["", *STATUS_FILTERS], key="lib_status")
    stage = c3.selectbox("Stage", ["", *[s.value for s in Stage]], key="lib_stage")
    channel = c4.selectbox("Channel", ["", *[c.value for c in Channel]], key="lib_channel")
    segment = c5.selectbox("Segment", ["", *d.segments()], key="lib_segment")
    expiring = st.checkbox(f"Only approvals expiring within {EXPIRING_DAYS} days", key="lib_expiring")
    return LibraryFilter(text=text.strip(), status=status, stage=stage, channel=channel, segment=segment,
                                 expiring_within_days=EXPIRING_DAYS if expiring else None)


def _retire(d: Desk, vid: str, actor: str) -> None:
    session.run_action(f"{vid} retired: it will not be sent or exported again.", d.retire, vid, actor=actor,
                       reason=st.session_state.get(f"retire-{vid}-reason", ""))


def _details(d: Desk, v: Variant, user: User) -> None:
    st.markdown(variant_view.header(v) + f" · brief `{v.brief_id}` · {v.channel.value} · {v.stage.value} · "
                f"{md_escape(v.segment)}")
    variant_view.show_revision(v.current)
    if v.approved_hash:
        st.success(f"Approved revision {v.approved_revision} by {v.approved_by} on {v.approved_at:%Y-%m-%d %H:%M} · "
                   f"review by {v.review_by} · approval hash `{v.approved_hash}`")
    st.markdown("**History**")
    st.dataframe(pd.DataFrame(history_rows(d.revisions(v.id))), hide_index=True, width="stretch")
    reviews = review_rows(d.reviews(v.id))
    if reviews:
        st.markdown("**Reviews**")
        st.dataframe(pd.DataFrame(reviews), hide_index=True, width="stretch")
    if v.status == Status.APPROVED and session.allowed(user, "variant.retire"):
        with st.form(f"retire-{v.id}"):
            st.text_input("Why retire it?", key=f"retire-{v.id}-reason")
            st.form_submit_button("Retire", on_click=_retire, args=(d, v.id, user.name))


def _export(d: Desk, user: User) -> None:
    st.subheader("Export the approved library")
    st.caption("Only approved, unexpired, unretired revisions; every download is recorded in the audit log.")
    cols = st.columns(len(EXPORTS))
    for col, (fmt, (label, mime)) in zip(cols, EXPORTS.items(), strict=True):
        with session.errors_shown():
            export = d.prepare_export(fmt, actor=user.name)
            col.download_button(f"Download {label} ({len(export.records)} variant(s))", export.text,
                                file_name=f"copydesk-approved.{fmt}", mime=mime, key=f"download_{fmt}",
                                on_click=esp_export.record, args=(d, export, user.name))


def _platform_export(d: Desk, user: User) -> None:
    st.markdown("**For a sending platform**")
    st.caption("Placeholders in the platform's own syntax, with the same fallbacks; every item carries its "
               "variant id, revision, approval hash, approver and review-by date. See docs/reference/esp-export.md.")
    titles = esp_export.choices()
    c1, c2 = st.columns([3, 1])
    dialect = c1.selectbox("Platform", ["", *titles], format_func=lambda n: titles.get(n, "choose a platform"),
                           key="esp_dialect")
    fmt = c2.selectbox("Format", list(esp_export.FORMATS), format_func=lambda f: esp_export.FORMATS[f][0],
                       key="esp_format")
    if not dialect:
        return
    partial = st.checkbox("Leave out the variants this platform cannot express", key="esp_partial")
    with session.errors_shown():
        download = esp_export.build(d, dialect, fmt, actor=user.name, partial=partial)
        if download.problems:
            lines = "\n".join(f"- {md_escape(str(p))}" for p in download.problems)
            show = st.warning if download.export is not None else st.error
            show(f"{titles[dialect]} cannot express {len(download.problems)} placeholder(s):\n\n{lines}")
        if download.export is not None:
            st.download_button(
                f"Download {len(download.export.records)} variant(s) for {titles[dialect]}",
                download.export.text, file_name=download.file_name, mime=download.mime,
                key=f"download_esp_{dialect}_{fmt}", on_click=esp_export.record,
                args=(d, download.export, user.name),
            )


def page() -> None:
    """Draw the Library page."""
    user = session.require_user()
    d = session.desk()
    st.title("Library")
    session.show_flashes()
    filt = _filters(d)
    with session.errors_shown():
        ids = [v.id for v in d.search(filt.text, limit=SEARCH_LIMIT)] if filt.text else None
        total = d.count_variants(**filt.list_kwargs(), ids=ids)
        pg = page_picker(total, key="lib_page", size=PER_PAGE)
        variants = d.list_variants(**filt.list_kwargs(), ids=ids, limit=pg.size, offset=pg.offset) if total else []
        if ids is not None and len(ids) == SEARCH_LIMIT:
            st.caption(f"Search shows the first {SEARCH_LIMIT} matches; add words to narrow it.")
        if variants:
            st.dataframe(pd.DataFrame(variant_rows(variants)), hide_index=True, width="stretch")
            chosen = st.selectbox("Variant", [v.id for v in variants], key="lib_variant")
            _details(d, next(v for v in variants if v.id == chosen), user)
        else:
            st.info("No variants match.")
    if session.allowed(user, "library.export"):
        _export(d, user)
        _platform_export(d, user)


if __name__ == "__main__":
    page()
