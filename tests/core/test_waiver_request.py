"""Submitting a blocked draft with a waiver request, and a reviewer's decision on it:
permissions, four eyes, findings that may not be waived, the audit record and its replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copydesk import audit
from copydesk.errors import (
    BlockedByFindings,
    InputError,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    SelfApprovalError,
)
from copydesk.models import Finding
from copydesk.placeholders import UNSUPPORTED_RULE
from copydesk.services import Desk
from copydesk.vocab import Category, Severity, Status

EMAIL = {"subject": "Care for your boots", "body": "Dry feet guaranteed.", "cta": "Read the guide"}
WHY = "the warranty text says exactly this"
COLUMNS = ["seq", "at", "actor", "action", "entity", "entity_id", "data", "prev_hash", "hash"]


class Policy:
    """Block-flags 'guaranteed' (a claim) and 'jane@example.com' (personal data)."""

    def check(self, channel: object, fields: dict[str, str], *, brief: object = None) -> list[Finding]:
        out = []
        for name, text in fields.items():
            for word, rule, cat in (("guaranteed", "claims.absolute", Category.CLAIMS),
                                    ("jane@example.com", "pii.contact-and-payment", Category.PII)):
                i = text.find(word)
                if i >= 0:
                    out.append(Finding(rule_id=rule, category=cat, severity=Severity.BLOCK, field=name,
                                       start=i, end=i + len(word), match=word, message=f"{rule} '{word}'"))
        return out

    def check_brief(self, *args: object, **kwargs: object) -> list[Finding]:
        return []

    def check_text(self, *args: object, **kwargs: object) -> list[Finding]:
        return []


@pytest.fixture
def pdesk(desk: Desk) -> Desk:
    desk.policy = Policy()  # type: ignore[misc]
    return desk


def blocked(d: Desk, author: str = "ana", body: str = "Dry feet guaranteed.") -> str:
    return d.add_variant("boots-onboarding", {**EMAIL, "body": body}, actor=author).id


def test_submit_with_a_request_goes_to_review_marked(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    v = pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY})
    assert v.status == Status.IN_REVIEW
    req = pdesk.waiver_request(vid)
    assert req is not None and req.by == "ana" and req.revision == 1
    [item] = req.items
    assert (item.rule_id, item.field, item.match, item.reason) == ("claims.absolute", "body", "guaranteed", WHY)
    [entry] = pdesk.review_queue()
    assert entry.waiver_requests == 1
    [event] = pdesk.audit_log(action="variant.submit")
    assert event.data["waiver_request"][0]["reason"] == WHY


def test_request_needs_a_reason_and_an_open_block(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    with pytest.raises(InputError, match="needs a reason"):
        pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": " \u200b "})
    with pytest.raises(NotFoundError, match="no open block finding 'tone.x'.*claims.absolute"):
        pdesk.submit(vid, actor="ana", waiver_request={"tone.x": WHY})
    with pytest.raises(NotFoundError, match="on subject"):
        pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute@subject": WHY})
    assert pdesk.get_variant(vid).status == Status.DRAFT
    assert not pdesk.audit_log(action="variant.submit")


def test_every_open_block_must_be_requested(pdesk: Desk) -> None:
    vid = blocked(pdesk, body="Dry feet guaranteed.")
    pdesk.edit_variant(vid, {"subject": "guaranteed dry"}, actor="ana")
    with pytest.raises(BlockedByFindings, match="not in the waiver request.*on subject"):
        pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute@body": WHY})
    assert pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY}).status == Status.IN_REVIEW
    req = pdesk.waiver_request(vid)
    assert req is not None and sorted(i.field for i in req.items) == ["body", "subject"]


def test_without_a_request_submit_still_refuses_and_says_how(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    with pytest.raises(BlockedByFindings, match="waiver request"):
        pdesk.submit(vid, actor="ana")


@pytest.mark.parametrize(("body", "rule", "words"), [
    ("Write to jane@example.com, guaranteed.", "pii.contact-and-payment", "personal data"),
    ("Hi {{ 7 * 7 }}", UNSUPPORTED_RULE, "template code"),
])
def test_findings_that_may_not_be_waived_cannot_be_requested(pdesk: Desk, body: str, rule: str,
                                                             words: str) -> None:
    vid = blocked(pdesk, body=body)
    request = {r: WHY for r in {f.rule_id for f in pdesk.get_variant(vid).current.findings}}
    with pytest.raises(PermissionDenied, match=f"cannot be requested for '{rule}'.*{words}"):
        pdesk.submit(vid, actor="ana", waiver_request=request)
    assert pdesk.get_variant(vid).status == Status.DRAFT


def test_a_reviewer_may_not_waive_personal_data_either(pdesk: Desk) -> None:
    vid = blocked(pdesk, body="Write to jane@example.com.")
    with pytest.raises(PermissionDenied, match="personal data"):
        pdesk.waive(vid, "pii.contact-and-payment", actor="ben", reason="it is our address")
    assert not pdesk.get_variant(vid).current.waivers


def test_only_a_copywriter_requests(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    with pytest.raises(PermissionDenied, match="submit variants"):
        pdesk.submit(vid, actor="ben", waiver_request={"claims.absolute": WHY})


def test_grant_waives_and_approves_in_one_step(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY})
    with pytest.raises(InputError, match="own written reason"):
        pdesk.grant_waiver_request(vid, actor="ben", reason="")
    v = pdesk.grant_waiver_request(vid, actor="ben", reason="checked the warranty page", comment="fine")
    assert v.status == Status.APPROVED and v.approved_by == "ben"
    [w] = v.current.waivers
    assert (w.rule_id, w.by, w.reason) == ("claims.absolute", "ben", "checked the warranty page")
    [waive] = pdesk.audit_log(action="finding.waive")
    [submit] = pdesk.audit_log(action="variant.submit")
    assert waive.data["request"] == submit.seq
    assert pdesk.waiver_request(vid) is None  # no longer in review
    assert pdesk.verify_audit()[0], pdesk.verify_audit()[1]


def test_four_eyes_and_roles_on_the_decision(pdesk: Desk) -> None:
    vid = blocked(pdesk, author="cy")  # cy writes and reviews
    pdesk.submit(vid, actor="cy", waiver_request={"claims.absolute": WHY})
    with pytest.raises(SelfApprovalError, match="four eyes"):
        pdesk.grant_waiver_request(vid, actor="cy", reason="looks fine to me")
    with pytest.raises(PermissionDenied):
        pdesk.grant_waiver_request(vid, actor="ana", reason="looks fine to me")
    with pytest.raises(BlockedByFindings):
        pdesk.approve(vid, actor="ben")  # approving alone does not waive
    assert pdesk.get_variant(vid).status == Status.IN_REVIEW
    assert not pdesk.audit_log(action="finding.waive")


def test_reject_refuses_the_request_and_an_edit_drops_it(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY})
    pdesk.reject(vid, actor="ben", comment="a guarantee needs legal sign-off; rephrase")
    assert pdesk.waiver_request(vid) is None
    with pytest.raises(InvalidTransition):
        pdesk.grant_waiver_request(vid, actor="ben", reason="changed my mind")
    pdesk.edit_variant(vid, {"body": "Dry feet, guaranteed."}, actor="ana")
    pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY})
    req = pdesk.waiver_request(vid)
    assert req is not None and req.revision == 2
    assert pdesk.verify_audit()[0]


def test_a_submission_without_request_has_none(pdesk: Desk) -> None:
    vid = blocked(pdesk, body="Dry feet, every time.")
    pdesk.submit(vid, actor="ana")
    assert pdesk.waiver_request(vid) is None
    with pytest.raises(NotFoundError, match="no waiver request"):
        pdesk.grant_waiver_request(vid, actor="ben", reason="nothing to waive")


def test_audit_verify_names_a_waiver_granted_on_no_request(pdesk: Desk) -> None:
    vid = blocked(pdesk)
    pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY})
    pdesk.grant_waiver_request(vid, actor="ben", reason="checked")
    assert pdesk.verify_audit()[0]
    # point the waive event at another event, re-chaining so only the replay can tell
    events = [dict(zip(COLUMNS, r, strict=True)) for r in pdesk.db.execute("SELECT * FROM audit_events ORDER BY seq")]
    for e in events:
        e["data"] = json.loads(e["data"])
        if e["action"] == "finding.waive":
            e["data"]["request"] = 1
    for name in audit.TRIGGERS:
        pdesk.db.execute(f"DROP TRIGGER IF EXISTS {name}")
    pdesk.db.execute("DELETE FROM audit_events")
    prev = audit.GENESIS
    for e in events:
        digest = audit.event_hash(prev, e)
        pdesk.db.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?)",
                         [e["seq"], e["at"], e["actor"], e["action"], e["entity"], e["entity_id"],
                          json.dumps(e["data"], sort_keys=True, ensure_ascii=False), prev, digest])
        prev = digest
    pdesk.db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", [len(events), prev])
    for sql in audit.TRIGGERS.values():
        pdesk.db.execute(sql)
    pdesk.db.conn.commit()
    ok, message = pdesk.verify_audit()
    assert not ok and "not the standing request" in message


# -- the CLI -------------------------------------------------------------------------

def _with_findings(d: Desk, body: str, *rules: tuple[str, Category, str]) -> str:
    found = [Finding(rule_id=r, category=c, severity=Severity.BLOCK, field="body", start=body.index(w),
                     end=body.index(w) + len(w), match=w, message=r) for r, c, w in rules]
    return d.add_variant("boots-onboarding", {**EMAIL, "body": body}, actor="ana", findings=found).id


def test_cli_submit_with_a_request_then_grant(desk: Desk, bare_ws: Any, cli: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    vid = _with_findings(desk, "Dry feet guaranteed.", ("claims.absolute", Category.CLAIMS, "guaranteed"))
    r = cli("review", "submit", vid, "--as", "ana")
    assert r.code == 1 and "waiver request" in r.err, r
    r = cli("review", "submit", vid, "--as", "ana", "--request-waiver", "claims.absolute")
    assert r.code == 1 and "one reason per finding" in r.err, r
    r = cli("review", "submit", vid, "--as", "ana", "--request-waiver", "claims.absolute", "--reason", WHY)
    assert r.code == 0 and "with a waiver request for claims.absolute" in r.out, r
    r = cli("review", "queue")
    assert "waiver request by ana" in r.out and WHY in r.out, r
    r = cli("review", "grant", vid, "--as", "ana", "--reason", "mine")
    assert r.code == 1 and "waive findings" in r.err, r
    r = cli("review", "grant", vid, "--as", "ben", "--reason", "checked the warranty")
    assert r.code == 0 and "waiver request granted, approved by ben" in r.out, r
    assert desk.get_variant(vid).status == Status.APPROVED


def test_cli_refuses_a_request_for_personal_data_by_name(desk: Desk, bare_ws: Any, cli: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    vid = _with_findings(desk, "Mail jane@example.com", ("pii.contact-and-payment", Category.PII, "jane@example.com"))
    r = cli("review", "submit", vid, "--as", "ana", "--request-waiver", "pii.contact-and-payment", "--reason", WHY)
    assert r.code == 1 and "'pii.contact-and-payment' on body" in r.err and "personal data" in r.err, r
    assert "Traceback" not in r.err
    assert desk.get_variant(vid).status == Status.DRAFT
