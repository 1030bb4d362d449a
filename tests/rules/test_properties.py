"""Hypothesis properties of the rule engine (issue 5)."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from copydesk.models import ApprovedContent
from copydesk.rules import Outcome, Plan, decide
from copydesk.rules.assign import in_holdout
from tests.rules.rules_helpers import LIBRARY, NOW, TODAY, campaign, content

STAGES = ["awareness", "consideration", "onboarding", "active", "dormant", "loyal"]

contacts = st.fixed_dictionaries(
    {
        "contact_id": st.text(min_size=1, max_size=12),
        "lifecycle_stage": st.sampled_from(STAGES),
        "orders": st.integers(min_value=0, max_value=20),
        "skill_level": st.sampled_from(["beginner", "intermediate", "advanced", "expert"]),
        "last_purchase_at": st.dates(min_value=TODAY - timedelta(days=800), max_value=TODAY),
        "consent_email": st.sampled_from([True, False, None, "no", 0, 1]),
    }
).map(lambda c: {k: v for k, v in c.items() if v is not None})

holdouts = st.sampled_from([0.0, 0.05, 0.2, 0.5])


@settings(max_examples=150, deadline=None)
@given(c=contacts, holdout=holdouts)
def test_decisions_are_deterministic(c: dict[str, Any], holdout: float) -> None:
    first = decide(campaign(holdout=holdout), c, [], LIBRARY, today=TODAY, now=NOW)
    again = decide(campaign(holdout=holdout), dict(c), [], list(reversed(LIBRARY)),
                   today=TODAY, now=NOW)
    assert (first.outcome, first.reason, first.rule_id, first.variant) == (
        again.outcome, again.reason, again.rule_id, again.variant)
    assert first.trace == again.trace


library_items = st.lists(
    st.builds(
        lambda n, brief, channel, expiry, as_dict: (
            content(f"V{n}", brief, channel=channel,
                    review_by=None if expiry is None else TODAY + timedelta(days=expiry)),
            as_dict,
        ),
        st.integers(min_value=1, max_value=30),
        st.sampled_from(["boots-onboarding", "rewards-loyal", "spring-generic"]),
        st.sampled_from(["email", "sms"]),
        st.one_of(st.none(), st.integers(min_value=-30, max_value=30)),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(c=contacts, items=library_items)
def test_never_a_non_approved_expired_or_other_channel_revision(
    c: dict[str, Any], items: list[tuple[ApprovedContent, bool]]
) -> None:
    # items flagged as_dict stand for non-approved rows (drafts) that must never be chosen
    library: list[Any] = [item.model_dump() if as_dict else item for item, as_dict in items]
    d = decide(campaign(), c, [], library, today=TODAY, now=NOW)
    if d.variant is not None:
        assert any(d.variant is item for item in library)
        assert d.variant.channel == "email"
        assert d.variant.review_by is None or d.variant.review_by >= TODAY


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(), share=st.floats(min_value=0.01, max_value=0.5),
       campaign_id=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
def test_holdout_share_matches_configuration(seed: int, share: float, campaign_id: str) -> None:
    rng = random.Random(seed)
    n = 20_000
    ids = {f"{rng.getrandbits(48):x}" for _ in range(n)}
    held = sum(in_holdout(campaign_id, cid, share) for cid in ids)
    tolerance = 5 * math.sqrt(share * (1 - share) / len(ids))
    assert abs(held / len(ids) - share) < tolerance


@settings(max_examples=30, deadline=None)
@given(audience=st.lists(contacts, min_size=2, max_size=40, unique_by=lambda c: c["contact_id"]),
       data=st.data())
def test_bucket_does_not_depend_on_other_contacts(
    audience: list[dict[str, Any]], data: st.DataObject
) -> None:
    plan = Plan.build(campaign(holdout=0.3), LIBRARY, today=TODAY)
    before = {c["contact_id"]: plan.decide(c, now=NOW) for c in audience}
    kept = data.draw(st.lists(st.sampled_from(audience), unique_by=lambda c: c["contact_id"]))
    extra = data.draw(st.lists(contacts, max_size=10))
    plan2 = Plan.build(campaign(holdout=0.3), LIBRARY, today=TODAY)
    for c in [*extra, *kept]:
        d = plan2.decide(c, now=NOW)
        if c in kept:
            b = before[c["contact_id"]]
            assert (d.outcome, d.variant) == (b.outcome, b.variant)


@settings(max_examples=200, deadline=None)
@given(c=contacts, holdout=holdouts, transactional=st.just(False))
def test_no_consent_contacts_are_never_selected(
    c: dict[str, Any], holdout: float, transactional: bool
) -> None:
    d = decide(campaign(holdout=holdout, transactional=transactional), c, [], LIBRARY,
               today=TODAY, now=NOW)
    consent = c.get("consent_email")
    if not (consent is True or (type(consent) is int and consent == 1)):
        assert d.outcome is Outcome.SUPPRESSED and d.reason == "no-consent"
        assert d.variant is None
