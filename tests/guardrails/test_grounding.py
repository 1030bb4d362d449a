"""Grounding: facts in a draft must come from the brief, its offer or the registries."""

from __future__ import annotations

import pytest

from copydesk.guardrails import Policy
from copydesk.models import Brief


def brief(offer: str | None = "spring-boots-15", key_message: str = "Boots for spring walks.") -> Brief:
    return Brief(
        id="b", segment={"name": "walkers"}, stage="active", channel="email", goal="Sell boots.",
        key_message=key_message, offer=offer, personalization=["first_name", "loyalty_points"],
    )  # fmt: skip


def grounding(policy: Policy, body: str, b: Brief) -> list[tuple[str, str]]:
    return [(f.rule_id, f.match) for f in policy.check("email", {"body": body}, brief=b) if f.category == "grounding"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Summit Trail Boots: 15% off until 30 April 2027.", []),
        ("Get 15 per cent off until 30th April.", []),
        ("Get 20% off Summit Trail Boots.", [("grounding.percentage", "20%")]),
        ("Now just £99.", [("grounding.price", "£99")]),
        ("Offer ends 31 May 2027.", [("grounding.date", "31 May 2027")]),
        ("Offer ends 30 April 2028.", [("grounding.date", "30 April 2028")]),
        ("Hurry, ends Sunday.", [("grounding.deadline", "Sunday")]),
        ("Pitch the Basecamp 2 Tent in 10 minutes.", [("grounding.number", "10")]),
        ("Pitch the Basecamp 2 Tent tonight.", [("grounding.deadline", "tonight")]),
        ("Plus free shipping on everything.", [("grounding.offer-term", "free shipping")]),
        ("Meet the new Alpine Trail Boots.", [("grounding.product-name", "Alpine Trail Boots")]),
        ("Shop Summit Trail Boots and the Stormshell Jacket.", []),
        ("Waterproof to 10,000 mm hydrostatic head (tested to ISO 811).", []),
        ("You have {{ loyalty_points | default(0) }} points.", []),
    ],
)
def test_grounding(sample_policy: Policy, body: str, expected: list[tuple[str, str]]) -> None:
    assert grounding(sample_policy, body, brief()) == expected


def test_brief_text_grounds_facts(sample_policy: Policy) -> None:
    b = brief(offer=None, key_message="The Basecamp 2 Tent pitches in 10 minutes.")
    assert grounding(sample_policy, "It pitches in 10 minutes.", b) == []
    assert grounding(sample_policy, "15% off boots", b) == [("grounding.percentage", "15%")]


def test_grounding_only_with_a_brief(sample_policy: Policy) -> None:
    assert [f for f in sample_policy.check("email", {"body": "Now 70% off."}) if f.category == "grounding"] == []


def test_grounding_findings_block(sample_policy: Policy) -> None:
    found = sample_policy.check("email", {"body": "Now 70% off."}, brief=brief())
    (f,) = [f for f in found if f.category == "grounding"]
    assert f.severity == "block" and f.start == 4 and f.end == 7


def test_must_avoid(sample_policy: Policy) -> None:
    b = brief().model_copy(update={"must_avoid": ["discount codes"]})
    found = sample_policy.check("email", {"body": "No discount codes needed."}, brief=b)
    assert [(f.rule_id, f.match) for f in found] == [("brief.must-avoid", "discount codes")]
