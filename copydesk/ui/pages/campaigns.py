"""Campaigns: edit and validate a campaign file, preview the decision and message for
one contact, dry-run an uploaded audience, and see the campaign's results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from copydesk.errors import CopydeskError, InputError, NotFoundError
from copydesk.rules.decide import Outcome
from copydesk.rules.explain import explain_dict, headline
from copydesk.services import Desk
from copydesk.services import campaigns as svc
from copydesk.ui import campaign_tools as ct
from copydesk.ui import session
from copydesk.ui.filters import contact_label, parse_contact_fields
from copydesk.ui.results import results_view
from copydesk.workspace import Workspace

NEW = "(new campaign)"
NEW_TEMPLATE = """id: my-campaign
channel: email
template: email/default
holdout: 0.05
select:
  - id: everyone
    variants: {brief: spring-generic}
"""
TYPED = "Type the fields"
SAMPLE = "A contact from a sample audience"


def _editor(ws: Workspace) -> tuple[str, str, bool]:
    files = svc.campaign_files(ws)
    names = [p.name for p in files]
    choice = st.selectbox("Campaign file", [*names, NEW], key="camp_file")
    path = ws.campaigns_dir / choice if choice != NEW else None
    original = path.read_text(encoding="utf-8") if path is not None else NEW_TEMPLATE
    label = "YAML (format: docs/reference/campaigns.md)"
    text = st.text_area(label, original, height=360, key=f"camp_text_{choice}")
    return text, (str(path) if path is not None else "new campaign"), text != original or path is None


def _save(ws: Workspace, check: svc.CampaignCheck, text: str, source: str) -> None:
    path = Path(source) if source != "new campaign" else ws.campaigns_dir / f"{check.campaign.id}.yaml"
    if source == "new campaign" and path.exists():
        raise InputError(f"{path.name} exists already: pick it in the list to edit it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    session.flash(f"Saved {path.name}.")


def _validate(d: Desk, ws: Workspace, text: str, source: str, *, can_save: bool) -> svc.CampaignCheck | None:
    try:
        check = svc.validate(d, svc.campaign_from_text(text, source))
    except CopydeskError as exc:
        st.error(str(exc))
        return None
    c = check.campaign
    st.success(f"Valid: campaign **{c.id}** ({c.channel.value}), template {c.template} "
               f"({', '.join(check.parts)}), holdout {c.holdout:.0%}")
    st.dataframe(pd.DataFrame([r.as_row() for r in check.rules]), hide_index=True, width="stretch")
    for vid, reason in check.unrenderable.items():
        st.error(f"{vid} cannot be rendered, every contact it is chosen for would be rejected: {reason}")
    if check.empty_rules:
        st.warning("Some rules have no approved variant today: their contacts fall back or get no message.")
    if can_save and st.button("Save campaign file", key="camp_save"):
        with session.errors_shown():
            _save(ws, check, text, source)
            st.rerun()
    return check


def _contact(ws: Workspace) -> dict | None:  # type: ignore[type-arg]
    how = st.radio("Contact", [SAMPLE, TYPED], horizontal=True, key="camp_contact_how")
    if how == SAMPLE:
        audiences = svc.audience_files(ws)
        if not audiences:
            st.info("No sample audience in audiences/: type the fields instead.")
            return None
        name = st.selectbox("Audience", [p.name for p in audiences], key="camp_audience")
        contacts, rejects = svc.load_contacts(ws.audiences_dir / name)
        if rejects:
            st.caption(f"{len(rejects)} row(s) of {name} could not be read (first: row {rejects[0].row}: "
                       f"{rejects[0].reason})")
        if not contacts:
            st.warning(f"{name} has no readable contacts.")
            return None
        labels = [contact_label(c) for c in contacts]
        index = st.selectbox("Contact", range(len(contacts)), format_func=lambda i: labels[i], key="camp_contact")
        return contacts[index or 0]
    typed = st.text_area("Fields (one 'name = value' per line, or a JSON object)",
                         "contact_id = X1\nfirst_name = Sam\nlifecycle_stage = onboarding\nconsent_email = true",
                         key="camp_typed")
    try:
        return parse_contact_fields(typed)
    except CopydeskError as exc:
        st.error(str(exc))
        return None


def _preview(d: Desk, ws: Workspace, check: svc.CampaignCheck) -> None:
    contact = _contact(ws)
    if contact is None:
        return
    try:
        result = svc.preview(d, check.file, contact)
    except CopydeskError as exc:
        st.error(str(exc))
        return
    outcome = result.decision.outcome
    (st.success if outcome is Outcome.SELECTED else st.warning)(f"**{outcome.value}** — {headline(result.decision)}")
    st.markdown("**Trace** (every rule evaluated, in order)")
    st.dataframe(pd.DataFrame(ct.trace_rows(result.decision)), hide_index=True, width="stretch")
    if result.render_error:
        st.error(f"Rendering failed, this contact would go to the rejects file: {result.render_error}")
    if result.rendered:
        st.markdown("**Message as it will be sent**")
        for part, value in result.rendered.items():
            if part == "rendered_html":
                st.iframe(ct.sandboxed_frame(value), height=640)
            elif part == "rendered_json":
                st.code(value, language="json")
            elif part.startswith("rendered_"):
                st.code(value, language=None, wrap_lines=True)
    with st.expander("Decision as JSON"):
        st.code(json.dumps(explain_dict(result.decision), indent=2, ensure_ascii=False, default=str), language="json")


def _dry_run(d: Desk, ws: Workspace, check: svc.CampaignCheck) -> None:
    st.caption("Decide and render the whole audience without recording any send.")
    upload = st.file_uploader("Audience (CSV or JSONL with a contact_id column)", type=["csv", "jsonl", "ndjson"],
                              key="camp_upload")
    if upload is not None and st.button("Dry run", type="primary", key="camp_dry_run"):
        try:
            st.session_state["camp_dry"] = svc.dry_run(d, check.file, upload.getvalue(), upload.name)
        except CopydeskError as exc:
            st.error(str(exc))
            return
    run: svc.DryRun | None = st.session_state.get("camp_dry")
    if run is None:
        return
    s = run.summary
    counts = ct.outcome_counts(s)
    cols = st.columns(len(counts) + 1)
    cols[0].metric("contacts", f"{s.total:,}")
    for col, (label, n) in zip(cols[1:], counts, strict=True):
        col.metric(label, f"{n:,}")
    st.caption(ct.counts_sentence(s))
    for a in run.allocations:
        st.caption(f"{a.rule_id}: {a.describe()}" + (f" ({a.note})" if a.note else ""))
    chart = ct.outcome_chart(s)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.download_button("Download rendered messages (CSV)", run.messages, file_name=run.file_name, mime="text/csv",
                       key="camp_dl_messages")
    if s.rejected:
        st.download_button("Download rejected rows (CSV)", run.rejects, file_name="rejects.csv", mime="text/csv",
                           key="camp_dl_rejects")


def page() -> None:
    """Draw the Campaigns page."""
    user = session.require_user()
    d = session.desk()
    st.title("Campaigns")
    session.show_flashes()
    if not session.allowed(user, "campaign.run"):
        st.info("Campaigns need the marketer or admin role.")
        return
    assert d.workspace is not None
    ws = d.workspace
    edit, preview, dry, results = st.tabs(["Campaign file", "Preview", "Dry run", "Results"])
    with edit:
        text, source, changed = _editor(ws)
        check = _validate(d, ws, text, source, can_save=changed)
    for tab, draw in ((preview, _preview), (dry, _dry_run)):
        with tab:
            if check is None:
                st.info("Fix the campaign file first (see the Campaign file tab).")
            else:
                draw(d, ws, check)
    with results:
        if check is None:
            st.info("Fix the campaign file first (see the Campaign file tab).")
        else:
            try:
                report = svc.report(d, check.campaign.id)
            except NotFoundError as exc:
                st.info(f"No results yet: {exc}. Record the sends ('copydesk sends record') and import "
                        "outcomes ('copydesk outcomes import') to measure the campaign.")
            except CopydeskError as exc:
                st.error(str(exc))
            else:
                results_view(report)


if __name__ == "__main__":
    page()
