"""The review state machine, four eyes, block findings, waivers, expiry, permissions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from copydesk import clock
from copydesk.errors import (
    BlockedByFindings,
    InputError,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    SelfApprovalError,
    StaleRevisionError,
)
from copydesk.models import Finding
from copydesk.vocab import Category, Severity, Status
from tests.conftest import PASSWORD

EMAIL = {"subject": "Care for your boots, {{ first_name | default('there') }}",
         "body": "Clean them after each walk with the Boot Care Kit.", "cta": "Read the guide"}


def draft(desk, author="ana", brief="boots-onboarding", fields=None):
    return desk.add_variant(brief, fields or EMAIL, actor=author)


def test_full_lifecycle(desk):
    v = draft(desk)
    assert v.status == Status.DRAFT and v.current.number == 1
    v = desk.submit(v.id, actor="ana")
    assert v.status == Status.IN_REVIEW
    v = desk.approve(v.id, actor="ben", comment="ok", review_by=clock.today() + timedelta(days=90))
    assert v.status == Status.APPROVED
    assert v.approved_hash == v.current.content_hash and v.approved_by == "ben"
    [item] = desk.approved_content()
    assert item.variant_id == v.id and item.content_hash == v.approved_hash
    v = desk.retire(v.id, actor="ben")
    assert v.status == Status.RETIRED
    assert desk.approved_content() == []
    actions = [e.action for e in desk.audit_log(entity_id=v.id)]
    assert actions == ["variant.add", "variant.submit", "variant.approve", "variant.retire"]


def test_author_cannot_approve_even_with_reviewer_role(desk):
    v = draft(desk, author="cy")
    desk.submit(v.id, actor="cy")
    with pytest.raises(SelfApprovalError, match="four eyes"):
        desk.approve(v.id, actor="cy")


def test_editor_cannot_approve_the_revision_they_edited(desk):
    v = draft(desk, author="ana")
    desk.edit_variant(v.id, {"body": "Brush off the mud, then dry them slowly."}, actor="cy")
    desk.submit(v.id, actor="ana")
    with pytest.raises(SelfApprovalError):
        desk.approve(v.id, actor="cy")
    assert desk.approve(v.id, actor="ben").status == Status.APPROVED


def test_edit_makes_new_revision_and_withdraws_approval(desk):
    v = draft(desk)
    desk.submit(v.id, actor="ana")
    approved = desk.approve(v.id, actor="ben")
    old_hash = approved.approved_hash
    edited = desk.edit_variant(v.id, {"cta": "See the care guide"}, actor="ana")
    assert edited.current.number == 2 and edited.status == Status.DRAFT
    assert edited.current.content_hash != old_hash
    assert edited.approved_hash is None
    assert desk.approved_content() == []
    assert [r.number for r in desk.revisions(v.id)] == [1, 2]


def test_edit_with_no_change_is_refused(desk):
    v = draft(desk)
    with pytest.raises(InputError, match="nothing changed"):
        desk.edit_variant(v.id, {"cta": EMAIL["cta"]}, actor="ana")


def test_invalid_transitions(desk):
    v = draft(desk)
    with pytest.raises(InvalidTransition):
        desk.approve(v.id, actor="ben")
    with pytest.raises(InvalidTransition):
        desk.retire(v.id, actor="ben")
    desk.submit(v.id, actor="ana")
    with pytest.raises(InvalidTransition):
        desk.submit(v.id, actor="ana")
    desk.reject(v.id, actor="ben", comment="too pushy")
    with pytest.raises(InvalidTransition):
        desk.approve(v.id, actor="bea")
    assert desk.submit(v.id, actor="ana").status == Status.IN_REVIEW


def test_reject_needs_a_comment(desk):
    v = draft(desk)
    desk.submit(v.id, actor="ana")
    with pytest.raises(InputError, match="comment"):
        desk.reject(v.id, actor="ben", comment="  ")


def test_permissions(desk):
    v = draft(desk)
    with pytest.raises(PermissionDenied):
        desk.add_variant("boots-onboarding", EMAIL, actor="ben")
    with pytest.raises(PermissionDenied):
        desk.submit(v.id, actor="max")
    desk.submit(v.id, actor="ana")
    with pytest.raises(PermissionDenied):
        desk.approve(v.id, actor="max")
    with pytest.raises(PermissionDenied):
        desk.export_text("json", actor="ana")
    with pytest.raises(NotFoundError):
        desk.approve(v.id, actor="nobody")


def test_stale_revision_is_refused(desk):
    v = draft(desk)
    desk.submit(v.id, actor="ana")
    desk.edit_variant(v.id, {"cta": "Shop care kits"}, actor="ana")
    desk.submit(v.id, actor="ana")
    with pytest.raises(StaleRevisionError, match="revision 1"):
        desk.approve(v.id, actor="ben", expected_revision=1)
    with pytest.raises(StaleRevisionError):
        desk.approve(v.id, actor="ben", expected_hash=v.current.content_hash[:12])
    assert desk.approve(v.id, actor="ben", expected_revision=2).status == Status.APPROVED


def test_second_reviewer_gets_clear_error(desk):
    v = draft(desk)
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben", expected_revision=1)
    with pytest.raises(InvalidTransition, match="approved by ben"):
        desk.approve(v.id, actor="bea", expected_revision=1)


class BlockingPolicy:
    """Flags the word 'guaranteed' as a block finding."""

    def check(self, channel, fields, *, brief=None):
        out = []
        for name, text in fields.items():
            i = text.find("guaranteed")
            if i >= 0:
                out.append(Finding(rule_id="claims.absolute", category=Category.CLAIMS,
                                   severity=Severity.BLOCK, field=name, start=i, end=i + 10,
                                   match="guaranteed", message="absolute claim 'guaranteed'"))
        return out


def test_block_finding_prevents_submit_until_waived(desk):
    desk.policy = BlockingPolicy()
    v = draft(desk, fields={**EMAIL, "body": "Dry feet guaranteed."})
    [finding] = v.current.findings
    assert (finding.field, finding.start, finding.end) == ("body", 9, 19)
    with pytest.raises(BlockedByFindings, match="claims.absolute"):
        desk.submit(v.id, actor="ana")
    own = desk.add_variant("boots-onboarding", {**EMAIL, "body": "guaranteed"}, actor="cy")
    with pytest.raises(SelfApprovalError):
        desk.waive(own.id, "claims.absolute", actor="cy", reason="mine")
    with pytest.raises(InputError):
        desk.waive(v.id, "claims.absolute", actor="ben", reason=" ")
    waived = desk.waive(v.id, "claims.absolute", actor="ben", reason="quoting the warranty terms")
    assert waived.current.waivers[0].by == "ben"
    desk.submit(v.id, actor="ana")
    assert desk.approve(v.id, actor="bea").status == Status.APPROVED
    # an edit re-checks: the waiver belonged to the old revision only
    edited = desk.edit_variant(v.id, {"cta": "Shop now"}, actor="ana")
    assert edited.current.waivers == []
    with pytest.raises(BlockedByFindings):
        desk.submit(v.id, actor="ana")


def test_expired_approval_is_not_eligible_and_can_be_reapproved(desk):
    v = draft(desk)
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben", review_by=date.today() + timedelta(days=10))
    assert len(desk.approved_content()) == 1
    clock.freeze(datetime.now(UTC) + timedelta(days=11))
    assert desk.approved_content() == []
    assert [x.id for x in desk.list_variants(status="expired")] == [v.id]
    assert desk.list_variants(status="approved") == []
    again = desk.approve(v.id, actor="bea", review_by=date.today() + timedelta(days=300))
    assert again.status == Status.APPROVED and len(desk.approved_content()) == 1


def test_review_by_in_the_past_is_refused(desk):
    v = draft(desk)
    desk.submit(v.id, actor="ana")
    with pytest.raises(InputError, match="future"):
        desk.approve(v.id, actor="ben", review_by=date(2000, 1, 1))


def test_unknown_channel_field_and_missing_required_field(desk):
    with pytest.raises(InputError, match="no field"):
        desk.add_variant("boots-onboarding", {"subject": "s", "body": "b", "text": "x"}, actor="ana")
    with pytest.raises(InputError, match="need"):
        desk.add_variant("boots-onboarding", {"subject": "s"}, actor="ana")


def test_search_and_filters(desk):
    a = draft(desk)
    desk.add_variant("sms-active-restock", {"text": "Ridgeline: the Trailhead Daypack is back."}, actor="ana")
    assert [v.id for v in desk.search("boots")] == [a.id]  # stemmed: 'boots' ~ 'boot'
    assert [v.channel.value for v in desk.list_variants(channel="sms")] == ["sms"]
    assert desk.search("  ") == []
    assert desk.search('"; DROP TABLE variants; --') == []


def test_first_user_must_be_admin(bare_ws):
    from copydesk.services import Desk
    from copydesk.vocab import Role

    d = Desk.memory(bare_ws)
    with pytest.raises(PermissionDenied, match="first user"):
        d.add_user("ana", [Role.COPYWRITER], PASSWORD, actor=None)
    d.add_user("root", [Role.ADMIN], PASSWORD, actor=None)
    with pytest.raises(PermissionDenied):
        d.add_user("ana", [Role.COPYWRITER], PASSWORD, actor=None)
    assert d.authenticate("root", PASSWORD).name == "root"
    from copydesk.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        d.authenticate("root", "wrong-password")
    stored = d.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("scrypt$") and PASSWORD not in stored


def test_count_matches_list_for_every_filter(desk):
    a = draft(desk)
    desk.submit(a.id, actor="ana")
    desk.approve(a.id, actor="ben", review_by=date.today() + timedelta(days=5))
    draft(desk)
    desk.add_variant("sms-active-restock", {"text": "Ridgeline: the Trailhead Daypack is back."}, actor="ana")
    filters = [{}, {"status": "approved"}, {"status": "draft"}, {"status": "expired"}, {"channel": "sms"},
               {"stage": "onboarding"}, {"brief_id": "boots-onboarding"}, {"expiring_within_days": 10},
               {"expiring_within_days": 2}, {"ids": []}, {"ids": [a.id, "V99"]}]
    for f in filters:
        assert desk.count_variants(**f) == len(desk.list_variants(**f)), f
    assert desk.count_variants(expiring_within_days=10) == 1
    with pytest.raises(InputError, match="unknown status"):
        desk.count_variants(status="live")
