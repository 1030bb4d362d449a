"""Generation end to end against the fake OpenAI server: what is stored, what is sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from copydesk.errors import PrivacyError
from copydesk.llm.generate import GenerationOptions
from copydesk.llm.prompts import sha256_text
from copydesk.models import Brief, Finding
from copydesk.services import Desk
from copydesk.services.generation import generate_for_brief
from copydesk.vocab import Category, Severity
from tests.fake_openai import FakeOpenAI, Reply
from tests.policies import NoRules

BRIEF = "boots-onboarding"


def _opts(**kw: Any) -> GenerationOptions:
    return GenerationOptions(**{"reask_attempts": 2, "repair_rounds": 2, "concurrency": 4,
                                "temperature": 0.7, "max_tokens": 200, **kw})


class BanWord(NoRules):
    """A policy that blocks one word in any field."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.calls = 0

    def check(self, channel: Any, fields: Mapping[str, str], *, brief: Brief | None = None
              ) -> list[Finding]:
        self.calls += 1
        out = []
        for name, text in fields.items():
            at = text.lower().find(self.word)
            if at >= 0:
                out.append(Finding(rule_id="claims.guarantee", category=Category.CLAIMS,
                                   severity=Severity.BLOCK, field=name, start=at,
                                   end=at + len(self.word), match=text[at:at + len(self.word)],
                                   message="unapproved guarantee claim",
                                   suggestion="describe the benefit without a guarantee"))
        return out

    def check_brief(self, brief: Brief) -> list[Finding]:
        return []


def test_success_stores_variants_with_provenance(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    client = make_backend()
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=2, client=client,
                                policy=NoRules(), options=_opts())

    assert len(report.variants) == 2 and report.failures == []
    sent = fake_openai.chat_requests()
    assert len(sent) == 2
    assert sent[0].headers["authorization"] == "Bearer sk-test-secret-123"
    assert sent[0].body["response_format"]["type"] == "json_schema"
    stored = gen_desk.get_variant(report.variants[0].id)
    assert stored.current.content.fields["subject"] == "Ready for wet hills"
    prov = stored.current.provenance
    user_prompts = {r.messages[1]["content"] for r in sent}
    assert prov["prompt"]["id"] == "generate-variant" and prov["prompt"]["version"] == 2
    assert any(sha256_text(text) == prov["prompt"]["sha256"] for text in user_prompts)
    assert prov["system_prompt"]["sha256"] == sha256_text(sent[0].messages[0]["content"])
    assert prov["model"] == "fake-model" and prov["endpoint_kind"] == "openai"
    assert prov["endpoint"] == fake_openai.base_url
    assert prov["usage"] == {"prompt_tokens": 40, "completion_tokens": 30, "total_tokens": 70}
    assert prov["attempts"] == 1 and prov["repair_rounds"] == 0
    assert prov["parameters"]["temperature"] == 0.7 and prov["latency_s"] > 0
    assert prov["rationale"] == "Leads with the key message."
    assert "sk-test-secret-123" not in json.dumps(prov)


def test_invalid_json_is_reasked_with_the_error(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.text('{"subject": "Boots", "body": '))
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=1, client=make_backend(),
                                policy=NoRules(), options=_opts())

    assert len(report.variants) == 1
    first, second = fake_openai.chat_requests()
    assert second.messages[:2] == first.messages[:2]
    assert second.messages[2] == {"role": "assistant", "content": '{"subject": "Boots", "body": '}
    assert "not valid JSON" in second.messages[3]["content"]
    assert "Expecting value" in second.messages[3]["content"]
    prov = report.variants[0].current.provenance
    assert prov["attempts"] == 2 and prov["reasks"] == 1
    assert prov["followup_prompts"][0]["id"] == "reask-invalid"


def test_schema_violation_is_reasked_naming_the_field(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.draft(subject=""))
    generate_for_brief(gen_desk, BRIEF, actor="ana", n=1, client=make_backend(),
                       policy=NoRules(), options=_opts())
    second = fake_openai.chat_requests()[1]
    assert "required field(s) empty: subject" in second.messages[-1]["content"]


def test_failure_after_all_reasks_is_reported_not_dropped(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = Reply.text("Sorry, I cannot help with that.")
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=2, client=make_backend(),
                                policy=NoRules(), options=_opts(reask_attempts=1))

    assert report.variants == []
    assert len(report.failures) == 2
    failure = report.failures[0]
    assert failure.status == "failed" and failure.attempts == 2
    assert "no valid output after 2 attempts" in (failure.error or "")
    assert failure.last_output == "Sorry, I cannot help with that."
    assert len(fake_openai.chat_requests()) == 4
    assert gen_desk.list_variants(brief_id=BRIEF) == []
    events = gen_desk.audit_log(action="generation.failed")
    assert len(events) == 2 and events[0].entity_id == BRIEF and events[0].actor == "ana"
    assert "no valid output" in events[0].data["error"]
    assert events[0].data["last_output"] == "Sorry, I cannot help with that."
    assert gen_desk.verify_audit()[0]


def test_block_finding_is_sent_back_and_repaired(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.draft(body="Guaranteed dry feet on every walk."))
    policy = BanWord("guaranteed")
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=1, client=make_backend(),
                                policy=policy, options=_opts())

    first, second = fake_openai.chat_requests()
    assert second.messages[2]["role"] == "assistant"
    assert "Guaranteed dry feet" in second.messages[2]["content"]
    revision_request = second.messages[3]["content"]
    assert "unapproved guarantee claim" in revision_request and '"Guaranteed"' in revision_request
    variant = report.variants[0]
    assert variant.current.findings == []
    assert variant.current.content.fields["body"].startswith("Our waterproof boots are built for UK hills.")
    prov = variant.current.provenance
    assert prov["repair_rounds"] == 1 and prov["blocks_first_draft"] == 1
    assert prov["followup_prompts"][0]["id"] == "revise-findings"


def test_unrepaired_draft_is_saved_with_its_block_findings(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = Reply.draft(subject="Guaranteed comfort")
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=1, client=make_backend(),
                                policy=BanWord("guaranteed"), options=_opts(repair_rounds=2))

    assert len(fake_openai.chat_requests()) == 3
    (record,) = report.records
    assert record.outcome.status == "blocked" and record.outcome.repair_rounds == 2
    assert record.variant is not None
    stored = gen_desk.get_variant(record.variant.id)
    assert [f.rule_id for f in stored.current.findings] == ["claims.guarantee"]


def test_brief_with_email_is_refused_before_any_request(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    brief = gen_desk.get_brief(BRIEF).model_copy(update={
        "id": "pii-brief", "key_message": "Write to jane.doe@example.com about her boots."})
    gen_desk.save_brief(brief, actor="ana")

    with pytest.raises(PrivacyError) as err:
        generate_for_brief(gen_desk, "pii-brief", actor="ana", n=2, client=make_backend(),
                           policy=NoRules(), options=_opts())

    assert "email address in key_message at 9–29 (j***@e***.com)" in str(err.value)
    assert "jane.doe@example.com" not in str(err.value)
    assert fake_openai.requests == []


def test_redact_option_sends_a_redacted_brief(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    brief = gen_desk.get_brief(BRIEF).model_copy(update={
        "id": "pii-brief", "key_message": "Call 07700 900123 or jane.doe@example.com today."})
    gen_desk.save_brief(brief, actor="ana")

    report = generate_for_brief(gen_desk, "pii-brief", actor="ana", n=1, client=make_backend(),
                                policy=NoRules(), options=_opts(), redact_pii=True)

    assert len(report.redacted) == 2 and len(report.variants) == 1
    (sent,) = fake_openai.chat_requests()
    assert "jane.doe@example.com" not in sent.text and "07700 900123" not in sent.text
    assert "[REDACTED: pii]" in sent.text
    assert report.variants[0].current.provenance["brief_redacted"] is True


def test_requests_in_flight_never_exceed_the_concurrency_bound(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = lambda req: fake_openai.angled(req).slow(0.3)
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=7, client=make_backend(),
                                policy=NoRules(), options=_opts(concurrency=3))

    assert len(report.variants) == 7
    assert fake_openai.max_in_flight == 3


def test_drafts_are_saved_as_they_arrive(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    seen: list[int] = []

    def on_progress(done: int, total: int, record: Any) -> None:
        # The variant is already in the library when progress is reported.
        seen.append(len(gen_desk.list_variants(brief_id=BRIEF)))

    generate_for_brief(gen_desk, BRIEF, actor="ana", n=3, client=make_backend(),
                       policy=NoRules(), options=_opts(concurrency=1),
                       on_progress=on_progress)
    assert seen == [1, 2, 3]


def test_dead_endpoint_stops_the_run_with_a_clear_error(gen_desk: Desk, make_backend: Any) -> None:
    fake = FakeOpenAI()
    dead_url = fake.base_url
    fake.stop()  # the port is closed now
    client = make_backend(base_url=dead_url, max_retries=1)
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=3, client=client,
                                policy=NoRules(), options=_opts(concurrency=1))

    assert report.variants == []
    assert report.aborted is not None and "cannot reach the LLM endpoint" in report.aborted
    assert {o.status for o in report.failures} == {"failed", "skipped"}
    assert len(report.failures) == 3


def test_timeout_is_recorded_as_a_failed_draft(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.default = lambda _req: Reply.draft().slow(1.0)
    client = make_backend(timeout=0.2, max_retries=1)
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=1, client=client,
                                policy=NoRules(), options=_opts())

    (failure,) = report.failures
    assert "timed out after 0.2s" in (failure.error or "")
    assert len(fake_openai.chat_requests()) == 2
