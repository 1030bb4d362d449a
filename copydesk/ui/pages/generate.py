"""Generate: draft variants for a brief with the LLM, see each with its findings as it
arrives, edit drafts in place and submit them for review."""

from __future__ import annotations

import streamlit as st

from copydesk.errors import CopydeskError
from copydesk.llm.factory import make_client
from copydesk.llm.generate import GenerationOptions
from copydesk.llm.privacy import describe
from copydesk.models import User
from copydesk.services import Desk, endpoints
from copydesk.services.generation import DraftRecord, generate_for_brief
from copydesk.ui import session, variant_view
from copydesk.ui.highlight import md_escape
from copydesk.vocab import Status

WORKSPACE = "Workspace setting"
CUSTOM = "Another OpenAI-compatible endpoint"
SHOWN_DRAFTS = 20


def _run(d: Desk, user: User, brief_id: str, n: int, base_url: str, model: str, *, redact_pii: bool = False) -> None:
    assert d.workspace is not None
    settings = endpoints.endpoint_settings(d.workspace, base_url=base_url, model=model)
    client = make_client(settings)
    bar = st.progress(0.0, text=f"drafting 0 of {n} with {endpoints.endpoint_label(settings)}")

    def on_progress(done: int, total: int, record: DraftRecord) -> None:
        vid = record.variant.id if record.variant else f"failed: {record.outcome.error}"
        bar.progress(done / total, text=f"{done} of {total} drafted (latest: {vid})")

    try:
        report = generate_for_brief(d, brief_id, actor=user.name, n=n, client=client, policy=d.policy,
                                    on_progress=on_progress,
                                    options=GenerationOptions.from_settings(settings, redact_pii=redact_pii))
    finally:
        client.close()
    st.session_state["generate_last"] = [v.id for v in report.variants]
    if report.variants:
        session.flash(f"{len(report.variants)} of {report.requested} draft(s) created in "
                      f"{report.elapsed:.1f}s with {report.model_label}.")
    if report.aborted:
        session.flash(f"Stopped early, {len(report.failures)} draft(s) not made: {report.aborted}", "error")
    else:
        for failure in sorted(report.failures, key=lambda o: o.index):
            session.flash(f"Draft {failure.index} {failure.status}: {failure.error}", "error")
    st.rerun()


def page() -> None:
    """Draw the Generate page."""
    user = session.require_user()
    d = session.desk()
    st.title("Generate")
    session.show_flashes()
    if not session.allowed(user, "variant.write"):
        st.info("Generating drafts needs the copywriter role.")
        return
    briefs = d.list_briefs()
    if not briefs:
        st.info("No briefs yet: write one on the Briefs page first.")
        return
    assert d.workspace is not None
    brief_id = st.selectbox("Brief", [b.id for b in briefs], key="generate_brief",
                            format_func=lambda i: f"{i} — {next(b.title for b in briefs if b.id == i)}")
    brief = next(b for b in briefs if b.id == brief_id)
    st.caption(f"{brief.channel.value} · {brief.stage.value} · segment {md_escape(brief.segment.name)} · "
               f"goal: {md_escape(brief.goal)}")
    c1, c2 = st.columns([2, 1])
    with c1:
        try:
            configured = endpoints.endpoint_settings(d.workspace)
            where = st.radio("Model", [WORKSPACE, CUSTOM], key="generate_where", horizontal=True,
                             captions=[endpoints.endpoint_label(configured), "base URL and model below; "
                                       "the key comes from OPENAI_API_KEY / COPYDESK_LLM_API_KEY"])
        except CopydeskError as exc:
            st.error(str(exc))
            return
        base_url = model = ""
        if where == CUSTOM:
            base_url = st.text_input("Base URL", key="generate_base_url", placeholder="http://127.0.0.1:11434/v1")
            model = st.text_input("Model", key="generate_model", placeholder="e.g. llama3.2")
    n = c2.number_input("Variants", 1, 50, brief.variants, key=f"generate_n_{brief.id}")
    redact = False
    try:
        found = d.personal_data_in(brief)
    except CopydeskError as exc:  # generation would stop on the same error
        st.error(md_escape(str(exc)))
        found = []
    if found:
        st.warning(md_escape(f"This brief contains personal data: {describe(found)}. Generation refuses "
                             "it; remove it on the Briefs page, or send a redacted copy."))
        redact = st.checkbox("Send a redacted copy (each span replaced by [REDACTED: pii])",
                             key=f"generate_redact_{brief.id}")
    if st.button("Generate drafts", type="primary", key="generate_go"):
        with session.errors_shown():
            _run(d, user, brief.id, int(n), base_url, model, redact_pii=redact)

    drafts = d.list_variants(brief_id=brief.id, status=Status.DRAFT.value)
    drafts += d.list_variants(brief_id=brief.id, status=Status.REJECTED.value)
    drafts.sort(key=lambda v: int(v.id[1:]), reverse=True)
    last = set(st.session_state.get("generate_last", []))
    st.subheader(f"Drafts of {brief.id}")
    if not drafts:
        st.info("No drafts or rejected variants for this brief.")
    for v in drafts[:SHOWN_DRAFTS]:
        with st.container(border=True):
            st.markdown(variant_view.header(v) + (" · :orange-badge[new]" if v.id in last else ""))
            if v.status == Status.REJECTED:
                review = next(iter(reversed(d.reviews(v.id))), None)
                if review:
                    st.warning(f"Rejected by {review.reviewer}: {md_escape(review.comment)}")
            variant_view.show_revision(v.current)
            prov = v.current.provenance
            if prov:
                st.caption(f"model {md_escape(str(prov.get('model_label') or prov.get('model')))} · "
                           f"attempts {prov.get('attempts', '?')} · repairs {prov.get('repair_rounds', 0)}")
            variant_view.edit_and_submit(d, v, user.name, prefix="gen")
    if len(drafts) > SHOWN_DRAFTS:
        st.caption(f"Showing the newest {SHOWN_DRAFTS} of {len(drafts)}; see the Library for the rest.")


if __name__ == "__main__":
    page()
