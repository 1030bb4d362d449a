"""Honest parsing and reporting, against the fake OpenAI server: cut-off replies, chat
and prompt echo in single-field channels, length budgets, duplicates, real attempt
counts, the run deadline, and fallbacks in provenance."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copydesk.llm.generate import GenerationOptions
from copydesk.services import Desk
from copydesk.services.generation import generate_for_brief
from tests.fake_openai import VALID_DRAFT, FakeOpenAI, Reply
from tests.policies import NoRules

SMS = "sms-active-restock"
EMAIL = "boots-onboarding"
CUT_OFF = '{"subject": "Boots", "body": "Hi there,'


def _opts(**kw: Any) -> GenerationOptions:
    return GenerationOptions(**{"reask_attempts": 2, "repair_rounds": 2, "concurrency": 4,
                                "temperature": 0.7, "max_tokens": 200, **kw})


def _run(desk: Desk, backend: Any, brief: str = SMS, n: int = 1, **kw: Any) -> Any:
    return generate_for_brief(desk, brief, actor="ana", n=n, client=backend, policy=NoRules(),
                              options=_opts(**kw))


# -- finish_reason -------------------------------------------------------------------------

def test_a_cut_off_reply_is_reasked_once_then_the_draft_fails(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = Reply.truncated(CUT_OFF)
    report = _run(gen_desk, make_backend())

    assert report.variants == [] and gen_desk.list_variants(brief_id=SMS) == []
    (failure,) = report.failures
    assert failure.status == "failed" and failure.attempts == 2
    assert "cut off at the token limit again" in (failure.error or "")
    first, second = fake_openai.chat_requests()  # one re-ask, though two were allowed
    reask = second.messages[-1]["content"]
    assert "cut off at the token limit" in reask and "text at most 1 SMS segment" in reask


def test_a_cut_off_reply_that_would_parse_is_not_accepted(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    # Read as labelled text this is a fine SMS; but the endpoint says it was cut off.
    fake_openai.enqueue(Reply.truncated("TEXT: Trail packs are back in stock, and this week"))
    report = _run(gen_desk, make_backend())
    (variant,) = report.variants
    assert "this week" not in variant.current.content.fields["text"]
    prov = variant.current.provenance
    assert prov["attempts"] == 2 and prov["reasks"] == 1 and prov["finish_reason"] == "stop"


def test_a_cut_off_json_fragment_is_rejected_even_without_finish_reason(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply(content=CUT_OFF, finish_reason=None))
    report = _run(gen_desk, make_backend())
    (variant,) = report.variants
    assert variant.current.content.fields["text"] != CUT_OFF
    assert variant.current.provenance["attempts"] == 2


# -- single-field channels are checked like the others ----------------------------------------

@pytest.mark.parametrize(("text", "reason"), [
    ("Sure! Here is a lovely message for your customers: trail packs are back.", "starts by talking to us"),
    ("Here's an SMS for you: trail packs are back in stock.", "starts by talking to us"),
    ("Trail packs are back in stock. Let me know if you'd like changes!", "assistant chatter"),
    # the re-ask quotes the error as data: angle brackets become look-alikes
    ("Trail packs are back in stock today.</brief>", "markup or prompt tags ('‹/brief›')"),
    ("Trail packs are back in stock today. RATIONALE: short and direct", "field label or instruction text"),
    ("Subject Line: Trail packs are back", "field label or instruction text ('Subject Line:')"),
    ("Trail packs are back in stock. Thanks, [Your Name]", "template slot to fill in ('[Your Name]')"),
    ("Trail packs are back in stock. " * 12, "too long (3 SMS segments; the most accepted is 2"),
])
def test_sms_text_that_is_not_copy_is_reasked(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any, text: str, reason: str
) -> None:
    fake_openai.enqueue(Reply.draft(text=text))
    report = _run(gen_desk, make_backend())
    (variant,) = report.variants
    assert variant.current.content.fields["text"].startswith(VALID_DRAFT["text"])
    assert variant.current.provenance["attempts"] == 2
    first, second = fake_openai.chat_requests()
    assert reason in second.messages[-1]["content"]


def test_chat_around_labelled_fields_is_fine(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    # the chat is outside the fields, so the draft is the labelled text alone
    fake_openai.enqueue(Reply.text("Sure! Here is the message:\nTEXT: Trail packs are back in stock.\n"
                                   "RATIONALE: short"))
    report = _run(gen_desk, make_backend())
    assert report.variants[0].current.content.fields["text"] == "Trail packs are back in stock."
    assert len(fake_openai.chat_requests()) == 1


def test_push_and_ad_fields_are_checked_too(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.draft(title="Certainly! Here is a push notification", body="Points are waiting."))
    report = _run(gen_desk, make_backend(), brief="push-loyal-points")
    assert report.variants[0].current.provenance["attempts"] == 2
    assert "title: starts by talking to us" in fake_openai.chat_requests()[1].messages[-1]["content"]


# -- duplicates -------------------------------------------------------------------------------

def test_identical_drafts_are_reasked_once_then_dropped(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = Reply.draft()  # the same draft every time
    report = _run(gen_desk, make_backend(), brief=EMAIL, n=3, concurrency=1)

    assert len(report.variants) == 1
    assert len(gen_desk.list_variants(brief_id=EMAIL)) == 1
    dropped = sorted(report.failures, key=lambda o: o.index)
    assert [o.status for o in dropped] == ["duplicate", "duplicate"]
    assert all(o.attempts == 2 for o in dropped)
    assert "repeats draft 1 almost word for word (token Jaccard 1.00" in (dropped[0].error or "")
    reasks = [r.messages[-1]["content"] for r in fake_openai.chat_requests()
              if "this draft repeats" in r.messages[-1]["content"]]
    assert len(reasks) == 2 and "Write a clearly different angle" in reasks[0]
    assert len(fake_openai.chat_requests()) == 5


def test_a_near_duplicate_gets_a_different_angle(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    body = ("Our waterproof boots are built for UK hills, with grippy soles, soft leather, "
            "taped seams and a free returns promise on every pair you order.")
    fake_openai.enqueue(Reply.draft(body=body), Reply.draft(body=body.replace("grippy", "sticky")),
                        Reply.draft(body="Rain or shine, these boots keep walks going."))
    report = _run(gen_desk, make_backend(), brief=EMAIL, n=2, concurrency=1)
    assert len(report.variants) == 2
    second = next(v for v in report.variants if v.current.provenance["variant_number"] == 2)
    assert "Rain or shine" in second.current.content.fields["body"]
    assert "token Jaccard 0.9" in second.current.provenance["duplicate_reask"]


def test_a_draft_repeating_a_stored_variant_is_not_saved_again(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = Reply.draft()
    _run(gen_desk, make_backend(), brief=EMAIL)
    report = _run(gen_desk, make_backend(), brief=EMAIL)
    (dropped,) = report.failures
    assert dropped.status == "duplicate" and "stored variant V1" in (dropped.error or "")
    assert len(gen_desk.list_variants(brief_id=EMAIL)) == 1


# -- honest counts --------------------------------------------------------------------------

def test_a_failed_draft_reports_its_real_attempts_time_and_retries(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = Reply.error(503, "overloaded")
    report = _run(gen_desk, make_backend(max_retries=3))
    (failure,) = report.failures
    assert len(fake_openai.chat_requests()) == 4
    assert failure.attempts == 1 and failure.retries == 3 and failure.latency > 0
    assert failure.events[0].startswith("call 1: server error 503: retry 1 of 3 after")
    prov = failure.provenance
    assert prov["requests"] == 4 and prov["transport_retries"] == 3 and prov["latency_s"] > 0
    assert len(prov["retries_and_fallbacks"]) == 4
    (event,) = gen_desk.audit_log(action="generation.failed")
    assert event.data["attempts"] == 1


def test_format_fallbacks_are_recorded_in_provenance(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.bad_request("response_format json_schema is not supported"))
    report = _run(gen_desk, make_backend(), brief=EMAIL)
    prov = report.variants[0].current.provenance
    assert prov["format_fallbacks"] == 1 and prov["requests"] == 2 and prov["attempts"] == 1
    assert prov["parameters"]["format_mode"] == "json_object"
    assert prov["retries_and_fallbacks"] == [
        "call 1: output format json_schema → json_object (the endpoint said "
        "'response_format json_schema is not supported')"]
    assert report.adjustments == ["output format json_schema → json_object (the endpoint said "
                                  "'response_format json_schema is not supported')"]


def test_a_reasoning_model_is_sent_no_temperature(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    report = _run(gen_desk, make_backend(model="o3-mini"), brief=EMAIL)
    (sent,) = fake_openai.chat_requests()
    assert "temperature" not in sent.body and sent.body["reasoning_effort"] == "low"
    assert sent.body["max_completion_tokens"] == 200 + 2048
    params = report.variants[0].current.provenance["parameters"]
    assert params["temperature"] is None
    assert params["sent"] == {"max_completion_tokens": 2248, "reasoning_effort": "low"}


# -- the run deadline ---------------------------------------------------------------------

def test_the_run_deadline_keeps_finished_drafts_and_reports_the_rest(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.draft())
    fake_openai.default = lambda req: Reply.draft(body="Never mind.").slow(120)  # a hung server
    report = _run(gen_desk, make_backend(timeout=300), brief=EMAIL, n=3, concurrency=1, deadline=2.0)

    assert len(report.variants) == 1
    assert report.aborted == "the run deadline of 2s passed"
    by_index = {o.index: o for o in report.failures}
    in_flight, never = by_index[2], by_index[3]
    assert in_flight.status == "failed" and in_flight.attempts == 1
    assert in_flight.error == "stopped while waiting for the endpoint: the run deadline of 2s passed"
    assert never.status == "skipped" and never.attempts == 0
    assert never.error == "not attempted: the run stopped (the run deadline of 2s passed)"
    assert len(fake_openai.chat_requests()) == 2


def test_the_deadline_setting_reaches_the_run(gen_desk: Desk) -> None:
    from copydesk.llm.settings import load_settings

    settings = load_settings({"deadline": 90})
    assert GenerationOptions.from_settings(settings).deadline == 90
    assert GenerationOptions.from_settings(settings, deadline=5).deadline == 5


def test_provenance_is_json(gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any) -> None:
    report = _run(gen_desk, make_backend(), brief=EMAIL)
    json.dumps(report.variants[0].current.provenance)
