"""First-run admin setup, sign in, sign out; failed sign-ins audited and throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

from copydesk import clock
from copydesk.services import Desk
from copydesk.ui.session import USER_KEY
from copydesk.workspace import Workspace
from tests.app.conftest import new_app, texts
from tests.conftest import PASSWORD


def _fill_setup(at, name: str, password: str, confirm: str, import_briefs: bool = True):  # type: ignore[no-untyped-def]
    inputs = {t.label: t for t in at.text_input}
    inputs["User name"].input(name)
    inputs["Password"].input(password)
    inputs["Repeat the password"].input(confirm)
    at.checkbox[0].set_value(import_briefs)
    return at.button[0].click().run()


def test_first_run_creates_admin_and_imports_briefs(app_ws: Workspace) -> None:
    at = new_app().run()
    assert [t.value for t in at.title] == ["Welcome to copydesk"]
    _fill_setup(at, "alex", PASSWORD, PASSWORD)
    assert not at.exception
    assert at.session_state[USER_KEY] == "alex"
    assert [t.value for t in at.title] == ["Overview"]
    assert "Admin alex created and signed in. Imported 8 brief(s)." in texts(at)
    d = Desk.open(app_ws)
    try:
        assert [r.value for r in d.get_user("alex").roles] == ["admin"]
        assert len(d.list_briefs()) == 8
        assert {e.actor for e in d.audit_log(action="brief.add")} == {"alex"}
    finally:
        d.close()


def test_first_run_refuses_mismatched_or_short_password(app_ws: Workspace) -> None:
    at = new_app().run()
    _fill_setup(at, "alex", PASSWORD, PASSWORD + "x")
    assert any("the two passwords differ" in e.value for e in at.error)
    _fill_setup(at, "alex", "short", "short")
    assert any("at least 12 characters" in e.value for e in at.error)
    _fill_setup(at, "alex", "Password2024!", "Password2024!")
    assert any("most common passwords" in e.value for e in at.error)
    assert USER_KEY not in at.session_state
    d = Desk.open(app_ws)
    try:
        assert not d.has_users()
    finally:
        d.close()


def test_first_run_without_import_and_bad_name(app_ws: Workspace) -> None:
    at = new_app().run()
    _fill_setup(at, "Alex!", PASSWORD, PASSWORD)
    assert any("must be 2-32 lower-case" in e.value for e in at.error)
    _fill_setup(at, "alex", PASSWORD, PASSWORD, import_briefs=False)
    assert at.session_state[USER_KEY] == "alex"
    d = Desk.open(app_ws)
    try:
        assert d.list_briefs() == []
    finally:
        d.close()


def test_sign_in_wrong_password_then_right_then_sign_out(team_desk: Desk) -> None:
    at = new_app().run()
    assert [t.value for t in at.title] == ["Sign in to copydesk"]
    at.text_input[0].input("ben")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["unknown user or wrong password"]
    assert USER_KEY not in at.session_state
    at.text_input[0].input("ben")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state[USER_KEY] == "ben"
    assert [t.value for t in at.title] == ["Overview"]
    assert "Signed in as **ben**" in [m.value for m in at.sidebar.markdown]
    at.sidebar.button(key="sign_out").click().run()
    assert USER_KEY not in at.session_state
    assert [t.value for t in at.title] == ["Sign in to copydesk"]


def test_deactivated_user_is_signed_out(team_desk: Desk) -> None:
    at = new_app("max").run()
    assert [t.value for t in at.title] == ["Overview"]
    team_desk.set_active("max", False, actor="admin")
    at.run()
    assert [t.value for t in at.title] == ["Sign in to copydesk"]


START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_failed_sign_ins_are_audited_and_lock_the_name(team_desk: Desk) -> None:
    clock.freeze(START)
    at = new_app().run()
    for _ in range(5):
        _sign_in(at, "ben", "not my password 42")
        assert [e.value for e in at.error] == ["unknown user or wrong password"]
    _sign_in(at, "ben", PASSWORD)  # the right password, during the lock
    assert [e.value for e in at.error] == [
        "too many failed sign-ins for 'ben': try again after 2030-03-01 09:01:00 UTC"]
    assert USER_KEY not in at.session_state
    failed = team_desk.audit_log(action="user.signin_failed")
    assert [(e.entity_id, e.data["reason"]) for e in failed] == [("ben", "wrong password")] * 5 + [("ben", "locked")]
    assert "not my password 42" not in str(team_desk.db.execute("SELECT * FROM audit_events").fetchall())
    clock.freeze(START + timedelta(minutes=1))
    _sign_in(at, "ben", PASSWORD)
    assert at.session_state[USER_KEY] == "ben"
    [signin] = team_desk.audit_log(action="user.signin")
    assert (signin.actor, signin.data) == ("ben", {"failures_before": 5})
