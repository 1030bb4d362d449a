"""Drawing one variant: its text with findings highlighted, the findings, the waivers,
and the copywriter's edit-and-submit form. Shared by Generate, Review and Library."""

from __future__ import annotations

import streamlit as st

from copydesk.models import Finding, Revision, Variant
from copydesk.services import Desk
from copydesk.services.reviews import waiver_refusal
from copydesk.services.variants import open_blocks
from copydesk.ui import session
from copydesk.ui.highlight import fields_html, finding_lines, md_escape, waived_keys
from copydesk.vocab import REQUIRED_FIELDS, Status, channel_fields

STATUS_BADGES = {
    Status.DRAFT: ":gray-badge[draft]",
    Status.IN_REVIEW: ":blue-badge[in review]",
    Status.APPROVED: ":green-badge[approved]",
    Status.REJECTED: ":red-badge[rejected]",
    Status.RETIRED: ":violet-badge[retired]",
}


def header(v: Variant) -> str:
    """``**V12** · revision 2 · :blue-badge[in review]`` (Markdown)."""
    return f"**{v.id}** · revision {v.current.number} · {STATUS_BADGES[v.status]}"


def show_revision(rev: Revision, *, findings: bool = True) -> None:
    """The revision's fields with findings highlighted, then the findings and waivers."""
    waived = waived_keys(rev.waivers)
    st.markdown(fields_html(rev.content.fields, rev.findings, waived), unsafe_allow_html=True)
    if not findings:
        return
    if rev.findings:
        blocks = len(open_blocks(rev))
        label = f"{len(rev.findings)} finding(s)" + (f", {blocks} open block" if blocks else "")
        with st.expander(label, expanded=bool(blocks)):
            for line in finding_lines(rev.findings, waived):
                st.markdown(f"- {line}")
    else:
        st.caption("No guardrail findings.")
    for w in rev.waivers:
        st.caption(f"Waived `{w.rule_id}` on {w.field} by {w.by}: {md_escape(w.reason)}")


def _save_edit(d: Desk, variant_id: str, shown: int, key: str, fields: tuple[str, ...], actor: str) -> None:
    values = {name: st.session_state.get(f"{key}-{name}", "") for name in fields}
    session.run_action(f"{variant_id}: saved as a new revision (re-checked by the guardrails).",
                       d.edit_variant, variant_id, values, actor=actor, expected_revision=shown)


def _submit(d: Desk, variant_id: str, shown: int, actor: str) -> None:
    session.run_action(f"{variant_id} submitted for review.", d.submit, variant_id, actor=actor,
                       expected_revision=shown)


def edit_and_submit(d: Desk, v: Variant, actor: str, *, prefix: str) -> None:
    """For a draft or rejected variant: edit in place (a new revision) and submit.

    Both pass the revision shown, so a change made meanwhile is refused as stale."""
    if v.status not in (Status.DRAFT, Status.REJECTED):
        return
    shown = v.current.number
    key = f"{prefix}-edit-{v.id}-{shown}"
    fields = channel_fields(v.channel)
    with st.expander("Edit this draft"), st.form(key):
        for name in fields:
            value = v.current.content.fields.get(name, "")
            label = name + (" *" if name in REQUIRED_FIELDS[v.channel] else "")
            if name == "body" or len(value) > 80:
                st.text_area(label, value, key=f"{key}-{name}")
            else:
                st.text_input(label, value, key=f"{key}-{name}")
        st.form_submit_button("Save as new revision", on_click=_save_edit,
                              args=(d, v.id, shown, key, fields, actor))
    blocks = open_blocks(v.current)
    if blocks:
        _waiver_request(d, v, actor, prefix=prefix, blocks=blocks)
        return
    st.button("Submit for review", key=f"{prefix}-submit-{v.id}-{shown}", type="primary",
              on_click=_submit, args=(d, v.id, shown, actor))


def request_groups(blocks: list[Finding]) -> dict[str, list[Finding]]:
    """Open block findings grouped as a waiver request names them: ``rule@field``."""
    out: dict[str, list[Finding]] = {}
    for f in blocks:
        out.setdefault(f"{f.rule_id}@{f.field}", []).append(f)
    return out


def _submit_request(d: Desk, variant_id: str, shown: int, key: str, names: tuple[str, ...], actor: str) -> None:
    request = {name: st.session_state.get(f"{key}-why-{i}", "") for i, name in enumerate(names)}
    session.run_action(f"{variant_id} submitted for review with a waiver request.", d.submit, variant_id,
                       actor=actor, expected_revision=shown, waiver_request=request)


def _waiver_request(d: Desk, v: Variant, actor: str, *, prefix: str, blocks: list[Finding]) -> None:
    """Instead of a refused submit: the open block findings, and a form to submit them as
    a waiver request with a reason each (findings that may not be waived are named)."""
    shown = v.current.number
    groups = request_groups(blocks)
    refused = {name: why for name, fs in groups.items() if (why := waiver_refusal(fs[0]))}
    st.warning(f"{len(blocks)} open block finding(s): fix the text, or submit with a waiver request "
               "for a reviewer to decide.")
    if refused:
        for name, why in refused.items():
            st.error(f"`{md_escape(name)}` cannot be waived: {md_escape(why)}. Edit the text.")
        return
    key = f"{prefix}-wr-{v.id}-{shown}"
    names = tuple(groups)
    with st.expander("Submit with a waiver request", expanded=True), st.form(key):
        for i, name in enumerate(names):
            matches = ", ".join(f"'{f.match}'" for f in groups[name])
            st.text_area(f"Why {matches} ({name.replace('@', ' on ')}) is a false positive *",
                         key=f"{key}-why-{i}", height=68)
        st.form_submit_button("Submit with a waiver request", type="primary", on_click=_submit_request,
                              args=(d, v.id, shown, key, names, actor))
