"""Offline composition for the embedded model (copydesk.llm.offline): the facts are the
brief's own words, lengths hold, the SMS carries its opt-out, and no number is invented.
All but the last test run without the model: the line writer is a scripted function."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from copydesk.channels import Channel
from copydesk.guardrails import load_policy
from copydesk.guardrails.engine import Policy
from copydesk.llm import copycheck
from copydesk.llm.client import Usage
from copydesk.llm.offline import (
    SMS_OPT_OUT,
    DraftingContext,
    Lines,
    clean_line,
    compose,
    current,
    drafting,
    facts_of,
    write_draft,
)
from copydesk.llm.parse import parse_reply
from copydesk.llm.prompts import PromptLibrary
from copydesk.models import Brief
from copydesk.vocab import Severity
from copydesk.yamlio import load_model

REPO = Path(__file__).resolve().parents[2]
BRAND = "Ridgeline Outfitters"
BRIEFS = sorted((REPO / "briefs").glob("*.yaml"))
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(REPO / "guardrails")


@pytest.fixture(scope="module")
def prompts() -> PromptLibrary:
    return PromptLibrary(REPO / "prompts")


def _ctx(path: Path, policy: Policy, prompts: PromptLibrary) -> DraftingContext:
    return DraftingContext(load_model(path, Brief), policy, BRAND, prompts)


def _script(*replies: str) -> Iterator[str]:
    yield from replies
    while True:
        yield "SUMMIT TRAIL BOOTS"  # never usable: shouting


class Scripted:
    """A line writer that answers from a script and records the prompts it was sent."""

    def __init__(self, *replies: str) -> None:
        self.replies = _script(*replies)
        self.prompts: list[str] = []

    def __call__(
        self, prompt: str, grammar: str, max_tokens: int, seed: int
    ) -> tuple[str, Usage, float]:
        self.prompts.append(prompt)
        text = next(self.replies)
        # the scores rank the good candidates: a line saying "favourite" wins
        return text, Usage(100, 10), (-0.5 if "favourite" in text else -1.0)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER.findall(text)}


@pytest.mark.parametrize("path", BRIEFS, ids=lambda p: p.stem)
@pytest.mark.parametrize("variant", [1, 2])
def test_composed_drafts_hold_the_facts_verbatim_and_pass_the_policy(
    path: Path, variant: int, policy: Policy, prompts: PromptLibrary
) -> None:
    ctx = _ctx(path, policy, prompts)
    brief, facts = ctx.brief, facts_of(ctx)
    lines = Lines(hook="Fresh air and easy paths", opening="The weekend is a good time to walk.")
    fields = compose(facts, lines, variant)
    text = "\n".join(fields.values())
    # the key message and each required phrase, word for word
    assert brief.key_message in text
    for phrase in brief.must_include:
        assert phrase in text
    # the registered offer's wording (its first letter may be capitalised)
    if brief.offer:
        offer = policy.offer(brief.offer)
        assert offer is not None
        assert offer.text[1:] in text
    # no number that the brief, its offer or a registered claim's disclaimer does not state
    disclaimers = [c.disclaimer for c in policy.claims]
    sources = _numbers(" ".join([brief.key_message, brief.goal, facts.offer, *disclaimers]))
    assert _numbers(text) <= sources
    # the channel's length budgets (the guardrails' targets, not just the hard limits)
    for name, value in fields.items():
        budget = copycheck.BUDGETS[brief.channel][name]
        assert copycheck.measure(value, budget) <= budget.target, (name, value)
    # it reads as a valid draft of the channel, and no guardrail blocks it
    draft = parse_reply(json.dumps(fields), brief.channel, prefer="labelled")
    assert draft.fields() == {k: v.strip() for k, v in fields.items()}
    blocks = [f for f in policy.check(brief.channel, fields, brief=brief) if f.severity == Severity.BLOCK]
    assert blocks == []


def test_sms_ends_with_the_opt_out_in_one_segment(policy: Policy, prompts: PromptLibrary) -> None:
    ctx = _ctx(REPO / "briefs" / "sms-active-restock.yaml", policy, prompts)
    facts = facts_of(ctx)
    budget = copycheck.BUDGETS[Channel.SMS]["text"]
    short = compose(facts, Lines(hook="Your trail pack is waiting"))["text"]
    assert short.startswith(f"{BRAND}: Your trail pack is waiting.")
    assert short.endswith(SMS_OPT_OUT)
    assert copycheck.measure(short, budget) == 1
    # a hook that would push the SMS into a second segment is dropped, never the facts
    long_hook = "Pack light and walk far " * 3
    text = compose(facts, Lines(hook=long_hook.strip()))["text"]
    assert "Pack light" not in text
    assert ctx.brief.key_message in text and text.endswith(SMS_OPT_OUT)
    assert copycheck.measure(text, budget) == 1


def test_a_claim_in_the_facts_brings_its_disclaimer(policy: Policy, prompts: PromptLibrary) -> None:
    ctx = _ctx(REPO / "briefs" / "boots-onboarding.yaml", policy, prompts)  # "... and waterproof"
    body = compose(facts_of(ctx), Lines())["body"]
    assert "Waterproof to 10,000 mm hydrostatic head (tested to ISO 811)." in body


@pytest.mark.parametrize("line", [
    "SUMMIT TRAIL BOOTS ARE HERE",  # shouting
    "Write to jane at gmail dot com",  # echo of an instruction word
    "Mail us at help@ridgeline.example",  # symbol
    "Save 20% on boots this spring",  # digits
    "The best boots for every walk",  # a superlative the brief does not use
    "I love walking in the hills",  # first person
    "Your boots and the",  # ends mid-phrase
    "Subject line: Care for your boots",  # a label
    "Care for your zqxwvt boots",  # gibberish (per the word check)
    "A very long subject line that goes on and on about boots and care",  # too long
    "Sunny days on the beach",  # off the brief's topic
])
def test_clean_line_rejects_what_a_small_model_gets_wrong(
    line: str, policy: Policy, prompts: PromptLibrary
) -> None:
    facts = facts_of(_ctx(REPO / "briefs" / "boots-onboarding.yaml", policy, prompts))
    assert clean_line(line, "subject", facts, known=lambda w: w.lower() != "zqxwvt") is None


def test_clean_line_keeps_a_plain_line(policy: Policy, prompts: PromptLibrary) -> None:
    facts = facts_of(_ctx(REPO / "briefs" / "boots-onboarding.yaml", policy, prompts))
    assert clean_line(' "Care for your boots, walk for years" ', "subject", facts,
                      known=lambda w: True) == "Care for your boots, walk for years"
    assert clean_line("Good boots deserve a little care", "opening", facts) == (
        "Good boots deserve a little care.")
    # an opening must be on the brief's topic too
    assert clean_line("A lot has changed on this planet.", "opening", facts) is None


def test_write_draft_takes_the_best_good_candidate(policy: Policy, prompts: PromptLibrary) -> None:
    ctx = _ctx(REPO / "briefs" / "boots-onboarding.yaml", policy, prompts)
    writer = Scripted(
        "SUMMIT TRAIL BOOTS",  # shouting
        "Kinder to your boots than Peakway",  # a competitor: a guardrail block
        "Care for your boots after every walk",
        "Good boots deserve a little care.",  # openings: the second scores higher
        "A few minutes after a walk goes a long way, favourite.",
        "My boots are great.",  # first person
    )
    result = write_draft(ctx, prompts, writer, opening=True)
    assert result.fields["subject"] == "Care for your boots after every walk"
    assert result.fields["body"].startswith('Hi {{ first_name | default("there") }},\n\n'
                                            "A few minutes after a walk goes a long way, favourite.")
    assert result.calls == 6 and result.usage == Usage(600, 60)
    assert [r.split(":")[0] for r in result.rejected] == ["subject", "subject", "opening"]
    assert "guardrail block" in result.rejected[1]
    # the few-shot prompt carries the key message as the topic
    assert ctx.brief.key_message in writer.prompts[0]


def test_nothing_usable_falls_back_to_the_brief_s_own_words(
    policy: Policy, prompts: PromptLibrary
) -> None:
    ctx = _ctx(REPO / "briefs" / "spring-generic.yaml", policy, prompts)
    result = write_draft(ctx, prompts, Scripted(), opening=True)  # only shouting
    assert result.lines == Lines()
    assert result.fields["subject"] == ctx.brief.title
    assert result.calls == 6  # three candidates for each line
    blocks = [f for f in policy.check(Channel.EMAIL, result.fields, brief=ctx.brief)
              if f.severity == Severity.BLOCK]
    assert blocks == []


def test_by_default_only_the_hook_is_the_model_s(policy: Policy, prompts: PromptLibrary) -> None:
    ctx = _ctx(REPO / "briefs" / "winback-dormant.yaml", policy, prompts)
    writer = Scripted("Something new for your next walk, and jacket")
    result = write_draft(ctx, prompts, writer)
    assert result.calls == 3  # the hook's candidates only
    assert result.lines.opening is None
    assert result.fields["body"].split("\n\n")[1] == ctx.brief.key_message


def test_drafting_sets_the_context_for_the_block_only(policy: Policy, prompts: PromptLibrary) -> None:
    brief = load_model(BRIEFS[0], Brief)
    assert current() is None
    with drafting(brief, policy, BRAND, prompts=prompts) as ctx:
        assert current() is ctx
    assert current() is None


@pytest.mark.slow
def test_embedded_model_composes_grounded_drafts(policy: Policy, prompts: PromptLibrary) -> None:
    from copydesk.llm.embedded import EmbeddedBackend
    from copydesk.llm.generate import GenerationOptions, Generator
    from copydesk.llm.settings import load_settings

    settings = load_settings({}, overrides={"seed": 5})
    brief = load_model(REPO / "briefs" / "sms-active-restock.yaml", Brief)
    gen = Generator(EmbeddedBackend(settings), prompts, policy,
                    GenerationOptions.from_settings(settings), brand=BRAND)
    with drafting(brief, policy, BRAND, prompts=prompts):
        result = gen.run(brief, 2)
    for outcome in result.outcomes:
        assert outcome.status == "ok", outcome.error
        assert outcome.blocks == []
        assert outcome.fields is not None
        text = outcome.fields["text"]
        assert text.startswith(f"{BRAND}:") and text.endswith(SMS_OPT_OUT)
        assert brief.key_message in text
        assert copycheck.measure(text, copycheck.BUDGETS[Channel.SMS]["text"]) == 1
        assert outcome.provenance["parameters"]["sent"]["composed"] is True
