"""Campaigns: edit and validate a campaign file, preview the decision and message for
one contact, dry-run an uploaded audience, and see the campaign's results."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from copydesk.errors import CopydeskError, InputError, NotFoundError
from copydesk.rules.decide import Outcome
from copydesk.rules.explain import explain_dict, headline
from copydesk.services import Desk
from copydesk.services import campaigns as svc
from copydesk.services import validation_report as vr
from copydesk.ui import campaign_form as cform
from copydesk.ui import campaign_tools as ct
from copydesk.ui import session
from copydesk.ui.filters import contact_label, parse_contact_fields
from copydesk.ui.highlight import md_escape
from copydesk.ui.messages import error_text, relative_name
from copydesk.ui.results import results_view
from copydesk.vocab import Channel
from copydesk.workspace import Workspace
from copydesk.yamlio import parse_yaml

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


HELP = ("A campaign says who gets a message and which approved variant: `channel` and `template`; "
        "`holdout` (share kept back to measure lift, e.g. 0.05); `suppress` rules (who gets nothing); "
        "`select` rules, first match wins, each sending the approved variants of a `brief` or listed `ids`; "
        "a `fallback` for everyone else; an optional `frequency_cap`. Errors below name the line and field.")


def _form(choice: str, text: str, text_key: str) -> None:
    """The form editor for the common cases; *Apply to the YAML* rewrites the YAML (drawn
    after this, so it can be set in this run) from the form."""
    try:
        data = parse_yaml(text, "campaign")
    except InputError:
        data = None
    if not isinstance(data, dict):
        st.info("The form needs YAML it can read: fix the YAML first (its errors are listed below).")
        return
    k = f"cf_{choice}_{hashlib.sha256(text.encode()).hexdigest()[:10]}_"  # a new YAML starts the form again
    v = cform.settings_of(data)
    channels = [c.value for c in Channel]
    with st.form(f"camp_form_{choice}"):
        c1, c2 = st.columns(2)
        settings: dict[str, Any] = {
            "id": c1.text_input("Campaign id", v["id"], key=k + "id"),
            "channel": c2.selectbox("Channel", channels, channels.index(v["channel"]) if v["channel"] in channels
                                    else 0, key=k + "channel"),
            "template": c1.text_input("Template", v["template"], key=k + "template", help="e.g. email/default"),
            "holdout": c2.number_input("Holdout share", 0.0, 0.99, min(max(v["holdout"], 0.0), 0.99), 0.01,
                                       key=k + "holdout", help="kept back, never messaged, to measure lift"),
            "cap_max": c1.number_input("Frequency cap: at most (0 = no cap)", 0, 100, max(v["cap_max"], 0),
                                       key=k + "cap_max"),
            "cap_days": c2.number_input("messages per days", 1, 365, max(v["cap_days"], 1), key=k + "cap_days"),
            "description": st.text_input("Description", v["description"], key=k + "description"),
        }
        ops = st.column_config.SelectboxColumn("operator", options=list(cform.OPERATOR_CHOICES), required=True)
        st.markdown("**Suppress** (any match gets no message)")
        suppress = st.data_editor(pd.DataFrame(cform.rule_rows(data.get("suppress"), select=False),
                                               columns=["id", "field", "operator", "value"]),
                                  num_rows="dynamic", hide_index=True, width="stretch", key=k + "suppress",
                                  column_config={"operator": ops})
        st.markdown("**Select** (first match wins; each sends the approved variants of a brief)")
        select = st.data_editor(pd.DataFrame(cform.rule_rows(data.get("select"), select=True),
                                             columns=["id", "field", "operator", "value", "brief"]),
                                num_rows="dynamic", hide_index=True, width="stretch", key=k + "select",
                                column_config={"operator": ops})
        settings["fallback"] = st.text_input("Fallback brief (everyone no rule matched; empty: none)",
                                             v["fallback"], key=k + "fallback")
        applied = st.form_submit_button("Apply to the YAML", type="primary")
    if applied:
        new = cform.apply_form(data, settings, suppress.fillna("").to_dict("records"),
                               select.fillna("").to_dict("records"))
        st.session_state[text_key] = cform.to_yaml(new)


def _editor(ws: Workspace) -> tuple[str, Path | None, bool]:
    files = svc.campaign_files(ws)
    names = [p.name for p in files]
    choice = st.selectbox("Campaign file", [*names, NEW], key="camp_file")
    path = ws.campaigns_dir / choice if choice != NEW else None
    original = path.read_text(encoding="utf-8") if path is not None else NEW_TEMPLATE
    key = f"camp_text_{choice}"
    if key not in st.session_state:
        st.session_state[key] = original
    if st.toggle("Edit with a form (common cases; writes the YAML beside it, without its comments)",
                 key="camp_use_form"):
        form_col, yaml_col = st.columns(2)
        with form_col:
            _form(choice, str(st.session_state[key]), key)
        with yaml_col:
            text = st.text_area("Campaign (YAML)", height=720, key=key, help=HELP)
    else:
        text = st.text_area("Campaign (YAML)", height=360, key=key, help=HELP)
    return text, path, text != original or path is None


def _save(ws: Workspace, check: svc.CampaignCheck, text: str, path: Path | None) -> None:
    new = path is None
    target = path if path is not None else ws.campaigns_dir / f"{check.campaign.id}.yaml"
    if new and target.exists():
        raise InputError(f"{target.name} exists already: pick it in the list to edit it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    session.flash(f"Saved {target.name}.")


def _validate(d: Desk, ws: Workspace, text: str, path: Path | None, *,
              can_save: bool) -> svc.CampaignCheck | None:
    name = relative_name(path, ws.root) if path is not None else "new campaign"
    problems = vr.campaign_errors(text, name)
    if problems:
        st.error(f"**{len(problems)} problem(s) in {md_escape(name)}** — fix them all, then save:\n\n"
                 + "\n".join(f"- {md_escape(str(p))}" for p in problems))
        return None
    try:
        check = svc.validate(d, svc.campaign_from_text(text, name))
    except CopydeskError as exc:
        st.error(md_escape(error_text(exc, ws.root)))
        return None
    c = check.campaign
    st.success(f"Valid: campaign **{c.id}** ({c.channel.value}), template {c.template} "
               f"({', '.join(check.parts)}), holdout {c.holdout:.0%}")
    st.dataframe(pd.DataFrame([r.as_row() for r in check.rules]), hide_index=True, width="stretch")
    for vid, reason in check.unrenderable.items():
        st.error(f"{vid} cannot be rendered, every contact it is chosen for would be rejected: "
                 f"{md_escape(error_text(CopydeskError(reason), ws.root))}")
    if check.empty_rules:
        st.warning("Some rules have no approved variant today: their contacts fall back or get no message.")
    if can_save and st.button("Save campaign file", key="camp_save"):
        with session.errors_shown():
            _save(ws, check, text, path)
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
        st.error(md_escape(error_text(exc, ws.root)))
        return None


def _preview(d: Desk, ws: Workspace, check: svc.CampaignCheck) -> None:
    contact = _contact(ws)
    if contact is None:
        return
    try:
        result = svc.preview(d, check.file, contact)
    except CopydeskError as exc:
        st.error(md_escape(error_text(exc, ws.root)))
        return
    outcome = result.decision.outcome
    (st.success if outcome is Outcome.SELECTED else st.warning)(f"**{outcome.value}** — {headline(result.decision)}")
    st.markdown("**Trace** (every rule evaluated, in order)")
    st.dataframe(pd.DataFrame(ct.trace_rows(result.decision)), hide_index=True, width="stretch")
    if result.render_error:
        st.error(f"Rendering failed, this contact would go to the rejects file: {result.render_error}")
    if result.rendered:
        st.markdown("**Message as it will be sent**")
        inbox = ct.inbox_header(result.rendered)
        if inbox is not None:
            with st.container(border=True, key="camp_inbox"):
                st.markdown(inbox)
        for part, value in result.rendered.items():
            if part == "rendered_html":
                st.iframe(ct.sandboxed_frame(value), height=640)
            elif part == "rendered_json":
                st.code(value, language="json")
            elif part.startswith("rendered_"):
                st.code(value, language=None, wrap_lines=True)
    # the machine-readable decision is a file to hand on, not text on a marketer's screen
    st.download_button("Download this decision (JSON)", key="camp_decision_json", mime="application/json",
                       data=json.dumps(explain_dict(result.decision), indent=2, ensure_ascii=False, default=str),
                       file_name=f"decision-{result.decision.contact_id}.json")


def _dry_run(d: Desk, ws: Workspace, check: svc.CampaignCheck) -> None:
    st.caption("Decide and render the whole audience without recording any send.")
    upload = st.file_uploader("Audience (CSV or JSONL with a contact_id column)", type=["csv", "jsonl", "ndjson"],
                              key="camp_upload")
    if upload is not None and st.button("Dry run", type="primary", key="camp_dry_run"):
        try:
            st.session_state["camp_dry"] = svc.dry_run(d, check.file, upload.getvalue(), upload.name)
        except CopydeskError as exc:
            st.error(md_escape(error_text(exc, ws.root)))
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


def _problems_table(problems: list[dict[str, object]]) -> None:
    st.dataframe(pd.DataFrame(problems), hide_index=True, width="stretch",
                 column_config={"problem": st.column_config.TextColumn(width="large")})


def _imports(d: Desk, actor: str) -> None:
    """Record what was sent and import what happened, by upload (``sends record`` and
    ``outcomes import`` with the same checks), each bad row listed."""
    st.markdown("#### Import what was sent and what happened")
    sends_col, outcomes_col = st.columns(2)
    with sends_col:
        st.markdown("**1. What was sent** — the messages file of the send (dry run or render download)")
        up = st.file_uploader("Messages file (CSV or JSONL)", type=["csv", "jsonl", "ndjson"], key="camp_sends_upload")
        if up is not None and st.button("Record these sends", type="primary", key="camp_sends_record"):
            try:
                done, problems = vr.record_uploaded_sends(d, up.getvalue(), up.name, actor=actor)
            except CopydeskError as exc:
                st.error(md_escape(str(exc)))
            else:
                if done is None:
                    st.error(f"{len(problems)} row(s) of {md_escape(up.name)} cannot be recorded, so nothing was "
                             "recorded (a half-recorded send would break frequency caps). Fix them and upload again:")
                    _problems_table(ct.problem_rows(problems))
                else:
                    st.success(ct.sends_sentence(done))
    with outcomes_col:
        st.markdown("**2. What happened** — opens, clicks, conversions, revenue from the sending platform")
        up = st.file_uploader("Outcomes file (CSV or JSONL)", type=["csv", "jsonl", "ndjson"],
                              key="camp_outcomes_upload")
        if up is not None and st.button("Import these outcomes", type="primary", key="camp_outcomes_import"):
            try:
                result = vr.import_uploaded_outcomes(d, up.getvalue(), up.name, actor=actor)
            except CopydeskError as exc:
                st.error(md_escape(str(exc)))
            else:
                st.success(ct.outcomes_sentence(result))
                if result.rejects:
                    st.warning(f"{len(result.rejects)} row(s) were not imported (the others were):")
                    _problems_table(ct.reject_rows(result.rejects))


def _results(d: Desk, ws: Workspace, check: svc.CampaignCheck) -> None:
    try:
        report = svc.report(d, check.campaign.id)
    except NotFoundError:
        st.info("No results yet: record what was sent and import the outcomes above to measure the campaign.")
    except CopydeskError as exc:
        st.error(md_escape(error_text(exc, ws.root)))
    else:
        results_view(report)


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
            _imports(d, user.name)
            _results(d, ws, check)


if __name__ == "__main__":
    page()
