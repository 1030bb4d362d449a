"""App sessions: created, looked up, ended, expired, and revoked by account changes; the
single sign-on mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from copydesk import clock
from copydesk.errors import AuthenticationError, InputError
from copydesk.services import Desk
from copydesk.services.sessions import ABSOLUTE, IDLE, TOUCH_EVERY, session_sha256
from copydesk.services.sso import SsoConfig, map_identity, sso_config
from copydesk.vocab import Role
from tests.conftest import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_session_resumes_its_user_and_only_its_hash_is_stored(desk: Desk) -> None:
    s = desk.start_session("ana")
    assert s.value.startswith("cds_") and s.user == "ana"
    assert desk.resume_session(s.value).name == "ana"
    stored = [r[0] for r in desk.db.execute("SELECT id FROM sessions")]
    assert stored == [session_sha256(s.value)]
    assert s.value not in stored
    assert desk.live_sessions("ana") == 1


@pytest.mark.parametrize("value", ["", "cds_short", "cds_" + "A" * 43, "x" * 47, "cds_" + "A" * 42 + "!"])
def test_malformed_or_unknown_values_are_refused(desk: Desk, value: str) -> None:
    desk.start_session("ana")
    with pytest.raises(AuthenticationError, match="please sign in again"):
        desk.resume_session(value)


def test_a_session_ends_after_the_idle_limit(desk: Desk) -> None:
    clock.freeze(T0)
    s = desk.start_session("ana")
    clock.freeze(T0 + IDLE - timedelta(seconds=1))
    assert desk.resume_session(s.value).name == "ana"  # and moves last seen
    clock.freeze(T0 + IDLE * 2 - timedelta(seconds=2))
    assert desk.resume_session(s.value).name == "ana"
    clock.freeze(T0 + IDLE * 3)
    with pytest.raises(AuthenticationError):
        desk.resume_session(s.value)
    assert desk.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0


def test_last_seen_moves_at_most_every_few_minutes(desk: Desk) -> None:
    clock.freeze(T0)
    s = desk.start_session("ana")
    clock.freeze(T0 + TOUCH_EVERY / 2)
    desk.resume_session(s.value)
    seen = desk.db.execute("SELECT last_seen_at FROM sessions").fetchone()[0]
    assert datetime.fromisoformat(seen) == T0
    clock.freeze(T0 + TOUCH_EVERY)
    desk.resume_session(s.value)
    assert desk.session_expiry(s.value) == T0 + TOUCH_EVERY + IDLE


def test_a_session_ends_after_the_absolute_limit_however_busy(desk: Desk) -> None:
    clock.freeze(T0)
    s = desk.start_session("ana")
    at = T0
    while at + IDLE / 2 < T0 + ABSOLUTE:
        at += IDLE / 2
        clock.freeze(at)
        desk.resume_session(s.value)
    clock.freeze(T0 + ABSOLUTE)
    with pytest.raises(AuthenticationError):
        desk.resume_session(s.value)


def test_sign_out_ends_only_that_session_and_is_audited(desk: Desk) -> None:
    one, two = desk.start_session("ana"), desk.start_session("ana")
    assert desk.end_session(one.value, actor="ana")
    assert not desk.end_session(one.value, actor="ana")
    with pytest.raises(AuthenticationError):
        desk.resume_session(one.value)
    assert desk.resume_session(two.value).name == "ana"
    assert [e.actor for e in desk.audit_log(action="user.signout")] == ["ana"]


def test_a_new_password_ends_every_session_of_that_user(desk: Desk) -> None:
    mine, other = desk.start_session("ana"), desk.start_session("ben")
    desk.set_password("ana", PASSWORD + " again", actor="ana")
    with pytest.raises(AuthenticationError):
        desk.resume_session(mine.value)
    assert desk.resume_session(other.value).name == "ben"


def test_deactivation_ends_sessions_and_a_deactivated_user_gets_none(desk: Desk) -> None:
    s = desk.start_session("ana")
    desk.set_active("ana", False, actor="admin")
    with pytest.raises(AuthenticationError):
        desk.resume_session(s.value)
    with pytest.raises(Exception, match="deactivated|ana"):
        desk.start_session("ana")
    desk.set_active("ana", True, actor="admin")
    with pytest.raises(AuthenticationError):  # reactivating does not bring old sessions back
        desk.resume_session(s.value)


def test_a_role_change_ends_sessions(desk: Desk) -> None:
    s = desk.start_session("ana")
    desk.set_roles("ana", [Role.COPYWRITER, Role.REVIEWER], actor="admin")
    with pytest.raises(AuthenticationError):
        desk.resume_session(s.value)


def test_a_failed_role_change_keeps_sessions(desk: Desk) -> None:
    s = desk.start_session("admin")
    with pytest.raises(Exception, match="only active admin"):
        desk.set_roles("admin", [Role.REVIEWER], actor="admin")
    assert desk.resume_session(s.value).name == "admin"


# -- single sign-on mapping ------------------------------------------------------------

CONFIG = SsoConfig(subjects={"idp|42": "ben"}, emails={"Boss@Example.com": "admin"}, domains=["example.com"])



def test_sso_maps_subject_listed_email_and_domain_local_part(desk: Desk) -> None:
    users = {u.name: u for u in desk.list_users()}
    assert map_identity({"sub": "idp|42"}, CONFIG, users) == "ben"
    assert map_identity({"email": "boss@example.com", "email_verified": True}, CONFIG, users) == "admin"
    assert map_identity({"email": "Ana@Example.com", "email_verified": True}, CONFIG, users) == "ana"


def test_sso_never_maps_an_admin_by_domain_nor_an_unverified_or_unknown_address(desk: Desk) -> None:
    users = {u.name: u for u in desk.list_users()}
    with pytest.raises(AuthenticationError, match="not a copydesk user"):
        map_identity({"email": "admin@example.com", "email_verified": True}, CONFIG, users)
    with pytest.raises(AuthenticationError, match="not a copydesk user"):
        map_identity({"email": "boss@example.com", "email_verified": False}, CONFIG, users)
    with pytest.raises(AuthenticationError, match="not a copydesk user"):
        map_identity({"email": "ana@elsewhere.com", "email_verified": True}, CONFIG, users)
    with pytest.raises(AuthenticationError, match="not a copydesk user"):
        map_identity({"email": "nobody@example.com", "email_verified": True}, CONFIG, users)


def test_sso_refuses_a_deactivated_user_and_creates_nobody(desk: Desk) -> None:
    desk.set_active("ben", False, actor="admin")
    with pytest.raises(AuthenticationError, match="not an active copydesk user"):
        desk.sso_sign_in({"sub": "idp|42"}, CONFIG)
    with pytest.raises(AuthenticationError):
        desk.sso_sign_in({"email": "newcomer@example.com", "email_verified": True}, CONFIG)
    assert "newcomer" not in {u.name for u in desk.list_users()}
    assert [e.data["via"] for e in desk.audit_log(action="user.signin_failed")] == ["sso", "sso"]


def test_sso_sign_in_starts_an_audited_session(desk: Desk) -> None:
    s = desk.sso_sign_in({"email": "ana@example.com", "email_verified": True}, CONFIG)
    assert desk.resume_session(s.value).name == "ana"
    assert desk.audit_log(action="user.signin")[-1].data == {"via": "sso"}


def test_sso_config_is_strict() -> None:
    assert sso_config(None) == SsoConfig()
    with pytest.raises(InputError, match=r"secrets.toml.*copydesk_sso\] domain"):
        sso_config({"domain": ["example.com"]})
