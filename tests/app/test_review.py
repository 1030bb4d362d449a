"""Review: four eyes, approval by another reviewer, stale revisions, reject, waive, diff."""

from __future__ import annotations

from datetime import timedelta

from copydesk.clock import today
from copydesk.models import Finding
from copydesk.services import Desk
from copydesk.vocab import Category, Severity, Status
from tests.app.conftest import EMAIL, in_review, open_page, texts


def _open(user: str, brief: str = "boots-onboarding"):  # type: ignore[no-untyped-def]
    at = open_page(user, "review")
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="review_brief").select(brief).run()
    return at


def _approve_button(at, vid: str, rev: int = 1):  # type: ignore[no-untyped-def]
    return at.button(key=f"FormSubmitter:rv-{vid}-{rev}-Approve")


def test_self_approval_is_refused_with_a_clear_message(team_desk: Desk) -> None:
    vid = in_review(team_desk, author="cy")
    at = _open("cy")
    assert "four eyes means someone else approves it" in texts(at)
    assert _approve_button(at, vid).disabled  # refused before the click, with the reason shown
    assert not at.exception
    assert team_desk.get_variant(vid).status == Status.IN_REVIEW


def test_another_reviewer_approves_with_review_by_date(team_desk: Desk) -> None:
    vid = in_review(team_desk, author="ana")
    at = _open("ben")
    at.radio(key=f"rv-{vid}-1-by-choice").set_value("date").run()  # the date picker appears
    at.text_area(key=f"rv-{vid}-1-comment").input("clear and on brand")
    by = today() + timedelta(days=45)
    at.date_input(key=f"rv-{vid}-1-by").set_value(by)
    _approve_button(at, vid).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    v = team_desk.get_variant(vid)
    assert v.status == Status.APPROVED and v.approved_by == "ben"
    assert v.review_by == by and v.approved_hash == v.current.content_hash
    assert team_desk.reviews(vid)[-1].comment == "clear and on brand"
    assert f"{vid} revision 1 approved." in texts(at)


def test_stale_revision_is_refused(team_desk: Desk) -> None:
    vid = in_review(team_desk, author="ana")
    at = _open("ben")
    team_desk.reject(vid, actor="bea", comment="fix the cta")
    team_desk.edit_variant(vid, {"cta": "See the guide"}, actor="ana")
    team_desk.submit(vid, actor="ana")
    _approve_button(at, vid, 1).click().run()
    assert not at.exception
    assert any("you reviewed revision 1, the current one is 2" in e.value for e in at.error)
    assert team_desk.get_variant(vid).status == Status.IN_REVIEW
    # the page now shows revision 2 with the diff from revision 1
    assert "Changes from revision 1 (by ana)" in [e.label for e in at.expander]
    assert any(">Read</del>" in m.value and ">See</ins> the guide" in m.value for m in at.markdown)


def test_reject_needs_a_comment(team_desk: Desk) -> None:
    vid = in_review(team_desk, author="ana")
    at = _open("ben")
    at.button(key=f"FormSubmitter:rv-{vid}-1-Reject").click().run()
    assert any("a rejection needs a comment" in e.value for e in at.error)
    at.text_area(key=f"rv-{vid}-1-comment").input("too long")
    at.button(key=f"FormSubmitter:rv-{vid}-1-Reject").click().run()
    assert not at.error
    assert team_desk.get_variant(vid).status == Status.REJECTED


def test_block_finding_is_highlighted_and_can_be_waived(team_desk: Desk) -> None:
    text = "Clean them after each walk. Guaranteed dry feet."
    at_ = text.index("Guaranteed")
    finding = Finding(rule_id="claims.guarantee", category=Category.CLAIMS, severity=Severity.BLOCK, field="body",
                      start=at_, end=at_ + len("Guaranteed"), match="Guaranteed", message="unapproved <guarantee>",
                      suggestion="describe the benefit")
    v = team_desk.add_variant("boots-onboarding", {**EMAIL, "body": text}, actor="ana", findings=[finding])
    team_desk.db.execute("UPDATE variants SET status = 'in_review' WHERE id = ?", [v.id])
    team_desk.db.conn.commit()
    at = _open("ben")
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and 'class="cd-block"' in marked[0] and ">Guaranteed</mark>" in marked[0]
    assert "unapproved &lt;guarantee&gt;" in marked[0]  # tooltip escaped
    assert any("describe the benefit" in m.value for m in at.markdown)
    _approve_button(at, v.id).click().run()
    assert any("open block finding" in e.value for e in at.error)
    at.text_input(key=f"rv-{v.id}-1-reason").input("it is a registered warranty")
    at.button(key=f"FormSubmitter:rv-{v.id}-1-waive-Waive").click().run()
    assert not at.error, [e.value for e in at.error]
    assert [w.reason for w in team_desk.get_variant(v.id).current.waivers] == ["it is a registered warranty"]
    _approve_button(at, v.id).click().run()
    assert not at.error
    assert team_desk.get_variant(v.id).status == Status.APPROVED


def test_expired_approval_is_due_and_can_be_reapproved(team_desk: Desk) -> None:
    from datetime import UTC, datetime

    from copydesk import clock

    vid = in_review(team_desk, author="ana")
    team_desk.approve(vid, actor="ben", review_by=today() + timedelta(days=10))
    at = open_page("max", "overview")
    assert "1 expired" not in texts(at) and f"{vid}" in list(at.dataframe[-1].value["id"])  # the due list
    clock.freeze(datetime.now(UTC) + timedelta(days=11))
    at.run()
    assert "1 expired (not sent until re-approved), 0 expiring within 30 days." in texts(at)
    at = open_page("bea", "review")
    at.radio(key="review_source").set_value("Expired approvals").run()
    assert not at.exception
    _approve_button(at, vid).click().run()
    assert not at.error, [e.value for e in at.error]
    v = team_desk.get_variant(vid)
    assert v.approved_by == "bea" and not v.is_expired(today())
