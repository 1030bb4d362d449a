"""Briefs: list and filter; create and edit in a validated form."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import streamlit as st

from copydesk.errors import CopydeskError, InputError
from copydesk.llm.privacy import describe, redact
from copydesk.models import Brief
from copydesk.services import Desk
from copydesk.ui import forms, session
from copydesk.ui.filters import brief_rows, filter_briefs
from copydesk.ui.highlight import md_escape
from copydesk.ui.messages import readable_rows, relative_name
from copydesk.vocab import Channel, Stage

NEW = "(new brief)"
#: The brief just saved with personal data in it: its fix stays shown until done.
PII_KEY = "briefs_personal_data"


def personal_data_warning(d: Desk, brief: Brief) -> str | None:
    """The warning (plain text) for a brief that holds personal data (values masked), or ``None``."""
    try:
        found = d.personal_data_in(brief)
    except CopydeskError as exc:  # the policy does not load: say so rather than nothing
        return f"Brief {brief.id} could not be checked for personal data: {exc}"
    if not found:
        return None
    return (f"Brief {brief.id} contains personal data: {describe(found)}. Briefs describe segments, "
            "not people: generation sends nothing of a brief like this to the model. Replace it "
            "with a redacted version (each span becomes [REDACTED: pii]), or edit the field(s) "
            "named in 'New or edit'.")


def save_redacted_version(d: Desk, brief_id: str, *, actor: str) -> tuple[Brief, int]:
    """Save brief ``brief_id`` again with each personal-data span replaced by
    ``[REDACTED: pii]`` (a new version; the same scan generation uses), returning it and
    the number of spans replaced (0: nothing to redact, nothing saved). Raises
    PrivacyError when a span sits in a field that cannot hold the marker (the id)."""
    brief = d.get_brief(brief_id)
    found = d.personal_data_in(brief)
    if not found:
        return brief, 0
    redacted = redact(brief, found)
    return d.save_brief(redacted, actor=actor, update=True), len(found)


def _redact_clicked(d: Desk, brief_id: str, actor: str) -> None:
    try:
        _, spans = save_redacted_version(d, brief_id, actor=actor)
    except CopydeskError as exc:
        session.flash(str(exc), "error")
        return
    st.session_state.pop(PII_KEY, None)
    # the form still holds what was typed: start it again from the stored, redacted brief
    for key in [k for k in st.session_state if str(k).startswith("bf-")]:
        del st.session_state[key]
    if spans:
        session.flash(f"Brief {brief_id} saved as a new version with {spans} personal-data span(s) "
                      "replaced by [REDACTED: pii]; it can be generated from now.")


def personal_data_fix(d: Desk, brief: Brief, actor: str | None, *, key: str) -> bool:
    """Warn about personal data in ``brief`` and offer the one-click fix (to writers);
    False when there is nothing to warn about."""
    warning = personal_data_warning(d, brief)
    if warning is None:
        return False
    st.warning(md_escape(warning))
    if actor is not None:
        st.button("Replace with a redacted version", key=key, type="primary",
                  on_click=_redact_clicked, args=(d, brief.id, actor),
                  help="saves the brief again (a new version) with each span replaced by [REDACTED: pii]")
    return True


def _list(d: Desk, briefs: list[Brief], writer: str | None) -> None:
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    text = c1.text_input("Search", key="briefs_text", placeholder="id, title, goal or key message")
    stage = c2.selectbox("Stage", ["", *[s.value for s in Stage]], key="briefs_stage")
    channel = c3.selectbox("Channel", ["", *[c.value for c in Channel]], key="briefs_channel")
    segment = c4.selectbox("Segment", ["", *sorted({b.segment.name for b in briefs})], key="briefs_segment")
    shown = filter_briefs(briefs, text=text, stage=stage, channel=channel, segment=segment)
    st.caption(f"{len(shown)} of {len(briefs)} brief(s)")
    if shown:
        st.dataframe(pd.DataFrame(brief_rows(shown)), hide_index=True, width="stretch")
        chosen = st.selectbox("Details of", [b.id for b in shown], key="briefs_detail")
        brief = next(b for b in shown if b.id == chosen)
        info = d.brief_info(brief.id)
        root = d.workspace.root if d.workspace else None
        st.caption(f"version {info['version']} · by {info['created_by']} · updated {info['updated_at'][:19]}"
                   + (f" · from {relative_name(info['source'], root)}" if info["source"] else ""))
        personal_data_fix(d, brief, writer, key=f"brief_redact_detail_{brief.id}")
        st.dataframe(pd.DataFrame(readable_rows(brief.model_dump(mode="json"))), hide_index=True, width="stretch",
                     key="briefs_detail_fields",
                     column_config={"value": st.column_config.TextColumn(width="large")})


def _offer_help(d: Desk) -> str:
    try:
        policy = d.policy
    except CopydeskError as exc:
        return f"the policy packs do not load: {exc}"
    if policy is None:
        return "id of a registered offer or claim"
    ids = [o.id for o in policy.brand.offers] + [c.id for c in policy.brand.claims]
    return "registered offers and claims: " + (", ".join(ids) or "none")


#: Problems of the last Save, by form field, shown next to each field until the next Save.
ERRORS_KEY = "brief_form_errors"
#: Form field -> widget key suffix.
SUFFIX = {"id": "id", "title": "title", "segment_name": "seg", "segment_description": "segd", "stage": "stage",
          "channel": "channel", "goal": "goal", "key_message": "key", "offer": "offer", "tone_notes": "tone",
          "must_include": "inc", "must_avoid": "avoid", "personalization": "pers", "locale": "locale",
          "variants": "n"}


def _save_clicked(d: Desk, existing: Brief | None, prefix: str, actor: str) -> None:
    """Check every field at once; save when all are fine, else keep the problems by field."""
    values = {name: st.session_state.get(prefix + suffix) for name, suffix in SUFFIX.items()}
    if existing is not None:
        values["id"] = existing.id
    errors = forms.brief_form_errors(values)
    if not errors:
        try:
            brief = forms.brief_from_form(values)
            d.save_brief(brief, actor=actor, update=existing is not None)
        except InputError as exc:
            field, message = forms.save_error_field(exc)
            errors[field] = message
        except CopydeskError as exc:
            errors[forms.WHOLE_FORM] = str(exc)
        else:
            st.session_state.pop(ERRORS_KEY, None)
            session.flash(f"Brief {brief.id} saved.")
            st.session_state[PII_KEY] = brief.id  # checked and, if need be, offered a fix at once
            return
    st.session_state[ERRORS_KEY] = errors


def _form(d: Desk, briefs: list[Brief], actor: str) -> None:
    source = st.selectbox("Start from", [NEW, *[b.id for b in briefs]], key="brief_form_source",
                          help="pick a brief to edit it (saved as a new version)")
    existing = next((b for b in briefs if b.id == source), None)
    v: dict[str, Any] = forms.brief_to_form(existing) if existing else {}
    k = f"bf-{source}-"
    stages = [s.value for s in Stage]
    channels = [c.value for c in Channel]
    errors: dict[str, str] = st.session_state.get(ERRORS_KEY) or {}
    st.caption("Fields marked :red[*] are required.")
    if errors:
        st.error(f"{len(errors)} problem(s) — nothing was saved; each is shown next to its field:\n\n" + "\n".join(
            f"- **{forms.BRIEF_FIELDS.get(name, ('Brief', False))[0]}** (field '{name}'): {md_escape(text)}"
            for name, text in errors.items()))

    def label(area: Any, name: str) -> str:
        text, required = forms.BRIEF_FIELDS[name]
        area.markdown(f"**{text}**" + (" :red[*]" if required else ""))
        return text

    def problem(area: Any, name: str) -> None:
        if name in errors:
            area.markdown(f":red[⚠ {md_escape(errors[name])}]")

    hidden: Literal["collapsed"] = "collapsed"  # the bold label above carries the required mark
    with st.form(f"brief_form_{source}"):
        st.markdown("##### What to say")
        label(st, "goal")
        st.text_input("Goal", v.get("goal", ""), key=k + "goal", label_visibility=hidden,
                      placeholder="what should the reader do or feel?")
        problem(st, "goal")
        label(st, "key_message")
        st.text_area("Key message", v.get("key_message", ""), key=k + "key", label_visibility=hidden,
                     placeholder="the one thing every draft must say")
        problem(st, "key_message")
        st.markdown("##### To whom, where")
        c1, c2 = st.columns(2)
        label(c1, "id")
        c1.text_input("Id (slug)", v.get("id", ""), key=k + "id", disabled=existing is not None,
                      label_visibility=hidden, placeholder="e.g. autumn-socks")
        problem(c1, "id")
        label(c2, "title")
        c2.text_input("Title", v.get("title", ""), key=k + "title", label_visibility=hidden)
        problem(c2, "title")
        label(c1, "segment_name")
        c1.text_input("Segment name", v.get("segment_name", ""), key=k + "seg", label_visibility=hidden)
        problem(c1, "segment_name")
        label(c2, "segment_description")
        c2.text_input("Segment description", v.get("segment_description", ""), key=k + "segd",
                      label_visibility=hidden)
        problem(c2, "segment_description")
        label(c1, "stage")
        c1.selectbox("Lifecycle stage", stages, stages.index(v.get("stage", "awareness")), key=k + "stage",
                     label_visibility=hidden)
        label(c2, "channel")
        c2.selectbox("Channel", channels, channels.index(v.get("channel", "email")), key=k + "channel",
                     label_visibility=hidden)
        st.markdown("##### Details (optional)")
        c1, c2 = st.columns(2)
        c1.text_input("Offer (optional)", v.get("offer", ""), key=k + "offer", help=_offer_help(d))
        problem(c1, "offer")
        c2.text_input("Tone notes", v.get("tone_notes", ""), key=k + "tone")
        c1.text_area("Must include (one per line)", v.get("must_include", ""), key=k + "inc")
        problem(c1, "must_include")
        c2.text_area("Must avoid (one per line)", v.get("must_avoid", ""), key=k + "avoid")
        problem(c2, "must_avoid")
        c1.text_input("Personalization fields (comma-separated)", v.get("personalization", ""), key=k + "pers",
                      help="contact fields the copy may use, e.g. first_name")
        problem(c1, "personalization")
        c2.text_input("Locale", v.get("locale", "en-GB"), key=k + "locale")
        problem(c2, "locale")
        c1.number_input("Variants to draft", 1, 50, int(v.get("variants", 3)), key=k + "n")
        st.form_submit_button("Save brief", type="primary", on_click=_save_clicked, args=(d, existing, k, actor))


def _just_saved(d: Desk, briefs: list[Brief], writer: str | None) -> None:
    """The personal-data warning of the brief just saved, with its fix, above the tabs
    (until it is fixed or another brief is saved)."""
    brief = next((b for b in briefs if b.id == st.session_state.get(PII_KEY)), None)
    if brief is None or writer is None or not personal_data_fix(d, brief, writer, key=f"brief_redact_{brief.id}"):
        st.session_state.pop(PII_KEY, None)


def page() -> None:
    """Draw the Briefs page."""
    user = session.require_user()
    d = session.desk()
    st.title("Briefs")
    session.show_flashes()
    briefs = d.list_briefs()
    writer = user.name if session.allowed(user, "brief.write") else None
    _just_saved(d, briefs, writer)
    if writer is not None:
        list_tab, form_tab = st.tabs(["All briefs", "New or edit"])
        with list_tab:
            _list(d, briefs, writer)
        with form_tab:
            _form(d, briefs, user.name)
    else:
        _list(d, briefs, None)
        st.caption("Writing briefs needs the copywriter or admin role.")


if __name__ == "__main__":
    page()
