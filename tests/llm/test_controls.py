"""Copywriter controls: tone, length, temperature, regenerate with an instruction, cost."""

from __future__ import annotations

from typing import Any

import pytest

from copydesk.errors import UsageError
from copydesk.llm.generate import GenerationOptions
from copydesk.llm.settings import load_settings
from copydesk.services import Desk
from copydesk.services.generation import generate_for_brief
from tests.fake_openai import FakeOpenAI, Reply
from tests.policies import NoRules

BRIEF = "boots-onboarding"
FIELDS = {"subject": "Welcome to the hills", "preheader": "Your boots are on the way",
          "body": "Thanks for your order. Your waterproof boots are packed and on the way to you.",
          "cta": "Shop boots"}


def _ws(desk: Desk) -> str:
    assert desk.workspace is not None
    return str(desk.workspace.root)


def _cli(cli: Any, desk: Desk, server: FakeOpenAI, *extra: str) -> Any:
    return cli("-w", _ws(desk), "generate", BRIEF, "--as", "ana", "--base-url", server.base_url,
               "--model", "fake-model", *extra)


def test_tone_length_and_temperature_reach_the_request(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    result = _cli(cli, gen_desk, fake_openai, "-n", "1", "--tone", "warmer", "--length", "short",
                  "--temperature", "0.3")
    assert result.code == 0, result
    (sent,) = fake_openai.chat_requests()
    user = sent.messages[1]["content"]
    assert "Tone for this draft: warmer." in user and "Length: short." in user
    assert sent.body["temperature"] == 0.3
    (variant,) = gen_desk.list_variants(brief_id=BRIEF)
    prov = variant.current.provenance
    assert prov["tone"] == "warmer" and prov["length"] == "short"
    assert prov["parameters"]["temperature"] == 0.3


def test_an_unknown_length_is_refused_before_any_request(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    result = _cli(cli, gen_desk, fake_openai, "-n", "1", "--length", "tiny")
    assert result.code != 0 and "--length must be one of short, medium, long" in result.err
    assert "Traceback" not in result.err and fake_openai.requests == []


def test_regenerate_makes_the_next_revision_of_your_own_draft(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    vid = gen_desk.add_variant(BRIEF, FIELDS, actor="ana").id
    fake_openai.enqueue(Reply.draft(subject="Welcome to the hills", preheader="Boots on the way",
                                    body="Your boots are on the way, with the Boot Care Kit.",
                                    cta="Shop boots"))
    result = _cli(cli, gen_desk, fake_openai, "--regenerate", vid,
                  "--instruction", "shorter, mention the kit")
    assert result.code == 0, result
    assert f"{vid} revision 2: regenerated" in result.out
    (sent,) = fake_openai.chat_requests()
    user = sent.messages[1]["content"]
    assert "<instruction>shorter, mention the kit</instruction>" in user
    assert FIELDS["body"] in user  # the draft being redone
    assert len(gen_desk.list_variants(brief_id=BRIEF)) == 1  # no new variant
    variant = gen_desk.get_variant(vid)
    assert variant.current.number == 2 and variant.status == "draft"
    assert "Boot Care Kit" in variant.current.content.fields["body"]
    prov = variant.current.provenance
    assert prov["regenerated_from"] == {"variant_id": vid, "revision": 1,
                                        "instruction": "shorter, mention the kit"}
    # reviewed as usual: a reviewer approves the regenerated revision
    gen_desk.submit(vid, actor="ana")
    assert gen_desk.approve(vid, actor="ben").status == "approved"


@pytest.mark.parametrize(("setup", "message"), [
    ("someone_else", "written by cy: regenerate only your own drafts"),
    ("approved", "is approved: only a draft or a rejected variant is regenerated"),
    ("in_review", "is in_review: only a draft or a rejected variant"),
    ("no_instruction", "--regenerate needs --instruction"),
])
def test_regenerate_refusals_send_nothing(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any, setup: str, message: str
) -> None:
    author = "cy" if setup == "someone_else" else "ana"
    vid = gen_desk.add_variant(BRIEF, FIELDS, actor=author).id
    if setup in ("approved", "in_review"):
        gen_desk.submit(vid, actor="ana")
    if setup == "approved":
        gen_desk.approve(vid, actor="ben")
    with pytest.raises(UsageError, match=message):
        generate_for_brief(gen_desk, BRIEF, actor="ana", n=1, client=make_backend(),
                           policy=NoRules(), regenerate=vid,
                           instruction="" if setup == "no_instruction" else "warmer")
    assert fake_openai.requests == []


def test_an_instruction_alone_is_refused(gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any) -> None:
    result = _cli(cli, gen_desk, fake_openai, "-n", "1", "--instruction", "warmer")
    assert result.code != 0 and "--instruction goes with --regenerate" in result.err
    assert fake_openai.requests == []


def test_cost_per_draft_and_per_run_for_a_priced_model(
    gen_desk: Desk, fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    settings = load_settings({"prices": {"fake-model": {"input": 2.5, "output": 10}}})
    report = generate_for_brief(gen_desk, BRIEF, actor="ana", n=2, client=make_backend(),
                                policy=NoRules(), options=GenerationOptions(max_tokens=200),
                                settings=settings)
    total = 0.0
    for record in report.records:
        usage = record.outcome.usage
        expected = (usage.prompt_tokens * 2.5 + usage.completion_tokens * 10) / 1_000_000
        assert usage.prompt_tokens > 0
        prov = record.variant.current.provenance if record.variant else {}
        assert prov["cost"] == pytest.approx(expected)
        assert prov["price_per_1m_tokens"] == {"input": 2.5, "output": 10.0}
        total += expected
    assert report.cost == pytest.approx(total)


def test_an_unpriced_model_says_no_price(gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any) -> None:
    result = _cli(cli, gen_desk, fake_openai, "-n", "1")
    assert result.code == 0, result
    assert "cost: no price" in result.out
    (variant,) = gen_desk.list_variants(brief_id=BRIEF)
    assert variant.current.provenance["cost"] == "no price"


def test_a_bad_price_names_the_setting() -> None:
    with pytest.raises(UsageError, match=r"prices\.fake-model\.output"):
        load_settings({"prices": {"fake-model": {"input": 1, "output": -2}}})


def test_the_table_shows_cost_per_draft_and_run_for_a_priced_model(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    assert gen_desk.workspace is not None
    config = gen_desk.workspace.config_path
    config.write_text(config.read_text(encoding="utf-8")
                      + "\nllm:\n  prices:\n    fake-model: {input: 1000, output: 1000}\n", encoding="utf-8")
    result = _cli(cli, gen_desk, fake_openai, "-n", "1")
    assert result.code == 0, result
    (variant,) = gen_desk.list_variants(brief_id=BRIEF)
    cost = variant.current.provenance["cost"]
    assert isinstance(cost, float) and cost > 0
    header = next(line for line in result.out.splitlines() if "guardrails" in line)
    assert header.rstrip(" │┃").endswith("cost")
    shown = f"{cost:.6f}".rstrip("0").rstrip(".")
    assert f"cost: {shown} ·" in result.out and result.out.count(shown) >= 2


def test_a_workspace_without_the_controls_prompt_uses_the_samples(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    assert gen_desk.workspace is not None
    (gen_desk.workspace.prompts_dir / "generate-controls.j2").unlink()
    result = _cli(cli, gen_desk, fake_openai, "-n", "1", "--tone", "warmer")
    assert result.code == 0, result
    (sent,) = fake_openai.chat_requests()
    assert "Tone for this draft: warmer." in sent.messages[1]["content"]
    (variant,) = gen_desk.list_variants(brief_id=BRIEF)
    assert variant.current.provenance["controls_prompt"]["id"] == "generate-controls"
