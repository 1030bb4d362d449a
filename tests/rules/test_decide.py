"""Decisions: every suppression reason, selection, fallback, split, holdout and trace."""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from copydesk.errors import InputError
from copydesk.models import SendRecord
from copydesk.rules import Outcome, Plan, decide
from tests.rules.rules_helpers import LIBRARY, NOW, TODAY, campaign, contact, content


def run(c: dict[str, Any], *, history: list[SendRecord] | None = None, library: Any = None,
        **campaign_overrides: Any):  # type: ignore[no-untyped-def]
    return decide(
        campaign(**campaign_overrides), c, history or [], LIBRARY if library is None else library,
        today=TODAY, now=NOW,
    )


def sent(cid: str, days_ago: float, *, channel: str = "email", holdout: bool = False) -> SendRecord:
    return SendRecord(contact_id=cid, campaign_id="other", channel=channel, holdout=holdout,
                      sent_at=NOW - timedelta(days=days_ago))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"consent_email": None}, "no-consent"),
        ({"consent_email": False}, "no-consent"),
        ({"consent_email": "yes"}, "no-consent"),  # text is not consent; readers type "yes"
        ({"lifecycle_stage": "dormant", "last_purchase_at": TODAY - timedelta(days=10)},
         "no-reactivation-for-recent-buyers"),
        ({"skill_level": "expert"}, "no-beginner-content-for-experts"),
        ({"skill_level": "advanced"}, "no-beginner-content-for-experts"),
    ],
)
def test_suppression_reasons(fields: dict[str, Any], reason: str) -> None:
    d = run(contact(**fields))
    assert d.outcome is Outcome.SUPPRESSED and d.reason == reason
    assert d.variant is None


def test_dormant_long_ago_is_not_suppressed() -> None:
    d = run(contact(lifecycle_stage="dormant", last_purchase_at=TODAY - timedelta(days=200)))
    assert d.outcome is Outcome.SELECTED


def test_transactional_skips_consent() -> None:
    d = run(contact(consent_email=None), transactional=True)
    assert d.outcome is Outcome.SELECTED
    assert d.trace[0].stage == "consent" and "transactional" in d.trace[0].note


def test_consent_follows_the_channel() -> None:
    sms = [content("S1", "sms-active-restock", channel="sms")]
    c = contact(consent_email=True)
    d = run(c, library=sms, channel="sms", template="sms/default", select=[],
            fallback={"brief": "sms-active-restock"})
    assert (d.outcome, d.reason) == (Outcome.SUPPRESSED, "no-consent")
    d = run({**c, "consent_sms": True}, library=sms, channel="sms", template="sms/default",
            select=[], fallback={"brief": "sms-active-restock"})
    assert d.outcome is Outcome.SELECTED and d.variant is not None and d.variant.variant_id == "S1"


def test_frequency_cap_counts_this_channel_in_the_window() -> None:
    cap = {"max": 2, "per_days": 7}
    c = contact("C9")
    history = [sent("C9", 1), sent("C9", 6.9)]
    d = run(c, history=history, frequency_cap=cap)
    assert (d.outcome, d.reason) == (Outcome.CAPPED, "frequency-cap")
    step = next(s for s in d.trace if s.stage == "frequency_cap")
    assert (step.actual, step.expected, step.result) == (2, 2, False)
    # outside the window, another channel, a holdout or another contact do not count
    for other in (sent("C9", 7.1), sent("C9", 1, channel="sms"), sent("C9", 1, holdout=True),
                  sent("C8", 1)):
        d = run(c, history=[history[0], other], frequency_cap=cap)
        assert d.outcome is Outcome.SELECTED, other


def test_first_matching_select_rule_wins() -> None:
    d = run(contact(lifecycle_stage="onboarding"))
    assert d.outcome is Outcome.SELECTED and d.rule_id == "new-customers"
    assert d.variant is not None and d.variant.brief_id == "boots-onboarding"


def test_no_match_uses_fallback() -> None:
    d = run(contact(lifecycle_stage="awareness"))
    assert (d.outcome, d.rule_id, d.reason) == (Outcome.SELECTED, "fallback", "fallback")
    assert d.variant is not None and d.variant.variant_id == "V20"


def test_matched_rule_without_eligible_variant_falls_back() -> None:
    lib = [v for v in LIBRARY if v.brief_id != "boots-onboarding"]
    d = run(contact(lifecycle_stage="onboarding"), library=lib)
    assert d.rule_id == "fallback" and d.variant is not None and d.variant.variant_id == "V20"
    step = next(s for s in d.trace if s.stage == "variants" and s.rule_id == "new-customers")
    assert not step.result and "no approved variant" in step.note


def test_no_eligible_variant() -> None:
    lib = [v for v in LIBRARY if v.brief_id == "winback-dormant"]
    d = run(contact(lifecycle_stage="onboarding"), library=lib)
    assert (d.outcome, d.reason, d.rule_id) == (Outcome.NO_VARIANT, "no-eligible-variant",
                                                "new-customers")


def test_expired_and_other_channel_variants_are_never_chosen() -> None:
    lib = [
        content("V1", "boots-onboarding", review_by=TODAY - timedelta(days=1)),
        content("V2", "boots-onboarding", channel="sms"),
        content("V3", "boots-onboarding", review_by=TODAY),  # last valid day
    ]
    for n in range(200):
        d = run(contact(f"C{n}", lifecycle_stage="onboarding"), library=lib, fallback=None)
        assert d.variant is not None and d.variant.variant_id == "V3"


def test_objects_that_are_not_approved_content_are_ignored() -> None:
    draft = content("V1", "boots-onboarding").model_dump()  # a dict, e.g. a draft row
    d = run(contact(lifecycle_stage="onboarding"), library=[draft], fallback=None)
    assert d.outcome is Outcome.NO_VARIANT


def test_newest_approved_revision_wins() -> None:
    lib = [content("V1", "boots-onboarding", revision=1),
           content("V1", "boots-onboarding", revision=3),
           content("V1", "boots-onboarding", revision=2)]
    d = run(contact(lifecycle_stage="onboarding"), library=lib)
    assert d.variant is not None and d.variant.revision == 3


def test_weighted_split_matches_weights() -> None:
    plan = Plan.build(campaign(), LIBRARY, today=TODAY)
    counts: Counter[str] = Counter()
    for n in range(4000):
        d = plan.decide(contact(f"C{n}", lifecycle_stage="loyal", orders=5), now=NOW, trace=False)
        assert d.variant is not None
        counts[d.variant.variant_id] += 1
    assert 0.66 < counts["V12"] / 4000 < 0.74
    assert counts["V12"] + counts["V13"] == 4000


def test_zero_weight_variant_is_never_chosen() -> None:
    sel = [{"id": "loyal", "variants": {"ids": ["V12", "V13"], "weights": [1, 0]}}]
    for n in range(300):
        d = run(contact(f"C{n}"), select=sel)
        assert d.variant is not None and d.variant.variant_id == "V12"


def test_even_split_over_a_brief() -> None:
    plan = Plan.build(campaign(), LIBRARY, today=TODAY)
    counts = Counter(
        plan.decide(contact(f"C{n}", lifecycle_stage="onboarding"), now=NOW).variant.variant_id  # type: ignore[union-attr]
        for n in range(4000)
    )
    assert set(counts) == {"V1", "V2"}
    assert abs(counts["V1"] - 2000) < 200


AUDIENCE = 20_000
SHARE = 0.2


def within(count: int, n: int, p: float) -> bool:
    """``count`` of ``n`` is within 4.5 standard deviations of a binomial(n, p) mean.
    The ids are fixed, so this never flakes; a real skew of a few percent fails it."""
    return abs(count / n - p) <= 4.5 * math.sqrt(p * (1 - p) / n)


@functools.cache
def _loyal() -> tuple[dict[str, Any], ...]:
    return tuple(contact(f"C{i}", lifecycle_stage="loyal", orders=5) for i in range(AUDIENCE))


def loyal_audience(n: int = AUDIENCE) -> list[dict[str, Any]]:
    """Contacts matched by the 'loyal' rule, split V12/V13 by weights 70/30."""
    return list(_loyal()[:n])


def decisions(plan: Plan, audience: list[dict[str, Any]]) -> dict[str, tuple[Outcome, str | None]]:
    out = {}
    for c in audience:
        d = plan.decide(c, now=NOW, trace=False)
        out[d.contact_id] = (d.outcome, d.variant.variant_id if d.variant else None)
    return out


def test_holdout_keeps_the_rule_but_no_variant() -> None:
    plan = Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY)
    got = [plan.decide(c, now=NOW) for c in loyal_audience()]
    held = [d for d in got if d.outcome is Outcome.HOLDOUT]
    treated = [d for d in got if d.outcome is not Outcome.HOLDOUT]
    assert within(len(held), AUDIENCE, SHARE), len(held)
    assert all(d.variant is None and d.rule_id == "loyal" and d.reason == "holdout" for d in held)
    assert all(d.trace[-1].stage == "holdout" and d.trace[-1].result for d in held)
    # among the treated, the split follows the weights (holdout and split use different salts)
    assert all(d.selected and d.variant is not None for d in treated)
    v12 = sum(d.variant.variant_id == "V12" for d in treated)  # type: ignore[union-attr]
    assert within(v12, len(treated), 0.7), v12 / len(treated)


def test_holdout_share_follows_the_configuration() -> None:
    audience = loyal_audience()
    for share in (0.05, 0.5):
        plan = Plan.build(campaign(holdout=share), LIBRARY, today=TODAY)
        held = sum(o is Outcome.HOLDOUT for o, _ in decisions(plan, audience).values())
        assert within(held, AUDIENCE, share), (share, held)
    plan = Plan.build(campaign(holdout=0.0), LIBRARY, today=TODAY)
    assert all(o is Outcome.SELECTED for o, _ in decisions(plan, audience).values())


def test_holdout_does_not_skew_the_split() -> None:
    audience = loyal_audience()
    without = decisions(Plan.build(campaign(holdout=0.0), LIBRARY, today=TODAY), audience)
    with_holdout = decisions(Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY), audience)
    held = {cid for cid, (o, _) in with_holdout.items() if o is Outcome.HOLDOUT}
    # a treated contact gets the variant it gets without any holdout ...
    assert all(with_holdout[cid] == without[cid] for cid in without if cid not in held)
    # ... and the held-out ones are a fair cut: the variants they would have got keep the weights
    v12 = sum(without[cid][1] == "V12" for cid in held)
    assert within(v12, len(held), 0.7), v12 / len(held)


def test_holdout_is_per_campaign() -> None:
    audience = loyal_audience()
    a = decisions(Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY), audience)
    b = decisions(Plan.build(campaign(id="autumn-boots", holdout=SHARE), LIBRARY, today=TODAY), audience)
    both = sum(a[cid][0] is Outcome.HOLDOUT and b[cid][0] is Outcome.HOLDOUT for cid in a)
    assert within(both, AUDIENCE, SHARE * SHARE), both


def test_assignment_is_deterministic_and_independent_of_order_and_of_other_contacts() -> None:
    audience = loyal_audience(4000)
    first = decisions(Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY), audience)
    shuffled = list(audience)
    random.Random(7).shuffle(shuffled)
    assert decisions(Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY), shuffled) == first
    # in other company: every other contact dropped, strangers interleaved
    strangers = [contact(f"X{i}", lifecycle_stage="loyal", orders=5) for i in range(2000)]
    mixed = [c for pair in zip(strangers, audience[::2], strict=True) for c in pair]
    again = decisions(Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY), mixed)
    assert all(again[cid] == first[cid] for cid in first if cid in again)
    assert sum(cid in again for cid in first) == 2000
    # alone, with a fresh plan each time
    for c in audience[:100]:
        alone = decisions(Plan.build(campaign(holdout=SHARE), LIBRARY, today=TODAY), [c])
        assert alone[c["contact_id"]] == first[c["contact_id"]]


def test_suppressed_contacts_are_not_held_out() -> None:
    plan = Plan.build(campaign(holdout=0.99), LIBRARY, today=TODAY)
    for n in range(50):
        d = plan.decide(contact(f"C{n}", consent_email=False), now=NOW)
        assert d.outcome is Outcome.SUPPRESSED


def test_trace_covers_every_step() -> None:
    c = contact(lifecycle_stage="loyal", orders=4)
    d = run(c, holdout=0.01, frequency_cap={"max": 3, "per_days": 7})
    stages = [s.stage for s in d.trace]
    assert stages[0] == "consent"
    assert stages.count("suppress") >= 2
    assert "frequency_cap" in stages and "select" in stages and "variants" in stages
    assert stages[-1] in ("split", "holdout")
    comparisons = [(s.field, s.operator, s.expected, s.actual, s.result) for s in d.trace if s.field]
    assert ("skill_level", "in", ["advanced", "expert"], "beginner", False) in comparisons
    assert ("orders", "gte", 3, 4, True) in comparisons


def test_without_trace_the_decision_is_the_same() -> None:
    plan = Plan.build(campaign(holdout=0.2), LIBRARY, today=TODAY)
    for n in range(200):
        c = contact(f"C{n}", lifecycle_stage=["loyal", "onboarding", "dormant"][n % 3], orders=n % 6)
        a, b = plan.decide(c, now=NOW), plan.decide(c, now=NOW, trace=False)
        assert (a.outcome, a.reason, a.variant) == (b.outcome, b.reason, b.variant)
        assert b.trace == ()


def test_contact_without_id_is_an_input_error() -> None:
    with pytest.raises(InputError, match="contact_id"):
        run({"consent_email": True})


def test_review_by_is_checked_against_the_given_day() -> None:
    lib = [content("V20", "spring-generic", review_by=date(2026, 6, 30))]
    c = campaign(select=[])
    assert decide(c, contact(), [], lib, today=date(2026, 6, 30), now=NOW).selected
    assert not decide(c, contact(), [], lib, today=date(2026, 7, 1), now=NOW).selected
