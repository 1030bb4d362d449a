"""Allocation that learns: Thompson weights, the min_share floor, the campaign syntax,
and how decide() uses them (holdout untouched, deterministic, visible in the trace)."""

from __future__ import annotations

import pickle
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from copydesk.errors import InputError
from copydesk.rules import Outcome, Plan, decide, explain_dict, explain_text
from copydesk.rules.allocate import (
    DRAWS,
    ArmCounts,
    OutcomeCounts,
    allocate,
    allocation_seed,
    floor_shares,
    probability_best,
)
from copydesk.rules.campaign import parse_campaign
from tests.rules.rules_helpers import LIBRARY, NOW, TODAY, campaign, contact, content

RULE = "new-customers"
TRIO = [content("V1", "trio"), content("V2", "trio"), content("V3", "trio")]


def learning(min_share: float | None = 0.1, holdout: float = 0.1, **variants: Any) -> Any:
    choice: dict[str, Any] = {"brief": "trio", "allocate": "thompson", **variants}
    if min_share is not None:
        choice["min_share"] = min_share
    return campaign(holdout=holdout, select=[{"id": RULE, "variants": choice}])


def counts(**arms: tuple[int, int]) -> OutcomeCounts:
    return OutcomeCounts(TODAY, by_rule={RULE: {vid: ArmCounts(*sc) for vid, sc in arms.items()}})


def plan(c: Any, outcomes: OutcomeCounts | None) -> Plan:
    return Plan.build(c, TRIO, today=TODAY, outcomes=outcomes)


# -- the weights ---------------------------------------------------------------------

def test_probability_best_matches_a_known_answer() -> None:
    # X ~ Beta(2, 1), Y ~ Beta(1, 1): P(X > Y) = E[X] = 2/3
    p = probability_best([ArmCounts(1, 1), ArmCounts(0, 0)], seed=7)
    assert p[0] == pytest.approx(2 / 3, abs=0.012) and sum(p) == pytest.approx(1)


def test_probability_best_is_seeded_and_stable() -> None:
    arms = [ArmCounts(20, 1000), ArmCounts(27, 1000), ArmCounts(30, 1000)]
    first = probability_best(arms, seed=allocation_seed("c", "r", TODAY))
    assert first == probability_best(arms, seed=allocation_seed("c", "r", TODAY))
    assert first != probability_best(arms, seed=allocation_seed("c", "r", TODAY + timedelta(days=1)))
    # pinned: the sampler reads numpy's PCG64 bit stream (stable across numpy versions),
    # so a changed sampler or seed derivation shows up here, not as contacts moving
    assert first == pytest.approx([0.0364, 0.32445, 0.63915], abs=3e-4)


def test_identical_counts_split_exactly_evenly() -> None:
    assert probability_best([ArmCounts()] * 3, seed=1) == [1 / 3] * 3
    p = probability_best([ArmCounts(5, 100), ArmCounts(5, 100), ArmCounts(1, 100)], seed=1)
    assert p[0] == p[1] > p[2]


@pytest.mark.parametrize(
    ("p", "floor", "expected"),
    [
        ([0.0, 0.0, 1.0], 0.1, [0.1, 0.1, 0.8]),
        ([0.05, 0.15, 0.8], 0.1, [0.1, 0.15 * 0.9 / 0.95, 0.8 * 0.9 / 0.95]),
        ([0.2, 0.3, 0.5], 0.0, [0.2, 0.3, 0.5]),
        ([0.9, 0.1, 0.0], 1 / 3, [1 / 3, 1 / 3, 1 / 3]),
        ([0.02, 0.03, 0.95], 0.25, [0.25, 0.25, 0.5]),
    ],
)
def test_floor_shares(p: list[float], floor: float, expected: list[float]) -> None:
    got = floor_shares(p, floor)
    assert got == pytest.approx(expected) and sum(got) == pytest.approx(1)
    assert min(got) >= floor - 1e-12


def test_floor_above_an_even_share_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        floor_shares([0.5, 0.5], 0.6)


def test_allocate_without_outcomes_is_even_and_says_so() -> None:
    a = allocate("c", "r", ["V1", "V2", "V3"], {}, day=TODAY, min_share=0.1)
    assert a.weights == (1 / 3, 1 / 3, 1 / 3) and "no outcomes yet" in a.note


def test_allocate_lowers_a_floor_too_high_for_the_variants_it_has() -> None:
    a = allocate("c", "r", ["V1", "V2", "V3"], {"V3": ArmCounts(9, 10)}, day=TODAY, min_share=0.5)
    assert a.min_share == pytest.approx(1 / 3) and a.weights == pytest.approx((1 / 3,) * 3)
    assert "more than 1/3" in a.note


def test_counts_must_be_possible() -> None:
    with pytest.raises(ValueError, match="successes <= trials"):
        ArmCounts(5, 3)


# -- the campaign file ---------------------------------------------------------------

BASE = """\
id: a
channel: email
template: email/default
select:
  - id: r
    variants: {CHOICE}
"""


def test_allocate_syntax_parses() -> None:
    c = parse_campaign(BASE.replace("{CHOICE}", "{brief: X, allocate: thompson, metric: converted, min_share: 0.1}"),
                       "c.yaml")
    choice = c.select[0].variants
    assert (choice.allocate, choice.learn_metric, choice.floor) == ("thompson", "converted", 0.1)
    assert choice.describe() == "brief X, thompson on converted, min share 0.1"
    assert c.allocates


def test_plain_choice_does_not_allocate() -> None:
    c = parse_campaign(BASE.replace("{CHOICE}", "{brief: X}"), "c.yaml")
    assert not c.allocates and c.select[0].variants.describe() == "brief X"


@pytest.mark.parametrize(
    ("choice", "field", "message"),
    [
        ("{brief: X, allocate: bandit}", "select[0].variants.allocate", "Input should be 'thompson'"),
        ("{brief: X, allocate: thompson, metric: revenue}", "select[0].variants.metric", "yes/no outcome"),
        ("{brief: X, allocate: thompson, metric: opened}", "select[0].variants.metric", "use converted"),
        ("{brief: X, allocate: thompson, min_share: -0.1}", "select[0].variants.min_share", "greater than or equal"),
        ("{brief: X, allocate: thompson, min_share: 1.5}", "select[0].variants.min_share", "less than or equal"),
        ("{brief: X, allocate: thompson, min_share: .nan}", "select[0].variants.min_share", "finite"),
        ("{ids: [V1, V2, V3], allocate: thompson, min_share: 0.4}", "select[0].variants", "more than 1/3"),
        ("{ids: [V1, V2], weights: [1, 1], allocate: thompson}", "select[0].variants", "not both"),
        ("{brief: X, min_share: 0.1}", "select[0].variants", "'min_share' needs 'allocate: thompson'"),
        ("{brief: X, metric: converted}", "select[0].variants", "'metric' needs 'allocate: thompson'"),
        ("{brief: X, allocate: thompson, min_shares: 0.1}", "select[0].variants.min_shares", "unknown field"),
    ],
)
def test_allocate_mistakes_name_file_line_and_field(choice: str, field: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_campaign(BASE.replace("{CHOICE}", choice), "campaigns/a.yaml")
    err = info.value
    assert (err.source, err.line, err.field) == ("campaigns/a.yaml", 6, field)
    assert message in str(err)


def test_min_share_of_exactly_an_even_share_is_accepted() -> None:
    c = parse_campaign(BASE.replace("{CHOICE}", "{ids: [V1, V2, V3], allocate: thompson, min_share: 0.3333}"), "c")
    assert c.select[0].variants.floor == 0.3333


# -- decisions -----------------------------------------------------------------------

def _assignments(p: Plan, n: int = 3000) -> dict[str, str]:
    out = {}
    for i in range(n):
        d = p.decide(contact(f"C{i}"), now=NOW, trace=False)
        out[f"C{i}"] = d.variant.variant_id if d.variant is not None else d.outcome.value
    return out


def test_without_outcomes_a_learning_rule_assigns_like_an_even_split() -> None:
    plain = campaign(holdout=0.1, select=[{"id": RULE, "variants": {"brief": "trio"}}])
    assert _assignments(plan(learning(), None)) == _assignments(plan(plain, None))
    assert _assignments(plan(learning(), counts())) == _assignments(plan(plain, None))


def test_the_holdout_does_not_depend_on_the_weights() -> None:
    skewed = counts(V1=(0, 500), V2=(1, 500), V3=(60, 500))
    held_plain = {c for c, v in _assignments(plan(learning(), None)).items() if v == "holdout"}
    held_learnt = {c for c, v in _assignments(plan(learning(), skewed)).items() if v == "holdout"}
    assert held_plain == held_learnt and 200 < len(held_plain) < 400


def test_learnt_weights_steer_the_split_but_keep_min_share() -> None:
    skewed = counts(V1=(0, 500), V2=(1, 500), V3=(60, 500))
    p = plan(learning(min_share=0.1), skewed)
    (a,) = p.allocations
    assert a.weights == pytest.approx((0.1, 0.1, 0.8))
    got = Counter(v for v in _assignments(p, 20_000).values() if v != "holdout")
    treated = sum(got.values())
    assert got["V3"] / treated == pytest.approx(0.8, abs=0.015)
    assert got["V1"] / treated == pytest.approx(0.1, abs=0.01) and got["V2"] / treated == pytest.approx(0.1, abs=0.01)


def test_same_inputs_same_assignment_and_a_new_day_may_differ() -> None:
    data = counts(V1=(4, 200), V2=(6, 200), V3=(7, 200))
    first = _assignments(plan(learning(), data))
    assert first == _assignments(plan(learning(), data))
    tomorrow = Plan.build(learning(), TRIO, today=TODAY + timedelta(days=1),
                          outcomes=OutcomeCounts(TODAY + timedelta(days=1), by_rule=data.by_rule))
    assert tomorrow.allocations[0].weights != plan(learning(), data).allocations[0].weights


def test_counts_for_another_day_are_refused() -> None:
    with pytest.raises(ValueError, match="as of"):
        Plan.build(learning(), TRIO, today=TODAY, outcomes=OutcomeCounts(TODAY - timedelta(days=1)))


def test_counts_attached_to_the_campaign_are_used_and_survive_pickling() -> None:
    data = counts(V1=(0, 500), V2=(1, 500), V3=(60, 500))
    attached = learning().with_outcomes(data)
    again = pickle.loads(pickle.dumps(attached))
    assert again.outcomes == data
    assert Plan.build(again, TRIO, today=TODAY).allocations[0].weights == plan(learning(), data).allocations[0].weights
    assert learning().outcomes is None


def test_trace_shows_weights_counts_date_and_method() -> None:
    data = counts(V1=(3, 120), V2=(9, 118), V3=(4, 121))
    d = decide(learning(holdout=0.0), contact("C7"), [], TRIO, now=NOW, outcomes=data)
    assert d.outcome is Outcome.SELECTED
    step = next(s for s in d.trace if s.stage == "allocation")
    assert step.expected == {"method": "thompson", "metric": "converted", "as_of": "2026-06-01",
                             "min_share": 0.1, "draws": DRAWS}
    assert [(a["variant_id"], a["successes"], a["trials"]) for a in step.actual] == [
        ("V1", 3, 120), ("V2", 9, 118), ("V3", 4, 121)]
    assert sum(a["weight"] for a in step.actual) == pytest.approx(1, abs=1e-3)
    text = explain_text(d)
    assert "allocation: thompson on converted, outcomes known before 2026-06-01, min share 0.1" in text
    assert "V2 " in text and "(9/118 converted, P(best) " in text
    assert [s["stage"] for s in explain_dict(d)["trace"]][-2:] == ["allocation", "split"]


def test_held_out_contacts_get_no_allocation_step() -> None:
    p = plan(learning(holdout=0.5), counts(V1=(1, 10)))
    held = next(d for i in range(50) if (d := p.decide(contact(f"C{i}"), now=NOW)).outcome is Outcome.HOLDOUT)
    assert all(s.stage != "allocation" for s in held.trace)


def test_a_learning_brief_with_one_variant_sends_it() -> None:
    c = campaign(select=[{"id": RULE, "variants": {"brief": "boots-onboarding", "allocate": "thompson"}}])
    p = Plan.build(c, [LIBRARY[0]], today=TODAY)
    assert p.allocations[0].weights == (1.0,)
    assert p.decide(contact(), now=NOW).variant == LIBRARY[0]


def test_counts_not_given_are_not_called_no_outcomes() -> None:
    assert "no outcome counts were given" in plan(learning(), None).allocations[0].note
    assert "no outcomes yet" in plan(learning(), counts()).allocations[0].note
