"""Generation with the sample brand's real guardrail policy: the fake server for the
repair loop, and the embedded model end to end (slow)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from copydesk.errors import PrivacyError
from copydesk.llm.copycheck import problems
from copydesk.llm.embedded import EmbeddedBackend
from copydesk.llm.generate import GenerationOptions
from copydesk.llm.settings import EMBEDDED_LABEL, load_settings
from copydesk.services import Desk
from copydesk.services.generation import generate_for_brief
from copydesk.workspace import Workspace
from tests.conftest import open_team_desk
from tests.fake_openai import FakeOpenAI, Reply


@pytest.fixture
def sample_desk(sample_ws: Workspace) -> Iterator[Desk]:
    desk = open_team_desk(sample_ws)
    yield desk
    desk.close()


def test_invented_percentage_is_repaired_with_the_sample_policy(
    sample_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(
        Reply.draft(subject="Save 20% on boot care today", body="Care for your boots."),
        Reply.draft(subject="Keep your boots comfortable", body="Care for your boots after "
                    "each walk with the Boot Care Kit."),
    )
    report = generate_for_brief(sample_desk, "boots-onboarding", actor="ana", n=1,
                                client=make_backend(), policy=sample_desk.policy,
                                options=GenerationOptions(concurrency=1))
    first, second = fake_openai.chat_requests()
    assert "20%" in second.messages[-1]["content"]
    assert "grounding" not in {f.category.value for f in report.variants[0].current.findings}
    assert report.variants[0].current.provenance["blocks_first_draft"] >= 1


def test_sample_policy_refuses_brief_pii(
    sample_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    brief = sample_desk.get_brief("boots-onboarding").model_copy(
        update={"id": "pii-brief", "goal": "Win back jane@example.com"})
    sample_desk.save_brief(brief, actor="ana")
    with pytest.raises(PrivacyError, match="goal"):
        generate_for_brief(sample_desk, "pii-brief", actor="ana", n=1, client=make_backend(),
                           policy=sample_desk.policy)
    assert fake_openai.requests == []


@pytest.mark.slow
def test_embedded_model_drafts_are_parsed_checked_and_stored(sample_desk: Desk) -> None:
    settings = load_settings({}, overrides={"seed": 3, "max_tokens": 220, "reask_attempts": 3,
                                            "repair_rounds": 1})
    client = EmbeddedBackend(settings)
    checked: list[int] = []
    policy = sample_desk.policy

    class Counting:
        def check(self, channel: Any, fields: Any, *, brief: Any = None) -> Any:
            checked.append(1)
            return policy.check(channel, fields, brief=brief)

        def check_brief(self, brief: Any) -> Any:
            return policy.check_brief(brief)

        def check_text(self, fields: Any) -> Any:
            return policy.check_text(fields)

    report = generate_for_brief(
        sample_desk, "sms-active-restock", actor="ana", n=2, client=client, policy=Counting(),
        options=GenerationOptions.from_settings(settings),
    )
    assert report.model_label == EMBEDDED_LABEL
    assert len(report.records) == 2
    # Through the generator the embedded model composes offline drafts: it writes only a
    # short hook, the facts come verbatim from the brief (docs/methods/generation.md)
    assert report.failures == [] and len(report.variants) == 2
    brief = sample_desk.get_brief("sms-active-restock")
    assert len(checked) >= len(report.variants)
    for variant in report.variants:
        stored = sample_desk.get_variant(variant.id)
        assert problems(stored.current.content.fields, "sms") == []
        assert stored.current.provenance["endpoint_kind"] == "embedded"
        assert stored.current.provenance["model_label"] == EMBEDDED_LABEL
        assert stored.current.provenance["parameters"]["output_style"] == "labelled"
        assert brief.key_message.rstrip(".") in stored.current.content.fields["text"]
        assert "Reply STOP to opt out" in stored.current.content.fields["text"]


def test_prompt_carries_the_registered_offer_wording(
    sample_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.draft(subject="Spring walks start here",
                                    body="The Summit Trail Boots are 15% off until 30 April 2027."))
    generate_for_brief(sample_desk, "spring-generic", actor="ana", n=1, client=make_backend(),
                       policy=sample_desk.policy, options=GenerationOptions(concurrency=1))
    [request] = fake_openai.chat_requests()
    prompt = request.messages[-1]["content"]
    assert "15% off Summit Trail Boots until 30 April 2027" in prompt
    assert "spring-boots-15" not in prompt


def test_brief_naming_an_unregistered_offer_is_refused(sample_desk: Desk) -> None:
    from copydesk.errors import InputError

    brief = sample_desk.get_brief("spring-generic").model_copy(update={"id": "bogus", "offer": "half-price"})
    with pytest.raises(InputError, match="offer 'half-price' is not registered"):
        sample_desk.save_brief(brief, actor="ana")
