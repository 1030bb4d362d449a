"""Waiver requests in the app: the copywriter submits a blocked draft with a reason per
finding (Generate), the reviewer sees it marked and decides (Review); four eyes holds."""

from __future__ import annotations

from copydesk.models import Finding
from copydesk.services import Desk
from copydesk.vocab import Category, Severity, Status
from tests.app.conftest import EMAIL, open_page, texts

BODY = "Clean them after each walk. Guaranteed dry feet."
WHY = "the two-year guarantee is in the product terms"


def blocked(d: Desk, author: str = "ana", rule: str = "claims.guarantee", category: Category = Category.CLAIMS,
            word: str = "Guaranteed", body: str = BODY) -> str:
    at_ = body.index(word)
    f = Finding(rule_id=rule, category=category, severity=Severity.BLOCK, field="body", start=at_,
                end=at_ + len(word), match=word, message="unapproved guarantee")
    return d.add_variant("boots-onboarding", {**EMAIL, "body": body}, actor=author, findings=[f]).id


def _generate(user: str = "ana"):  # type: ignore[no-untyped-def]
    at = open_page(user, "generate")
    at.selectbox(key="generate_brief").select("boots-onboarding").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _review(user: str):  # type: ignore[no-untyped-def]
    at = open_page(user, "review")
    at.selectbox(key="review_brief").select("boots-onboarding").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_copywriter_submits_a_blocked_draft_with_a_waiver_request(team_desk: Desk) -> None:
    vid = blocked(team_desk)
    at = _generate()
    assert "Submit with a waiver request" in [e.label for e in at.expander]
    assert not [b for b in at.button if b.key == f"gen-submit-{vid}-1"]  # the plain submit would be refused
    submit = f"FormSubmitter:gen-wr-{vid}-1-Submit with a waiver request"
    at.button(key=submit).click().run()
    assert any("needs a reason" in e.value for e in at.error), [e.value for e in at.error]
    assert team_desk.get_variant(vid).status == Status.DRAFT
    at.text_area(key=f"gen-wr-{vid}-1-why-0").input(WHY)
    at.button(key=submit).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert team_desk.get_variant(vid).status == Status.IN_REVIEW
    req = team_desk.waiver_request(vid)
    assert req is not None and [(i.rule_id, i.reason) for i in req.items] == [("claims.guarantee", WHY)]
    assert f"{vid} submitted for review with a waiver request." in texts(at)


def test_personal_data_cannot_be_requested_and_is_named(team_desk: Desk) -> None:
    vid = blocked(team_desk, rule="pii.contact-and-payment", category=Category.PII, word="jane@example.com",
                  body="Write to jane@example.com today.")
    at = _generate()
    assert any("pii.contact-and-payment@body" in e.value and "cannot be waived" in e.value
               and "personal data" in e.value for e in at.error), [e.value for e in at.error]
    assert not [b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:gen-wr-{vid}")]


def test_reviewer_sees_the_request_and_waives_and_approves(team_desk: Desk) -> None:
    vid = blocked(team_desk)
    team_desk.submit(vid, actor="ana", waiver_request={"claims.guarantee": WHY})
    at = _review("ben")
    assert "1 waiver request" in at.selectbox(key="review_brief").format_func("boots-onboarding")
    shown = texts(at)
    assert "waiver request" in shown and "**Waiver request** from ana" in shown and WHY in shown
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and ">Guaranteed</mark>" in marked[0]
    grant = f"FormSubmitter:rv-{vid}-1-Waive and approve"
    at.button(key=grant).click().run()
    assert any("own written reason" in e.value for e in at.error), [e.value for e in at.error]
    at.text_area(key=f"rv-{vid}-1-grant-reason").input("checked the product terms")
    at.button(key=grant).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    v = team_desk.get_variant(vid)
    assert v.status == Status.APPROVED and v.approved_by == "ben"
    assert [(w.by, w.reason) for w in v.current.waivers] == [("ben", "checked the product terms")]
    assert team_desk.verify_audit()[0]


def test_reviewer_rejects_the_request(team_desk: Desk) -> None:
    vid = blocked(team_desk)
    team_desk.submit(vid, actor="ana", waiver_request={"claims.guarantee": WHY})
    at = _review("ben")
    at.text_area(key=f"rv-{vid}-1-comment").input("a guarantee needs legal sign-off")
    at.button(key=f"FormSubmitter:rv-{vid}-1-Reject").click().run()
    assert not at.error, [e.value for e in at.error]
    assert team_desk.get_variant(vid).status == Status.REJECTED
    assert not team_desk.get_variant(vid).current.waivers


def test_four_eyes_the_author_cannot_grant_their_own_request(team_desk: Desk) -> None:
    vid = blocked(team_desk, author="cy")
    team_desk.submit(vid, actor="cy", waiver_request={"claims.guarantee": WHY})
    at = _review("cy")
    assert at.button(key=f"FormSubmitter:rv-{vid}-1-Waive and approve").disabled
    assert "four eyes means someone else approves it" in texts(at)
    assert team_desk.get_variant(vid).status == Status.IN_REVIEW
