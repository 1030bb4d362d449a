"""Approved copy as examples in the prompt: which ones, in what order, and on record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from copydesk.llm import examples
from copydesk.llm.generate import GenerationOptions
from copydesk.llm.settings import load_settings
from copydesk.models import ApprovedContent
from copydesk.services import Desk
from copydesk.services.generation import generate_for_brief
from tests.fake_openai import FakeOpenAI
from tests.policies import NoRules

BRIEF = "boots-onboarding"


def _approved_variant(desk: Desk, body: str, *, approve: bool = True, reject: bool = False,
                      brief: str = BRIEF) -> str:
    fields = {"subject": "Welcome to the hills", "preheader": "Your boots are on the way",
              "body": body, "cta": "Shop boots"}
    vid = desk.add_variant(brief, fields, actor="ana").id
    if approve or reject:
        desk.submit(vid, actor="ana")
    if approve:
        desk.approve(vid, actor="ben")
    elif reject:
        desk.reject(vid, actor="ben", comment="off brand")
    return vid


def _generate(desk: Desk, client: Any, **settings: Any) -> Any:
    return generate_for_brief(
        desk, BRIEF, actor="ana", n=1, client=client, policy=NoRules(),
        options=GenerationOptions(max_tokens=200), settings=load_settings({}, overrides=settings),
    )


def test_approved_copy_is_in_the_prompt_and_the_provenance_drafts_and_rejected_are_not(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    good = _approved_variant(gen_desk, "Approved words about grippy soles for wet ridges.")
    _approved_variant(gen_desk, "Draft words about lighthouse picnics.", approve=False)
    _approved_variant(gen_desk, "Rejected words about volcano tours.", approve=False, reject=True)
    report = _generate(gen_desk, make_backend())
    assert len(report.variants) == 1
    (sent,) = fake_openai.chat_requests()
    user = sent.messages[1]["content"]
    assert "Approved words about grippy soles for wet ridges." in user
    assert "<example>" in user
    assert "lighthouse" not in sent.text and "volcano" not in sent.text
    prov = report.variants[0].current.provenance
    assert [(e["variant_id"], e["revision"]) for e in prov["examples"]] == [(good, 1)]
    assert prov["examples"][0]["chosen_by"].startswith("newest approved")
    assert prov["controls_prompt"]["id"] == "generate-controls"


def test_no_examples_when_switched_off_and_the_prompt_is_unchanged(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    _approved_variant(gen_desk, "Approved words about grippy soles for wet ridges.")
    report = _generate(gen_desk, make_backend(), examples=0)
    (sent,) = fake_openai.chat_requests()
    assert "grippy" not in sent.text and "<example>" not in sent.text
    prov = report.variants[0].current.provenance
    assert prov["examples"] == [] and "controls_prompt" not in prov


def test_a_copy_of_an_example_is_re_asked_as_a_near_duplicate(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    from tests.fake_openai import Reply

    body = "Approved words about grippy soles for wet ridges."
    # approved for another brief of the same channel and stage: not a stored variant of this one
    other = gen_desk.get_brief(BRIEF).model_copy(update={"id": "boots-onboarding-spring"})
    gen_desk.save_brief(other, actor="ana")
    vid = _approved_variant(gen_desk, body, brief=other.id)
    fake_openai.enqueue(Reply.draft(subject="Welcome to the hills", preheader="Your boots are on the way",
                                    body=body, cta="Shop boots"))
    report = _generate(gen_desk, make_backend())
    assert len(fake_openai.chat_requests()) == 2  # the copy, then a different angle
    prov = report.variants[0].current.provenance
    assert f"approved example {vid} r1" in prov["duplicate_reask"]


def _content(vid: str, day: int, text: str = "Fresh boots for wet hills.") -> ApprovedContent:
    return ApprovedContent(
        variant_id=vid, brief_id="b", revision=2, content_hash=f"h{vid}", channel="sms",
        stage="onboarding", segment="s", fields={"text": text}, approved_by="ben",
        approved_at=datetime(2026, 1, day, tzinfo=UTC),
    )


def _brief(gen_desk: Desk) -> Any:
    brief = gen_desk.get_brief(BRIEF)
    return brief.model_copy(update={"channel": "sms", "stage": "onboarding"})


def test_measured_outcomes_rank_first_then_newest(gen_desk: Desk) -> None:
    approved = [_content("V1", 1), _content("V2", 2), _content("V3", 3), _content("V4", 4)]
    measured = {
        "hV1": examples.Measured(recipients=500, converted=40),   # 8%
        "hV2": examples.Measured(recipients=400, converted=12),   # 3%
        "hV3": examples.Measured(recipients=20, converted=10),    # 50%, too few recipients
    }
    chosen = examples.choose(_brief(gen_desk), approved, measured, limit=3, min_recipients=100,
                             policy=None)
    assert [e.variant_id for e in chosen.examples] == ["V1", "V2", "V4"]
    assert chosen.examples[0].chosen_by == "converted 8.0% of 500 recipients"
    assert chosen.examples[2].chosen_by.startswith("newest approved (2026-01-04)")
    assert [e.revision for e in chosen.examples] == [2, 2, 2]


def test_other_channels_and_stages_are_never_examples(gen_desk: Desk) -> None:
    other = _content("V9", 9).model_copy(update={"channel": "email"})
    later = _content("V8", 8).model_copy(update={"stage": "dormant"})
    chosen = examples.choose(_brief(gen_desk), [other, later, _content("V1", 1)], {}, limit=3,
                             min_recipients=100, policy=None)
    assert [e.variant_id for e in chosen.examples] == ["V1"]


def test_an_example_with_personal_data_is_left_out_and_said_so(gen_desk: Desk) -> None:
    leaky = _content("V2", 2, "Questions? Write to jane.doe@example.com today.")
    chosen = examples.choose(_brief(gen_desk), [leaky, _content("V1", 1)], {}, limit=3,
                             min_recipients=100, policy=None)
    assert [e.variant_id for e in chosen.examples] == ["V1"]
    (skipped,) = chosen.skipped
    assert skipped["variant_id"] == "V2" and "email address" in skipped["reason"]
    assert "jane.doe@example.com" not in skipped["reason"]
    assert chosen.provenance()["examples_skipped"] == [skipped]


def test_measured_by_hash_counts_recipients_and_converters(gen_desk: Desk) -> None:
    db = gen_desk.db
    for contact in ("c1", "c2", "c3"):
        db.execute("INSERT INTO sends (contact_id, campaign_id, channel, content_hash, holdout, sent_at) "
                   "VALUES (?, 'camp', 'sms', 'hX', 0, '2026-01-01T00:00:00+00:00')", [contact])
    db.execute("INSERT INTO sends (contact_id, campaign_id, channel, content_hash, holdout, sent_at) "
               "VALUES ('c4', 'camp', 'sms', NULL, 1, '2026-01-01T00:00:00+00:00')")
    db.execute("INSERT INTO outcomes (contact_id, campaign_id, event, at, imported_at) "
               "VALUES ('c2', 'camp', 'converted', '2026-01-02T00:00:00+00:00', '2026-01-03')")
    db.execute("INSERT INTO outcomes (contact_id, campaign_id, event, at, imported_at) "
               "VALUES ('c3', 'camp', 'opened', '2026-01-02T00:00:00+00:00', '2026-01-03')")
    assert examples.measured_by_hash(db) == {"hX": examples.Measured(recipients=3, converted=1)}
