"""Accounts and approvals fail closed (docs/security.md): user names match one pattern
everywhere a name arrives; reasons and comments need visible text; an approval cannot
outlive max_review_days; the library always keeps an active admin; a deactivated user
changes nothing; weak passwords are refused; failed sign-ins are audited and throttled.

Every test here failed on the code before these rules existed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from copydesk import clock
from copydesk.errors import AuthenticationError, InputError, PermissionDenied
from copydesk.passwords import MIN_LENGTH, password_problem
from copydesk.review_by import new_review_by
from copydesk.services import Desk
from copydesk.services.users import SIGNIN_ACTOR, SigninThrottle
from copydesk.vocab import Role
from copydesk.workspace import Workspace, WorkspaceConfig
from tests.conftest import PASSWORD
from tests.core.test_properties import FlagTextPolicy

BRIEF = "boots-onboarding"
START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
WRONG = "not the password at all"

#: Text that looks written in a form field and shows nothing on the page.
INVISIBLE = ["\u200b", "\u200b\u200c\u200d\u2060", "\ufeff", " \u00a0\u3000\t\n", "\u3164\u115f", "\u2800",
             "\u200e\u202e", "\u0301\u0301"]


def names(desk: Desk) -> list[str]:
    return [u.name for u in desk.list_users()]


def in_review(desk: Desk, body: str = "Brush off the mud.") -> str:
    v = desk.add_variant(BRIEF, {"subject": "Boot care", "body": body}, actor="ana")
    desk.submit(v.id, actor="ana")
    return v.id


# -- user names -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["ben\n", "ben\r\n", " ben", "ben ", "b en", "ben\t", "ben\u200b", "bén",
                                 "Ben", "[/]", "b", "a" * 33, "1ben", ""])
def test_a_user_name_outside_the_pattern_is_refused(desk: Desk, bad: str) -> None:
    with pytest.raises(InputError, match="must be 2-32 lower-case") as err:
        desk.add_user(bad, [Role.REVIEWER], PASSWORD, actor="admin")
    assert repr(bad[:40]) in str(err.value)  # shown escaped: 'ben\n', never a second line
    assert names(desk).count("ben") == 1 and bad not in names(desk)


def test_a_name_stored_before_the_rule_cannot_act_but_can_be_deactivated(desk: Desk) -> None:
    with desk.db.conn:
        desk.db.execute("INSERT INTO users (name, password_hash, roles, active, created_at) "
                        "VALUES ('ben\n', 'x', '[\"reviewer\"]', 1, '2030-01-01T00:00:00+00:00')")
    vid = in_review(desk)
    with pytest.raises(PermissionDenied, match="not a valid user name"):
        desk.approve(vid, actor="ben\n")
    assert desk.set_active("ben\n", False, actor="admin").active is False


def test_the_cli_refuses_a_name_with_a_newline(desk: Desk, bare_ws: Workspace, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    r = cli("user", "add", "ben\n", "--role", "reviewer", "--as", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.code == 1 and "must be 2-32 lower-case" in r.err and "'ben\\n'" in r.err
    r = cli("review", "submit", "V1", "--as", "ana\n")
    assert r.code == 1 and "not a valid user name" in r.err
    assert names(desk).count("ben") == 1


# -- reasons and comments -----------------------------------------------------------------


@pytest.mark.parametrize("reason", INVISIBLE)
def test_a_waiver_needs_a_visible_reason(desk: Desk, reason: str) -> None:
    desk.policy = FlagTextPolicy()
    v = desk.add_variant(BRIEF, {"subject": "Boot care", "body": "A guaranteed dry foot."}, actor="ana")
    vid = v.id
    with pytest.raises(InputError, match="written reason"):
        desk.waive(vid, "claims.absolute", actor="ben", reason=reason)
    assert not desk.get_variant(vid).current.waivers
    assert not desk.audit_log(action="finding.waive")
    waived = desk.waive(vid, "claims.absolute", actor="ben", reason="\u200b a true fact, registered claim ")
    assert [w.reason for w in waived.current.waivers] == ["\u200b a true fact, registered claim"]


@pytest.mark.parametrize("comment", INVISIBLE)
def test_a_rejection_needs_a_visible_comment(desk: Desk, comment: str) -> None:
    vid = in_review(desk)
    with pytest.raises(InputError, match="comment saying why"):
        desk.reject(vid, actor="ben", comment=comment)
    assert desk.get_variant(vid).status == "in_review" and not desk.reviews(vid)
    assert desk.reject(vid, actor="ben", comment="too vague").status == "rejected"


def test_an_invisible_optional_comment_or_reason_is_stored_as_none(desk: Desk) -> None:
    vid = in_review(desk)
    desk.approve(vid, actor="ben", comment="\u200b\u200b")
    assert [r.comment for r in desk.reviews(vid)] == [""]
    desk.retire(vid, actor="ben", reason="\ufeff")
    [retire] = desk.audit_log(action="variant.retire")
    assert retire.data["reason"] == ""


# -- review-by cap ------------------------------------------------------------------------


def test_an_approval_cannot_be_eternal(desk: Desk) -> None:
    clock.freeze(START)
    today = START.date()
    vid = in_review(desk)
    with pytest.raises(InputError, match="more than 365 days ahead"):
        desk.approve(vid, actor="ben", review_by=date(9999, 12, 31))
    with pytest.raises(InputError, match="more than 365 days ahead"):
        desk.approve(vid, actor="ben", review_by=today + timedelta(days=366))
    assert desk.get_variant(vid).status == "in_review" and not desk.audit_log(action="variant.approve")
    last = today + timedelta(days=365)
    assert desk.approve(vid, actor="ben", review_by=last).review_by == last


def test_max_review_days_comes_from_the_workspace(bare_ws: Workspace) -> None:
    (bare_ws.config_path).write_text("brand: Test\nreview_days: 10\nmax_review_days: 30\n", encoding="utf-8")
    d = Desk.memory(bare_ws)
    assert (d.review_days, d.max_review_days) == (10, 30)
    today = date(2030, 1, 1)
    assert new_review_by(None, today, default_days=10, max_days=30) == date(2030, 1, 11)
    with pytest.raises(InputError, match="more than 30 days ahead.*2030-01-31"):
        new_review_by(date(2030, 2, 1), today, default_days=10, max_days=30)


def test_review_days_may_not_exceed_the_cap(bare_ws: Workspace) -> None:
    assert WorkspaceConfig().max_review_days == 365
    (bare_ws.config_path).write_text("review_days: 400\n", encoding="utf-8")
    with pytest.raises(InputError, match="max_review_days"):
        bare_ws.config()
    (bare_ws.config_path).write_text("max_review_days: 100000\n", encoding="utf-8")
    with pytest.raises(InputError, match="max_review_days"):
        bare_ws.config()


# -- the last admin -----------------------------------------------------------------------


def test_the_only_admin_cannot_drop_the_admin_role(desk: Desk) -> None:
    with pytest.raises(PermissionDenied, match="only active admin"):
        desk.set_roles("admin", [Role.REVIEWER], actor="admin")
    assert desk.get_user("admin").roles == [Role.ADMIN]
    desk.set_roles("ana", [Role.COPYWRITER, Role.ADMIN], actor="admin")
    desk.set_active("ana", False, actor="admin")  # a deactivated admin does not count
    with pytest.raises(PermissionDenied, match="only active admin"):
        desk.set_roles("admin", [Role.REVIEWER], actor="admin")
    desk.set_active("ana", True, actor="admin")
    assert desk.set_roles("admin", [Role.REVIEWER], actor="admin").roles == [Role.REVIEWER]
    with pytest.raises(PermissionDenied, match="only active admin"):
        desk.set_roles("ana", [Role.COPYWRITER], actor="ana")


def test_the_only_admin_stays_active(desk: Desk) -> None:
    # another admin would be the actor and stay: only the last admin can try, on themselves
    with pytest.raises(PermissionDenied, match="'admin' is the only active admin"):
        desk.set_active("admin", False, actor="admin")
    assert desk.get_user("admin").active
    desk.set_roles("max", [Role.MARKETER, Role.ADMIN], actor="admin")
    with pytest.raises(InputError, match="cannot deactivate yourself"):
        desk.set_active("admin", False, actor="admin")
    assert desk.set_active("admin", False, actor="max").active is False


def test_user_activate_brings_a_user_back(desk: Desk, bare_ws: Workspace, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    assert cli("user", "deactivate", "ana", "--as", "admin").code == 0
    assert cli("review", "submit", "V1", "--as", "ana").code == 1
    r = cli("user", "activate", "ana", "--as", "admin")
    assert r.code == 0 and "activated ana (copywriter)" in r.out, r
    assert desk.get_user("ana").active
    assert [e.action for e in desk.audit_log(entity_id="ana")][-2:] == ["user.deactivate", "user.activate"]
    r = cli("user", "activate", "ana", "--as", "admin")
    assert r.code == 1 and "already active" in r.err
    assert cli("user", "activate", "ben", "--as", "ana").code == 1  # admins only


# -- passwords ----------------------------------------------------------------------------


def test_a_deactivated_user_cannot_change_their_password(desk: Desk) -> None:
    desk.set_active("ana", False, actor="admin")
    with pytest.raises(PermissionDenied, match="deactivated"):
        desk.set_password("ana", "a completely new phrase", actor="ana")
    with pytest.raises(AuthenticationError):
        desk.authenticate("ana", "a completely new phrase")
    desk.set_password("ana", "a completely new phrase", actor="admin")  # an admin may reset it
    desk.set_active("ana", True, actor="admin")
    assert desk.authenticate("ana", "a completely new phrase").name == "ana"


@pytest.mark.parametrize("weak", ["password", " " * 8, " " * MIN_LENGTH, "\u200b" * MIN_LENGTH, "password1234",
                                  "Password2024!", "p@ssw0rd2024", "passwordpassword", "qwertyuiopas",
                                  "123456789012", "aaaaaaaaaaaa", "I love you forever", "short pw"])
def test_weak_passwords_are_refused(desk: Desk, weak: str) -> None:
    with pytest.raises(InputError, match="password") as err:
        desk.add_user("eve", [Role.COPYWRITER], weak, actor="admin")
    assert err.value.field == "password"
    assert weak == "password" or not weak.strip() or weak not in str(err.value)  # never repeated
    with pytest.raises(InputError, match="password"):
        desk.set_password("ana", weak, actor="ana")
    assert "eve" not in names(desk)
    assert desk.authenticate("ana", PASSWORD).name == "ana"


def test_good_passwords_pass_and_the_name_is_not_one() -> None:
    for good in (PASSWORD, "another long password", "8472916305839", "Tr0ub4dor&3 horse"):
        assert password_problem(good) is None, good
    assert password_problem("anastasia-hill-77", user_name="anastasia") == "a password may not contain the user name"


# -- sign-in ------------------------------------------------------------------------------


def failures(desk: Desk) -> list[dict[str, object]]:
    return [{"id": e.entity_id, "actor": e.actor, **e.data} for e in desk.audit_log(action="user.signin_failed")]


def fail(desk: Desk, name: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationError, match="unknown user or wrong password"):
            desk.authenticate(name, WRONG)


def test_a_failed_sign_in_is_audited_without_the_password(desk: Desk) -> None:
    clock.freeze(START)
    fail(desk, "ben")
    fail(desk, "nobody")
    desk.set_active("max", False, actor="admin")
    with pytest.raises(AuthenticationError, match="unknown user or wrong password"):
        desk.authenticate("max", PASSWORD)
    fail(desk, "[/]\n")
    assert failures(desk) == [
        {"id": "ben", "actor": SIGNIN_ACTOR, "reason": "wrong password"},
        {"id": "nobody", "actor": SIGNIN_ACTOR, "reason": "unknown name"},
        {"id": "max", "actor": SIGNIN_ACTOR, "reason": "deactivated"},
        {"id": "(invalid name)", "actor": SIGNIN_ACTOR, "reason": "invalid name", "name_typed": "'[/]\\n'"},
    ]
    dump = json.dumps([list(r) for r in desk.db.execute("SELECT * FROM audit_events")])
    assert WRONG not in dump and PASSWORD not in dump
    assert desk.verify_audit()[0]


def test_a_successful_sign_in_is_audited_and_clears_the_count(desk: Desk) -> None:
    clock.freeze(START)
    fail(desk, "ben", 3)
    assert desk.authenticate("ben", PASSWORD).name == "ben"
    [signin] = desk.audit_log(action="user.signin")
    assert (signin.actor, signin.entity_id, signin.data) == ("ben", "ben", {"failures_before": 3})
    fail(desk, "ben", 4)  # 3 + 4 would have locked; the success started the count again
    assert desk.authenticate("ben", PASSWORD).name == "ben"


def test_repeated_failures_lock_the_name_even_for_the_right_password(desk: Desk, bare_ws: Workspace) -> None:
    clock.freeze(START)
    fail(desk, "ben", 5)
    with pytest.raises(AuthenticationError, match="too many failed sign-ins for 'ben': try again after "
                                                  "2030-03-01 09:01:00 UTC"):
        desk.authenticate("ben", PASSWORD)
    assert failures(desk)[-1] == {"id": "ben", "actor": SIGNIN_ACTOR, "reason": "locked",
                                  "locked_until": "2030-03-01T09:01:00.000000+00:00"}
    other = Desk.open(bare_ws)  # another process on the same library sees the lock
    try:
        with pytest.raises(AuthenticationError, match="too many failed sign-ins for 'ben'"):
            other.authenticate("ben", PASSWORD)
    finally:
        other.close()
    assert desk.authenticate("bea", PASSWORD).name == "bea"  # other names are not locked
    clock.freeze(START + timedelta(minutes=1))
    fail(desk, "ben")  # the sixth failure doubles the lock
    with pytest.raises(AuthenticationError, match="try again after 2030-03-01 09:03:00 UTC"):
        desk.authenticate("ben", PASSWORD)
    clock.freeze(START + timedelta(minutes=3))
    assert desk.authenticate("ben", PASSWORD).name == "ben"
    assert desk.audit_log(action="user.signin")[-1].data == {"failures_before": 6}


def test_an_unknown_name_locks_like_a_known_one(desk: Desk) -> None:
    clock.freeze(START)
    fail(desk, "nobody", 5)
    with pytest.raises(AuthenticationError, match="too many failed sign-ins for 'nobody': try again after"):
        desk.authenticate("nobody", WRONG)


def test_many_failures_across_names_lock_sign_in_for_everyone(desk: Desk) -> None:
    desk.throttle = SigninThrottle(overall_limit=4, overall_window=timedelta(minutes=15))
    clock.freeze(START)
    for name in ("ann", "bob", "cat"):
        fail(desk, name)
    clock.freeze(START + timedelta(minutes=5))
    fail(desk, "dan\n")  # an invalid name counts too
    with pytest.raises(AuthenticationError, match="on this library: try again after 2030-03-01 09:15:00 UTC"):
        desk.authenticate("ben", PASSWORD)
    clock.freeze(START + timedelta(minutes=15))
    assert desk.authenticate("ben", PASSWORD).name == "ben"


def test_the_lock_grows_and_is_capped() -> None:
    t = SigninThrottle()
    last = START
    assert t.name_locked_until(4, last) is None
    assert [t.name_locked_until(n, last) - last for n in (5, 6, 7, 11, 12, 500)] == [  # type: ignore[operator]
        timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)]
    assert t.overall_locked_until([START] * 99) is None
    assert t.overall_locked_until([START] * 100) == START + timedelta(minutes=15)


def test_the_cli_audit_log_shows_a_failed_sign_in_with_markup(desk: Desk, bare_ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                                              monkeypatch) -> None:
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    fail(desk, "[/][bold]")
    r = cli("audit", "log", "--action", "user.signin_failed")
    assert r.code == 0 and "user.signin_failed" in r.out, r
