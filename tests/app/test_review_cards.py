"""Review cards: the width shared by the variants shown, an explicit review-by choice,
Approve disabled with its reason where four eyes forbids it, a readable diff."""

from __future__ import annotations

from datetime import timedelta

from copydesk.clock import today
from copydesk.services import Desk
from copydesk.vocab import Status
from tests.app.conftest import EMAIL, in_review, open_page, texts


def _open(user: str):  # type: ignore[no-untyped-def]
    at = open_page(user, "review")
    at.selectbox(key="review_brief").select("boots-onboarding").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_one_or_two_variants_share_the_width(team_desk: Desk) -> None:
    in_review(team_desk)
    at = _open("ben")
    weights = [c.weight for c in at.columns]
    assert weights[0] == 1.0  # one card: the whole width, not a third
    in_review(team_desk, fields={**EMAIL, "cta": "See the guide"})
    at = _open("ben")
    assert at.columns[0].weight == 0.5  # two cards: half each


def test_review_by_is_an_explicit_choice_and_the_default_is_used(team_desk: Desk) -> None:
    vid = in_review(team_desk)
    at = _open("ben")
    choice = at.radio(key=f"rv-{vid}-1-by-choice")
    assert choice.label == "Review by"
    assert choice.options[0].startswith(f"default ({team_desk.review_days} days")
    assert choice.options[1] == "a date I choose"
    assert not [d for d in at.date_input if d.key == f"rv-{vid}-1-by"]  # no silently ignored date
    at.button(key=f"FormSubmitter:rv-{vid}-1-Approve").click().run()
    assert not at.error, [e.value for e in at.error]
    assert team_desk.get_variant(vid).review_by == today() + timedelta(days=team_desk.review_days)


def test_a_chosen_review_by_date_is_used(team_desk: Desk) -> None:
    vid = in_review(team_desk)
    at = _open("ben")
    at.radio(key=f"rv-{vid}-1-by-choice").set_value("date").run()
    by = today() + timedelta(days=45)
    at.date_input(key=f"rv-{vid}-1-by").set_value(by)
    at.button(key=f"FormSubmitter:rv-{vid}-1-Approve").click().run()
    assert not at.error, [e.value for e in at.error]
    v = team_desk.get_variant(vid)
    assert v.status == Status.APPROVED and v.review_by == by


def test_approve_is_disabled_with_the_reason_on_your_own_variant(team_desk: Desk) -> None:
    own = in_review(team_desk, author="cy")
    edited = in_review(team_desk, author="ana", fields={**EMAIL, "cta": "See the guide"})
    team_desk.reject(edited, actor="ben", comment="cta")
    team_desk.edit_variant(edited, {"cta": "Read more"}, actor="cy")
    team_desk.submit(edited, actor="ana")
    other = in_review(team_desk, author="ana", fields={**EMAIL, "cta": "Open the guide"})
    at = _open("cy")
    assert at.button(key=f"FormSubmitter:rv-{own}-1-Approve").disabled
    assert at.button(key=f"FormSubmitter:rv-{edited}-2-Approve").disabled  # edited by cy
    assert not at.button(key=f"FormSubmitter:rv-{other}-1-Approve").disabled
    assert "four eyes means someone else approves it" in texts(at)
    assert at.button(key=f"FormSubmitter:rv-{own}-1-Approve").help


def test_the_diff_keeps_spaces_between_removed_and_added_words(team_desk: Desk) -> None:
    vid = in_review(team_desk, fields={**EMAIL, "body": "It takes time to dry them slowly."})
    team_desk.reject(vid, actor="ben", comment="vague")
    team_desk.edit_variant(vid, {"body": "A little patience to dry them slowly."}, actor="ana")
    team_desk.submit(vid, actor="ana")
    at = _open("bea")
    diff = [m.value for m in at.markdown if "<del" in m.value]
    assert diff and ">It takes time</del> <ins" in diff[0] and ">A little patience</ins> to dry" in diff[0]


def test_an_expired_approval_is_reapproved_from_its_card(team_desk: Desk) -> None:
    from datetime import UTC, datetime

    from copydesk import clock

    vid = in_review(team_desk)
    team_desk.approve(vid, actor="ben", review_by=today() + timedelta(days=10))
    clock.freeze(datetime.now(UTC) + timedelta(days=11))
    at = open_page("bea", "review")
    at.radio(key="review_source").set_value("Expired approvals").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.columns[0].weight == 1.0
    at.button(key=f"FormSubmitter:rv-{vid}-1-Approve").click().run()
    assert not at.error, [e.value for e in at.error]
    v = team_desk.get_variant(vid)
    assert v.approved_by == "bea" and not v.is_expired(today())
    assert v.review_by == today() + timedelta(days=team_desk.review_days)
