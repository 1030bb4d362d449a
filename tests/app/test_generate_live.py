"""Live generation on the Generate page: each draft shown when done (status, findings,
tokens/s, time), progress per draft, Cancel that keeps finished drafts; and personal
data in a brief flagged when it is saved, with a one-click redacted version."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copydesk.llm.client import Usage
from copydesk.llm.generate import DraftOutcome, GenerationOptions
from copydesk.models import Finding
from copydesk.services import Desk, endpoints
from copydesk.services.generation import DraftRecord
from copydesk.ui import generation_view
from copydesk.ui.generation_view import DraftCard, LiveRun, RunState
from copydesk.ui.pages.briefs import save_redacted_version
from copydesk.vocab import Category, Severity
from copydesk.workspace import Workspace
from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, running_app
from tests.app.conftest import RUN_TIMEOUT, open_page, texts
from tests.conftest import PASSWORD
from tests.fake_openai import ANGLES, FakeOpenAI, Received, Reply

BRIEF = "boots-onboarding"
PHONE = "07700 900123"


@pytest.fixture
def gate(fake_llm: FakeOpenAI) -> Iterator[threading.Event]:
    """Requests after the queued replies wait for this gate (released at teardown), so
    a test decides which drafts finish and which are still with the model."""
    opened = threading.Event()

    def held(request: Received) -> Reply:
        opened.wait(RUN_TIMEOUT)  # a hang guard only: teardown opens it
        return clean_draft(len(fake_llm.requests))

    fake_llm.default = held
    yield opened
    opened.set()


def _live_run(ws: Workspace, n: int, actor: str = "ana") -> LiveRun:
    settings = endpoints.endpoint_settings(ws)
    return LiveRun(ws, BRIEF, actor=actor, n=n, settings=settings,
                   options=GenerationOptions.from_settings(settings))


def clean_draft(number: int) -> Reply:
    """An e-mail draft for the onboarding brief that no block rule trips (one request,
    no repair), with a different closing line per ``number``."""
    return Reply(content=json.dumps({
        "subject": "Care for your new boots", "preheader": "Three habits that help",
        "body": f"Clean them after each walk and let them dry slowly. {ANGLES[number % len(ANGLES)]}",
        "cta": "Read the guide", "rationale": "care first"}))


def _fast() -> Reply:
    return clean_draft(5)


# -- plain functions ----------------------------------------------------------------------

def _finding(severity: Severity, rule: str) -> Finding:
    return Finding(rule_id=rule, category=Category.CLAIMS, severity=severity, field="body",
                   start=0, end=4, match="Best", message="m")


def test_card_reports_status_findings_tokens_per_second_and_time() -> None:
    outcome = DraftOutcome(index=2, status="blocked", usage=Usage(40, 30), latency=2.0, attempts=3,
                           findings=[_finding(Severity.BLOCK, "claims.superlative"),
                                     _finding(Severity.WARN, "tone.caps")])
    c = generation_view.card(DraftRecord(outcome), 5.25)
    assert c.tokens_per_second == 15.0
    assert c.line() == ("draft 2 · saved with open block findings · 15.0 tokens/s · "
                        "2.0 s model time, 3 call(s) · done at 5.2 s")
    assert generation_view.findings_summary(outcome.findings) == (
        "2 finding(s): 1 block (claims.superlative), 1 warn")
    silent = generation_view.card(DraftRecord(DraftOutcome(index=1, status="failed", error="x")), 1.0)
    assert silent.tokens_per_second is None and "· no tokens back ·" in silent.line()


def test_a_draft_not_made_because_of_cancel_is_called_cancelled() -> None:
    outcome = DraftOutcome(index=3, status="skipped", error="not attempted: the run stopped (cancelled by ana)")
    assert generation_view.card(DraftRecord(outcome), 1.0, cancelled="cancelled by ana").status == "cancelled"
    assert generation_view.card(DraftRecord(outcome), 1.0).status == "skipped"


def _state(finished: int, **kw: object) -> RunState:
    cards = tuple(DraftCard(index=i + 1, status="ok", variant_id=f"V{i + 1}", findings="no findings",
                            blocks=0, completion_tokens=30, model_seconds=1.0, finished_at=10.0 * (i + 1),
                            attempts=1) for i in range(finished))
    return RunState(brief_id=BRIEF, requested=4, model_label="m", elapsed=10.0 * max(finished, 1) + 1,
                    cards=cards, **kw)  # type: ignore[arg-type]


def test_progress_moves_per_finished_draft_with_an_estimate() -> None:
    before, after = _state(0, calls_started=4), _state(1, calls_started=4, calls_answered=1, completion_tokens=30)
    assert generation_view.progress_value(before) == 0.0 and generation_view.progress_value(after) == 0.25
    assert generation_view.progress_text(before).startswith("0 of 4 draft(s) done · 11 s · "
                                                            "model calls: 0 answered, 4 waiting")
    assert before.estimate_left is None
    assert after.estimate_left == pytest.approx(33.0)
    assert "1 of 4 draft(s) done" in generation_view.progress_text(after)
    assert "about 33 s left" in generation_view.progress_text(after)


def test_outcome_messages_after_cancel_count_kept_and_not_made() -> None:
    state = _state(1, done=True, cancelled="cancelled by ana", aborted="cancelled by ana")
    assert generation_view.outcome_messages(state) == [
        ("warning", "Generation cancelled by ana: 1 finished draft(s) kept, 3 not made.")]


# -- a run against the fake server --------------------------------------------------------

def test_each_draft_is_saved_and_reported_when_done_and_cancel_keeps_it(
    team_desk: Desk, app_ws: Workspace, fake_llm: FakeOpenAI, gate: threading.Event
) -> None:
    fake_llm.enqueue(_fast())  # one draft answers at once; the other two wait at the gate
    run = _live_run(app_ws, 3).start()
    first = run.wait_until(lambda s: s.finished >= 1, RUN_TIMEOUT)
    assert not first.done and first.finished == 1
    (card,) = first.cards
    assert card.status == "ok" and card.variant_id is not None, card
    assert card.tokens_per_second is not None and card.completion_tokens == 30
    # saved the moment it was done, while the others are still with the model
    assert [v.id for v in team_desk.list_variants(brief_id=BRIEF)] == [card.variant_id]
    assert first.calls_started == 3 and first.calls_answered == 1

    run.cancel("ana")
    run.join(RUN_TIMEOUT)
    end = run.state()
    assert end.done and end.cancelled == "cancelled by ana" and end.error is None
    assert [c.variant_id for c in end.kept] == [card.variant_id]
    assert sorted(c.status for c in end.cards if c.variant_id is None) == ["cancelled", "cancelled"]
    assert [v.id for v in team_desk.list_variants(brief_id=BRIEF)] == [card.variant_id]
    assert len(fake_llm.chat_requests()) == 3  # nothing was asked after the cancel


def test_a_priced_model_shows_each_drafts_cost_and_the_runs(
    team_desk: Desk, app_ws: Workspace, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPYDESK_LLM_PRICES", json.dumps({"fake-model": {"input": 1.0, "output": 2.0}}))
    fake_llm.default = lambda request: clean_draft(len(fake_llm.requests))
    run = _live_run(app_ws, 2).start()
    run.join(RUN_TIMEOUT)
    end = run.state()
    # 40 prompt and 30 completion tokens a call: (40 × 1 + 30 × 2) / 1M
    assert [c.cost for c in end.cards] == [0.0001, 0.0001]
    assert all("· cost 0.0001 ·" in c.line() for c in end.cards)
    assert end.cost == pytest.approx(0.0002)
    (kind, text), = generation_view.outcome_messages(end)
    assert kind == "success" and text.endswith("with fake-model (openai) (cost 0.0002).")


def test_one_run_per_user_at_a_time(
    team_desk: Desk, app_ws: Workspace, fake_llm: FakeOpenAI, gate: threading.Event
) -> None:
    first = generation_view.start_run(_live_run(app_ws, 1))
    second = generation_view.start_run(_live_run(app_ws, 1))
    assert first.new and not second.new and second.run is first.run
    assert generation_view.current_run(app_ws, "ana") is first.run
    generation_view.cancel_run(app_ws, "ana")
    first.run.join(RUN_TIMEOUT)
    assert first.run.state().cancelled == "cancelled by ana"
    generation_view.forget_run(first.run)
    assert generation_view.current_run(app_ws, "ana") is None


def test_an_error_before_any_request_ends_the_run_with_its_message(
    team_desk: Desk, app_ws: Workspace, fake_llm: FakeOpenAI
) -> None:
    settings = endpoints.endpoint_settings(app_ws)
    run = LiveRun(app_ws, "no-such-brief", actor="ana", n=1, settings=settings,
                  options=GenerationOptions.from_settings(settings)).start()
    run.join(RUN_TIMEOUT)
    end = run.state()
    assert end.done and end.error is not None and "no-such-brief" in end.error
    assert generation_view.outcome_messages(end) == [("error", end.error)]
    assert fake_llm.chat_requests() == []


# -- the page -----------------------------------------------------------------------------

def test_generate_page_lists_each_draft_with_status_tokens_per_second_and_time(
    team_desk: Desk, fake_llm: FakeOpenAI
) -> None:
    fake_llm.default = lambda request: clean_draft(len(fake_llm.requests))
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select(BRIEF).run()
    at.number_input(key=f"generate_n_{BRIEF}").set_value(2)
    at.button(key="generate_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at).replace("\\", "")
    assert "2 of 2 draft(s) created" in shown
    assert "Last run: 2 draft(s)" in [e.label for e in at.expander]
    ids = sorted(v.id for v in team_desk.list_variants(brief_id=BRIEF))
    for vid in ids:  # drafts run at once: which number gets which id is not fixed
        assert re.search(rf":green-badge\[ready to review\] draft [12] · {vid} · ", shown), shown
    assert shown.count("tokens/s · ") == 2 and shown.count("s model time, 1 call(s) · done at ") == 2
    assert generation_view.current_run(team_desk.workspace, "ana") is None  # type: ignore[arg-type]


def test_generate_uses_the_endpoint_and_count_typed_on_the_page(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    fake_llm.default = lambda request: clean_draft(len(fake_llm.requests))
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select(BRIEF).run()
    at.radio(key="generate_where").set_value("Another OpenAI-compatible endpoint").run()
    at.text_input(key="generate_base_url").input(fake_llm.base_url)
    at.text_input(key="generate_model").input("other-model")
    at.number_input(key=f"generate_n_{BRIEF}").set_value(1)
    at.button(key="generate_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [r.body["model"] for r in fake_llm.chat_requests()] == ["other-model"]
    (v,) = team_desk.list_variants(brief_id=BRIEF)
    assert v.current.provenance["model"] == "other-model"


def test_cancel_on_the_page_keeps_the_finished_draft(
    team_desk: Desk, app_ws: Workspace, fake_llm: FakeOpenAI, gate: threading.Event
) -> None:
    fake_llm.enqueue(_fast())

    def press_cancel_after_first_draft() -> None:
        # what the Cancel button's on_click does, once the first draft has landed
        for _ in range(RUN_TIMEOUT * 20):
            run = generation_view.current_run(app_ws, "ana")
            if run is not None:
                run.wait_until(lambda s: s.finished >= 1, RUN_TIMEOUT)
                generation_view.cancel_run(app_ws, "ana")
                return
            gate.wait(0.05)

    helper = threading.Thread(target=press_cancel_after_first_draft, daemon=True)
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select(BRIEF).run()
    at.number_input(key=f"generate_n_{BRIEF}").set_value(3)
    helper.start()
    at.button(key="generate_go").click().run()
    helper.join(RUN_TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at).replace("\\", "")
    assert "Generation cancelled by ana: 1 finished draft(s) kept, 2 not made." in shown
    (kept,) = team_desk.list_variants(brief_id=BRIEF)
    assert ":green-badge[ready to review] draft " in shown and f" · {kept.id} · " in shown
    assert shown.count(":gray-badge[cancelled] draft ") == 2 and shown.count("— cancelled by ana") == 2
    assert f"**{kept.id}**" in shown  # and it is in the list of drafts to edit and submit
    assert not at.error


def test_generate_is_disabled_for_a_brief_with_personal_data_until_redacting(
    team_desk: Desk, fake_llm: FakeOpenAI
) -> None:
    brief = team_desk.get_brief(BRIEF)
    team_desk.save_brief(brief.model_copy(update={"key_message": f"Call Jane on {PHONE}."}),
                         actor="ana", update=True)
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select(BRIEF).run()
    assert at.button(key="generate_go").disabled
    assert "Replace with a redacted version" in texts(at) and "--redact-pii" not in texts(at)
    at.checkbox(key=f"generate_redact_{BRIEF}").check().run()
    assert not at.button(key="generate_go").disabled


# -- personal data flagged at save, fixed in one click ------------------------------------

def test_saving_a_brief_with_personal_data_offers_a_redacted_version(team_desk: Desk) -> None:
    at = open_page("ana", "briefs")
    at.selectbox(key="brief_form_source").select(BRIEF).run()
    next(w for w in at.text_area if w.label == "Key message").input(f"Text Jane on {PHONE} about boots.")
    at.button(key=f"FormSubmitter:brief_form_{BRIEF}-Save brief").click().run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert f"Brief {BRIEF} saved." in shown and "phone number in key\\_message at 13–" in shown
    assert "900123" not in shown and "--redact-pii" not in shown
    at.button(key=f"brief_redact_{BRIEF}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = team_desk.get_brief(BRIEF)
    assert stored.key_message == "Text Jane on [REDACTED: pii] about boots."
    assert team_desk.personal_data_in(stored) == [] and team_desk.brief_info(BRIEF)["version"] == 3
    shown = texts(at)
    assert "1 personal-data span(s) replaced by [REDACTED: pii]" in shown.replace("\\", "")
    assert "contains personal data" not in shown
    # the form starts again from the stored brief, not from what was typed
    assert next(w for w in at.text_area if w.label == "Key message").value == stored.key_message
    update = [e for e in team_desk.audit_log(action="brief.update") if e.entity_id == BRIEF][-1]
    assert "900123" not in json.dumps(update.data)


def test_redacted_version_is_what_generation_accepts(team_desk: Desk) -> None:
    brief = team_desk.get_brief(BRIEF)
    team_desk.save_brief(brief.model_copy(update={"tone_notes": "ask jane.doe@example.com"}),
                         actor="ana", update=True)
    saved, spans = save_redacted_version(team_desk, BRIEF, actor="ana")
    assert spans == 1 and saved.tone_notes == "ask [REDACTED: pii]"
    assert save_redacted_version(team_desk, BRIEF, actor="ana") == (team_desk.get_brief(BRIEF), 0)


def test_a_reader_sees_the_warning_without_the_fix(team_desk: Desk) -> None:
    brief = team_desk.get_brief(BRIEF)
    team_desk.save_brief(brief.model_copy(update={"key_message": f"Call Jane on {PHONE}."}),
                         actor="ana", update=True)
    at = open_page("max", "briefs")
    at.selectbox(key="briefs_detail").select(BRIEF).run()
    assert "contains personal data" in texts(at)
    assert not [b for b in at.button if b.label == "Replace with a redacted version"]


# -- in a real browser: the cards appear while the run goes, and Cancel is clickable ------

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "generate-live"
STEP_MS = 60_000  # a hang guard per step, not a speed limit


@pytest.fixture
def served(team_desk: Desk, app_ws: Workspace, fake_llm: FakeOpenAI, tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free port, on the team workspace and the fake server."""
    with running_app(app_ws, fake_llm, tmp_path) as url:
        yield url


def _settle(page: Any) -> None:
    """Wait until the script run has finished (Streamlit's running indicator is gone)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    page.wait_for_timeout(200)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)")
def test_in_the_browser_drafts_appear_as_they_finish_and_cancel_keeps_them(
    served: str, team_desk: Desk, fake_llm: FakeOpenAI, gate: threading.Event
) -> None:
    from playwright.sync_api import sync_playwright

    fake_llm.enqueue(_fast())  # one draft is done at once; the other two wait at the gate
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_MS)
            page.goto(served)
            page.get_by_role("textbox", name="User name").fill("ana")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("Signed in as ana").first.wait_for()
            page.get_by_role("link", name="Generate").first.click()
            page.get_by_role("button", name="Generate drafts").wait_for()
            box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Brief", exact=True))
            box.first.click()
            page.get_by_role("option").filter(has_text=BRIEF).first.click()
            page.get_by_text("goal: Help new owners").first.wait_for()
            _settle(page)
            page.get_by_label("Variants").fill("3")
            page.get_by_label("Variants").press("Enter")
            _settle(page)
            page.get_by_role("button", name="Generate drafts").click()
            # while two drafts are still with the model: the first one is on the page
            page.get_by_text("1 of 3 draft(s) done").first.wait_for()
            (kept,) = team_desk.list_variants(brief_id=BRIEF)
            page.get_by_text(kept.id, exact=True).first.wait_for()  # its card: "Draft N · **V1** · …"
            page.get_by_text("tokens/s · ").first.wait_for()
            assert fake_llm.pending == 0 and not gate.is_set()
            assert page.get_by_role("button", name="Generate drafts").is_disabled()  # one run at a time
            page.screenshot(path=str(ARTIFACTS / "01-first-draft-while-running.png"), full_page=True)
            page.get_by_role("button", name="Cancel").click()
            page.get_by_text("Generation cancelled by ana: 1 finished draft(s) kept, 2 not made.").first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "02-cancelled.png"), full_page=True)
            assert page.locator('[data-testid="stException"]').count() == 0
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failed.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert [v.id for v in team_desk.list_variants(brief_id=BRIEF)] == [kept.id]
