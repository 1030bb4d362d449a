"""The sample packs: their inline tests pass, coverage fails untested rules,
profanity and special categories behave, and Ridgeline's registries load."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from copydesk.guardrails import Policy, load_policy, run_policy_tests
from copydesk.guardrails.selftest import test_rule as run_rule_tests

from .conftest import SAMPLE

SAMPLE_RULES = [r.spec.id for r in load_policy(SAMPLE).rules]


@pytest.mark.parametrize("rule_id", SAMPLE_RULES)
def test_inline_tests_pass(sample_policy: Policy, rule_id: str) -> None:
    rule = next(r for r in sample_policy.rules if r.spec.id == rule_id)
    report = run_rule_tests(sample_policy, rule)
    assert report.ok, report.failures
    assert report.fire >= 1


def test_every_category_of_the_issue_is_covered(sample_policy: Policy) -> None:
    cats = {r.spec.category.value for r in sample_policy.rules}
    assert cats >= {"pii", "special_category", "claims", "disclaimer", "urgency", "competitor",
                    "profanity", "tone", "terminology", "length", "readability", "template",
                    "injection"}  # fmt: skip


def test_rule_without_firing_test_fails(make_policy: Callable[[str], Policy]) -> None:
    policy = make_policy(
        """
        pack: p
        rules:
          - id: untested
            type: existence
            category: tone
            message: x
            terms: [epic]
            tests: {pass: ["calm"]}
          - id: wrong
            type: existence
            category: tone
            message: x
            terms: [epic]
            tests: {fire: ["calm"], pass: ["epic"]}
        """
    )
    reports = {r.rule_id: r for r in run_policy_tests(policy)}
    assert reports["untested"].failures == ["no test fires this rule (add a 'fire' input under tests:)"]
    assert len(reports["wrong"].failures) == 2


def test_profanity_obfuscations_and_no_scunthorpe(sample_policy: Policy) -> None:
    def hits(text: str) -> list[str]:
        return [f.match for f in sample_policy.check("email", {"body": text}) if f.category == "profanity"]

    assert hits("What the f.u.c.k") == ["f.u.c.k"]
    assert hits("total $h1t") == ["$h1t"]
    assert hits("b1tch please") == ["b1tch"]
    for innocent in ["Scunthorpe", "Penistone", "Essex", "Sussex", "Middlesex", "cocktail", "assessment",
                     "classic", "Shitterton", "prickly", "scrapbook", "Dickens", "therapist", "grape"]:  # fmt: skip
        assert hits(f"Visit {innocent} this spring") == [], innocent


def test_special_category_flags_the_reader_not_the_topic(sample_policy: Policy) -> None:
    def cats(text: str) -> list[str]:
        return [f.match for f in sample_policy.check("email", {"body": text}) if f.category == "special_category"]

    assert "diabetic" in cats("We know you're diabetic, so here are snacks")
    assert cats("As a Catholic, you'll love Sunday walks") == ["Catholic"]
    assert cats("Our charity walk supports diabetes research") == []
    assert cats("Hiking in pregnancy: a guide from our physio") == []


def test_brand_registries(sample_policy: Policy) -> None:
    offer = sample_policy.offer("spring-boots-15")
    assert offer is not None and offer.text == "15% off Summit Trail Boots until 30 April 2027"
    assert sample_policy.offer("nope") is None
    claims = {c.id: c.disclaimer for c in sample_policy.claims}
    assert claims["waterproof"].startswith("Waterproof to 10,000 mm")
    assert "first_name" in sample_policy.allowed_variables
    assert sample_policy.allowed_filters == {"default", "title", "upper", "lower", "round", "int"}
    sources = {r.spec.id: r.source for r in sample_policy.rules}
    assert sources["pii.contact-and-payment"].endswith("base/pii.yaml")
    assert sources["ridgeline.competitors"].endswith("ridgeline.yaml")


def test_sample_briefs_are_clean(sample_policy: Policy) -> None:
    from copydesk.models import Brief
    from copydesk.yamlio import load_model

    from .conftest import REPO

    briefs = sorted((REPO / "briefs").glob("*.yaml"))
    assert briefs
    for path in briefs:
        assert sample_policy.check_brief(load_model(path, Brief)) == [], path.name


def test_empty_policy_finds_nothing() -> None:
    assert Policy.empty().check("email", {"subject": "F*CK!!! cheapest", "body": "x"}) == []
    assert Policy.empty().allowed_variables == frozenset()
