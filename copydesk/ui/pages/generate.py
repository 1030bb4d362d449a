"""Generate: draft variants for a brief with the LLM, see each draft (with its findings,
tokens/s and time) the moment it is done, cancel the rest while keeping the finished
ones, edit drafts in place and submit them for review.

The run itself lives in :mod:`copydesk.ui.generation_view` (a background thread); this
page starts it, draws it while it goes and shows its outcome.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from copydesk.errors import CopydeskError
from copydesk.llm.generate import GenerationOptions, Length
from copydesk.llm.privacy import describe
from copydesk.models import Brief, User
from copydesk.services import Desk, endpoints, generation
from copydesk.ui import generation_view, session, variant_view
from copydesk.ui.generation_view import DraftCard, LiveRun, RunState
from copydesk.ui.highlight import md_escape
from copydesk.vocab import Status
from copydesk.workspace import Workspace

WORKSPACE = "Workspace setting"
CUSTOM = "Another OpenAI-compatible endpoint"
SHOWN_DRAFTS = 20
#: Seconds between redraws while nothing changes (the elapsed time and pace move on).
POLL_SECONDS = 0.5
LAST_RUN_KEY = "generate_last_run"
LAST_IDS_KEY = "generate_last"

BADGES: dict[str, str] = {
    "ok": ":green-badge[ready to review]",
    "blocked": ":red-badge[open block findings]",
    "failed": ":red-badge[failed]",
    "skipped": ":gray-badge[not made]",
    "duplicate": ":gray-badge[near-duplicate, dropped]",
    "cancelled": ":gray-badge[cancelled]",
}


LENGTHS: dict[str, Length | None] = {"as the brief says": None, "short": "short", "medium": "medium",
                                      "long": "long"}


def _start(d: Desk, user: User, brief_id: str, n: int, base_url: str, model: str, *, redact_pii: bool,
           tone: str = "", length: Length | None = None, temperature: float | None = None) -> None:
    assert d.workspace is not None
    settings = endpoints.endpoint_settings(d.workspace, base_url=base_url, model=model, temperature=temperature)
    options = GenerationOptions.from_settings(settings, redact_pii=redact_pii, tone=tone, length=length)
    run = LiveRun(d.workspace, brief_id, actor=user.name, n=n, settings=settings, options=options)
    started = generation_view.start_run(run)
    if not started.new:
        session.flash("A run of yours is already going; it is shown below (cancel it to start another).", "info")


def _generate_clicked(d: Desk, user: User) -> None:
    # a callback, so the run has started before the page is drawn (Generate shows as
    # busy at once); the inputs are read from the session, which holds this click's values
    ss = st.session_state
    brief_id = str(ss.get("generate_brief", ""))
    custom = ss.get("generate_where") == CUSTOM
    try:
        _start(d, user, brief_id, int(ss.get(f"generate_n_{brief_id}", 1)),
               str(ss.get("generate_base_url", "")) if custom else "",
               str(ss.get("generate_model", "")) if custom else "",
               redact_pii=bool(ss.get(f"generate_redact_{brief_id}", False)),
               tone=str(ss.get("generate_tone", "") or ""),
               length=LENGTHS.get(str(ss.get("generate_length", ""))),
               temperature=float(ss["generate_temperature"]) if ss.get("generate_set_temperature") else None)
    except CopydeskError as exc:
        session.flash(str(exc), "error")


def _card(d: Desk, c: DraftCard) -> None:
    with st.container(border=True):
        st.markdown(md_escape(f"Draft {c.index}") + (f" · **{c.variant_id}**" if c.variant_id else "")
                    + f" · {BADGES.get(c.status, md_escape(c.status))}")
        st.caption(md_escape(c.facts()))
        if c.variant_id is None:
            st.caption(md_escape(c.error or c.status_text))
            return
        try:
            v = d.get_variant(c.variant_id)
        except CopydeskError as exc:
            st.caption(md_escape(str(exc)))
            return
        variant_view.show_revision(v.current)


def _draw(d: Desk, state: RunState) -> None:
    if not state.cards:
        st.caption("Each draft appears here the moment it is done.")
    for c in reversed(state.cards):  # newest first: it is the one to look at
        _card(d, c)


def _follow(d: Desk, ws: Workspace, user: User, run: LiveRun, where: Any) -> None:
    """Draw ``run`` in ``where`` until it ends, then show its outcome. A click anywhere
    (Cancel included) ends this script run; the next one comes back here."""
    state = run.state()
    with where:
        st.subheader(f"Drafting {run.n} variant(s) of {run.brief_id}")
        st.button("Cancelling…" if state.cancelled else "Cancel", key="generate_cancel",
                  disabled=state.cancelled is not None or state.done,
                  on_click=generation_view.cancel_run, args=(ws, user.name),
                  help="Stops the drafts not finished yet; the finished ones stay saved as drafts.")
        bar = st.progress(0.0)
        cards = st.empty()
    version = -1
    while True:
        bar.progress(generation_view.progress_value(state), text=generation_view.progress_text(state))
        if state.version != version:
            version = state.version
            with cards.container():
                _draw(d, state)
        if state.done:
            break
        state = run.wait(version, POLL_SECONDS)
    generation_view.forget_run(run)
    st.session_state[LAST_RUN_KEY] = (state.brief_id, list(state.cards))
    st.session_state[LAST_IDS_KEY] = [c.variant_id for c in state.kept]
    for kind, message in generation_view.outcome_messages(state):
        session.flash(message, kind)
    st.rerun()


def _last_run(brief: Brief) -> None:
    held = st.session_state.get(LAST_RUN_KEY)
    if not held or held[0] != brief.id:
        return
    cards: list[DraftCard] = held[1]
    with st.expander(f"Last run: {len(cards)} draft(s)", expanded=True):
        for c in sorted(cards, key=lambda c: c.index):
            st.markdown(f"- {BADGES.get(c.status, md_escape(c.status))} "
                        + md_escape(f"draft {c.index}" + (f" · {c.variant_id}" if c.variant_id else "")
                                    + f" · {c.facts()}")
                        + (f" — {md_escape(c.error)}" if c.error else ""))


def _personal_data(d: Desk, brief: Brief) -> bool:
    """Whether generating may start, after warning about personal data in ``brief``
    (then only with *Send a redacted copy* ticked)."""
    try:
        found = d.personal_data_in(brief)
    except CopydeskError as exc:  # generation would stop on the same error
        st.error(md_escape(str(exc)))
        return False
    if not found:
        return True
    st.warning(md_escape(f"This brief contains personal data: {describe(found)}. Nothing is sent to the "
                         "model as it is. Fix it on the Briefs page (All briefs → this brief → "
                         "'Replace with a redacted version'), or send a redacted copy this time:"))
    return st.checkbox("Send a redacted copy (each span replaced by [REDACTED: pii])",
                       key=f"generate_redact_{brief.id}")


def page() -> None:
    """Draw the Generate page."""
    user = session.require_user()
    d = session.desk()
    st.title("Generate")
    session.show_flashes()
    if not session.allowed(user, "variant.write"):
        st.info("Generating drafts needs the copywriter role.")
        return
    assert d.workspace is not None
    ws = d.workspace
    run = generation_view.current_run(ws, user.name)
    briefs = d.list_briefs()
    if not briefs and run is None:
        st.info("No briefs yet: write one on the Briefs page first.")
        return
    live = st.container()  # the run in progress, drawn last (it waits for the model)
    if briefs:
        _controls(d, user, briefs, busy=run is not None)
        run = generation_view.current_run(ws, user.name)
    if run is not None:
        _follow(d, ws, user, run, live)


def _controls(d: Desk, user: User, briefs: list[Brief], *, busy: bool) -> None:
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
            st.error(md_escape(str(exc)))
            return
        if where == CUSTOM:  # read by _generate_clicked from the session, like the rest
            st.text_input("Base URL", key="generate_base_url", placeholder="http://127.0.0.1:11434/v1")
            st.text_input("Model", key="generate_model", placeholder="e.g. llama3.2")
    c2.number_input("Variants", 1, 50, brief.variants, key=f"generate_n_{brief.id}")
    with st.expander("Tone, length and temperature"):
        t1, t2 = st.columns(2)
        t1.text_input("Tone", key="generate_tone", placeholder="e.g. warmer, more playful",
                      help="Added to the brief's tone notes for this run; recorded in each draft's provenance.")
        t2.selectbox("Length", list(LENGTHS), key="generate_length")
        st.checkbox("Set the temperature for this run", key="generate_set_temperature")
        st.slider("Temperature", 0.0, 1.5, 0.7, 0.1, key="generate_temperature",
                  help="Lower is more predictable; reasoning models ignore it.")
    may = _personal_data(d, brief)
    why = ("a run of yours is going: wait for it or cancel it" if busy
           else "" if may else "the brief holds personal data: fix it or tick 'Send a redacted copy'")
    st.button("Generate drafts", type="primary", key="generate_go", disabled=busy or not may,
              on_click=_generate_clicked, args=(d, user),
              help=why or "drafts appear one by one as they are done; Cancel keeps the finished ones")
    if why and busy:
        st.caption(md_escape(why))
    _last_run(brief)
    _drafts(d, user, brief)


def _regenerate(d: Desk, user: User, variant_id: str) -> None:
    """Redo one of your own drafts following an instruction: its next revision."""
    with st.popover("Regenerate with an instruction"):
        text = st.text_input("Instruction", key=f"gen_regen_text_{variant_id}",
                             placeholder="e.g. shorter, warmer, mention the Boot Care Kit")
        if st.button("Regenerate", key=f"gen_regen_{variant_id}"):
            if not text.strip():
                st.warning("Say what to change first.")
                return
            try:
                with st.spinner("redrafting..."):
                    report = generation.regenerate(d, variant_id, actor=user.name, instruction=text)
            except CopydeskError as exc:
                st.error(md_escape(str(exc)))
                return
            if report.failures:
                st.error(md_escape(f"Not redone: {report.failures[0].error}"))
            else:
                session.flash(f"{variant_id} redrafted as its next revision.", "success")
                st.rerun()


def _drafts(d: Desk, user: User, brief: Brief) -> None:
    drafts = d.list_variants(brief_id=brief.id, status=Status.DRAFT.value)
    drafts += d.list_variants(brief_id=brief.id, status=Status.REJECTED.value)
    drafts.sort(key=lambda v: int(v.id[1:]), reverse=True)
    last = set(st.session_state.get(LAST_IDS_KEY, []))
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
            if v.status == Status.DRAFT and v.current.author == user.name:
                _regenerate(d, user, v.id)
            variant_view.edit_and_submit(d, v, user.name, prefix="gen")
    if len(drafts) > SHOWN_DRAFTS:
        st.caption(f"Showing the newest {SHOWN_DRAFTS} of {len(drafts)}; see the Library for the rest.")


if __name__ == "__main__":
    page()
