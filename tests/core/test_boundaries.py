"""Edges the workflow must get exactly right: four eyes over every author and editor,
and the review-by day (still approved on the day itself, expired the day after).

Everything goes through the public Desk API and the rule engine, so these tests keep
holding however the expiry rule is implemented inside.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from copydesk import clock
from copydesk.errors import InputError, InvalidTransition, SelfApprovalError
from copydesk.rules.decide import decide
from copydesk.services import Desk
from tests.core.test_properties import FlagTextPolicy
from tests.rules.rules_helpers import campaign, contact

BRIEF = "boots-onboarding"
START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
REVIEW_BY = date(2030, 5, 20)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# -- four eyes over every author and editor ------------------------------------


def written_by_cy_edited_by_ana(desk: Desk, body: str = "Brush off the mud.") -> str:
    """cy (copywriter+reviewer) writes a variant, ana (copywriter) edits it, in review."""
    v = desk.add_variant(BRIEF, {"subject": "Boot care", "body": body}, actor="cy")
    desk.edit_variant(v.id, {"subject": "Boot care basics"}, actor="ana")
    assert {r.author for r in desk.revisions(v.id)} == {"cy", "ana"}
    return v.id


def test_the_original_author_cannot_approve_after_someone_else_edited(desk: Desk) -> None:
    vid = written_by_cy_edited_by_ana(desk)
    desk.submit(vid, actor="ana")
    with pytest.raises(SelfApprovalError, match="four eyes"):
        desk.approve(vid, actor="cy")
    v = desk.get_variant(vid)
    assert v.status == "in_review" and v.approved_by is None
    assert not desk.reviews(vid)
    assert desk.approve(vid, actor="ben").approved_by == "ben"


def test_an_editor_cannot_approve_what_they_edited(desk: Desk) -> None:
    v = desk.add_variant(BRIEF, {"subject": "Boot care", "body": "Dry slowly."}, actor="ana")
    desk.edit_variant(v.id, {"body": "Dry them slowly."}, actor="cy")
    desk.submit(v.id, actor="ana")
    with pytest.raises(SelfApprovalError):
        desk.approve(v.id, actor="cy")


def test_the_original_author_cannot_waive_after_someone_else_edited(desk: Desk) -> None:
    desk.policy = FlagTextPolicy()
    vid = written_by_cy_edited_by_ana(desk, body="A guaranteed dry foot.")
    assert [f.rule_id for f in desk.get_variant(vid).current.findings] == ["claims.absolute"]
    with pytest.raises(SelfApprovalError, match="four eyes"):
        desk.waive(vid, "claims.absolute", actor="cy", reason="false positive")
    assert not desk.get_variant(vid).current.waivers
    assert desk.waive(vid, "claims.absolute", actor="ben", reason="false positive").current.waivers


# -- the review-by day ----------------------------------------------------------


@pytest.fixture
def approved(desk: Desk) -> str:
    """A variant approved by ben on START with review-by REVIEW_BY."""
    clock.freeze(START)
    v = desk.add_variant(BRIEF, {"subject": "Boot care", "body": "Dry slowly."}, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben", review_by=REVIEW_BY)
    return v.id


@pytest.mark.parametrize("hour", [0, 12, 23])
def test_on_its_review_by_day_approved_content_is_still_current(desk: Desk, approved: str, hour: int) -> None:
    clock.freeze(at(REVIEW_BY, hour))
    assert [a.variant_id for a in desk.approved_content()] == [approved]
    assert [a.variant_id for a in desk.approved_content(today_=REVIEW_BY)] == [approved]
    assert [r["variant_id"] for r in desk.export_records()] == [approved]
    assert [v.id for v in desk.list_variants(status="approved")] == [approved]
    assert desk.list_variants(status="expired") == []
    assert desk.count_variants(status="approved") == 1
    assert desk.count_variants(status="expired") == 0
    assert [v.id for v in desk.list_variants(expiring_within_days=0)] == [approved]
    assert desk.count_variants(expiring_within_days=0) == 1
    counts = desk.status_counts()
    assert (counts["approved"], counts["expired"]) == (1, 0)
    assert not desk.get_variant(approved).is_expired(REVIEW_BY)


@pytest.mark.parametrize("hour", [0, 12, 23])
def test_the_day_after_its_review_by_day_approved_content_is_expired(desk: Desk, approved: str, hour: int) -> None:
    after = REVIEW_BY + timedelta(days=1)
    clock.freeze(at(after, hour))
    assert desk.approved_content() == []
    assert desk.approved_content(today_=after) == []
    assert desk.export_records() == []
    assert desk.list_variants(status="approved") == []
    assert [v.id for v in desk.list_variants(status="expired")] == [approved]
    assert desk.count_variants(status="approved") == 0
    assert desk.count_variants(status="expired") == 1
    assert desk.list_variants(expiring_within_days=30) == []
    assert desk.count_variants(expiring_within_days=30) == 0
    counts = desk.status_counts()
    assert (counts["approved"], counts["expired"]) == (0, 1)
    assert desk.get_variant(approved).is_expired(after)


def test_approved_content_takes_the_day_it_is_asked_about(desk: Desk, approved: str) -> None:
    clock.freeze(START)
    assert [a.variant_id for a in desk.approved_content(today_=REVIEW_BY)] == [approved]
    assert desk.approved_content(today_=REVIEW_BY + timedelta(days=1)) == []
    assert desk.export_records(today_=REVIEW_BY + timedelta(days=1)) == []


def test_variant_is_expired_boundary(desk: Desk, approved: str) -> None:
    v = desk.get_variant(approved)
    assert v.review_by == REVIEW_BY
    assert not v.is_expired(REVIEW_BY - timedelta(days=1))
    assert not v.is_expired(REVIEW_BY)
    assert v.is_expired(REVIEW_BY + timedelta(days=1))


def test_reapproval_is_allowed_only_once_expired(desk: Desk, approved: str) -> None:
    clock.freeze(at(REVIEW_BY))
    with pytest.raises(InvalidTransition, match="approved by ben"):
        desk.approve(approved, actor="bea", review_by=REVIEW_BY + timedelta(days=30))
    clock.freeze(at(REVIEW_BY + timedelta(days=1)))
    again = desk.approve(approved, actor="bea", review_by=REVIEW_BY + timedelta(days=30))
    assert again.approved_by == "bea" and again.review_by == REVIEW_BY + timedelta(days=30)


def test_review_by_today_is_refused_and_tomorrow_accepted(desk: Desk) -> None:
    clock.freeze(START)
    v = desk.add_variant(BRIEF, {"subject": "Boot care", "body": "Dry slowly."}, actor="ana")
    desk.submit(v.id, actor="ana")
    for day in (START.date() - timedelta(days=1), START.date()):
        with pytest.raises(InputError, match="must be in the future"):
            desk.approve(v.id, actor="ben", review_by=day)
        assert desk.get_variant(v.id).status == "in_review"
    tomorrow = START.date() + timedelta(days=1)
    assert desk.approve(v.id, actor="ben", review_by=tomorrow).review_by == tomorrow
    assert [a.variant_id for a in desk.approved_content()] == [v.id]


def test_the_rule_engine_sends_on_the_review_by_day_not_after(desk: Desk, approved: str) -> None:
    # the library as of the review-by day holds the variant; the engine re-checks the day itself
    library = desk.approved_content(today_=REVIEW_BY)
    assert [a.variant_id for a in library] == [approved]
    spring = campaign(select=[], fallback={"brief": BRIEF})
    on_day = decide(spring, contact(), [], library, today=REVIEW_BY, now=at(REVIEW_BY))
    assert on_day.selected and on_day.variant is not None and on_day.variant.variant_id == approved
    after = REVIEW_BY + timedelta(days=1)
    later = decide(spring, contact(), [], library, today=after, now=at(after))
    assert not later.selected and later.reason == "no-eligible-variant"
