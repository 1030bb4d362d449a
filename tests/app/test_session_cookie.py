"""Sessions that survive a reload, a new tab and a bookmark: the cookie signs a new tab
in while its session lives; an ended or expired one does not (and is deleted); an
address lands on its page, after signing in when needed.

AppTest has no browser, so "the browser sent this cookie" is
:func:`copydesk.ui.session.request_cookie` answering it, and "the page set the cookie"
is the script element the run emitted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from copydesk import clock
from copydesk.services import Desk
from copydesk.services.sessions import IDLE
from copydesk.ui import session
from copydesk.ui.session import COOKIE, SESSION_KEY, USER_KEY
from copydesk.vocab import Role
from tests.app.conftest import new_app, page_path, texts
from tests.conftest import PASSWORD


def _browser_sends(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    monkeypatch.setattr(session, "request_cookie", lambda: value)


def _cookie_scripts(at: AppTest) -> list[str]:
    return [str(e.proto.body) for e in at.get("html") if COOKIE in str(e.proto.body)]


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def _sign_in(at: AppTest, name: str = "ben") -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(PASSWORD)
    return at.button[0].click().run()


def test_signing_in_starts_a_session_and_sets_its_cookie(team_desk: Desk) -> None:
    at = _sign_in(new_app().run())
    assert _titles(at) == ["Overview"]
    value = at.session_state[SESSION_KEY]
    assert team_desk.resume_session(value).name == "ben"
    [script] = _cookie_scripts(at)
    assert f"{COOKIE}={value};" in script and "SameSite=Strict" in script and "Secure" in script
    assert "Max-Age=604800" in script  # the absolute limit, 7 days


def test_a_valid_session_cookie_signs_a_new_tab_in(team_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    s = team_desk.start_session("ana")
    _browser_sends(monkeypatch, s.value)
    at = new_app().run()
    assert not at.exception
    assert at.session_state[USER_KEY] == "ana"
    assert _titles(at) == ["Overview"]
    assert not _cookie_scripts(at)  # the browser has it already


def test_a_bookmarked_page_opens_directly_with_a_live_cookie(team_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    _browser_sends(monkeypatch, team_desk.start_session("ana").value)
    at = new_app().run()
    at.switch_page(page_path("library")).run()
    assert not at.exception
    assert _titles(at) == ["Library"]


@pytest.mark.parametrize("how", ["signed out", "new password", "deactivated", "new role", "expired", "forged"])
def test_an_ended_or_expired_cookie_does_not_sign_in_and_is_deleted(
    team_desk: Desk, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    s = team_desk.start_session("ana")
    value = s.value
    if how == "signed out":
        team_desk.end_session(value, actor="ana")
    elif how == "new password":
        team_desk.set_password("ana", PASSWORD + " again", actor="admin")
    elif how == "deactivated":
        team_desk.set_active("ana", False, actor="admin")
    elif how == "new role":
        team_desk.set_roles("ana", [Role.COPYWRITER, Role.REVIEWER], actor="admin")
    elif how == "expired":
        clock.freeze(clock.now() + IDLE + timedelta(seconds=1))
    else:
        value = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    _browser_sends(monkeypatch, value)
    at = new_app().run()
    assert not at.exception
    assert USER_KEY not in at.session_state
    assert _titles(at) == ["Sign in to copydesk"]
    [script] = _cookie_scripts(at)
    assert f"{COOKIE}=;" in script and "Max-Age=0" in script


def test_ending_a_session_elsewhere_signs_an_open_tab_out(team_desk: Desk) -> None:
    at = _sign_in(new_app().run(), "ana")
    assert _titles(at) == ["Overview"]
    team_desk.set_roles("ana", [Role.COPYWRITER, Role.REVIEWER], actor="admin")
    at.run()
    assert _titles(at) == ["Sign in to copydesk"]
    assert USER_KEY not in at.session_state
    assert "your session has expired or was ended: please sign in again" in texts(at)


def test_changing_your_own_password_keeps_this_tab_signed_in_and_ends_the_others(team_desk: Desk) -> None:
    at = _sign_in(new_app().run(), "ana")
    other = _sign_in(new_app().run(), "ana")
    old = at.session_state[SESSION_KEY]
    script = AppTest.from_function(_change_password, default_timeout=120)
    for key in (USER_KEY, SESSION_KEY):
        script.session_state[key] = at.session_state[key]
    script.run()
    assert not script.exception, script.exception
    new = script.session_state[SESSION_KEY]
    assert new != old and team_desk.resume_session(new).name == "ana"
    other.run()
    assert _titles(other) == ["Sign in to copydesk"]


def _change_password() -> None:
    from copydesk.ui import session

    session.set_own_password("correct horse battery again")


def test_sign_out_ends_the_session_for_every_tab(team_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _sign_in(new_app().run())
    value = at.session_state[SESSION_KEY]
    at.sidebar.button(key="sign_out").click().run()
    assert _titles(at) == ["Sign in to copydesk"]
    assert team_desk.live_sessions("ben") == 0
    assert [e.actor for e in team_desk.audit_log(action="user.signout")] == ["ben"]
    _browser_sends(monkeypatch, value)  # another tab of the same browser, opened later
    other = new_app().run()
    assert _titles(other) == ["Sign in to copydesk"]


def test_a_bookmarked_page_asks_to_sign_in_then_opens(team_desk: Desk) -> None:
    at = new_app().run()
    at.switch_page(page_path("library")).run()
    assert not at.exception
    assert _titles(at) == ["Sign in to copydesk"]
    assert "Sign in to open Library." in texts(at)
    assert "Page not found" not in texts(at)
    _sign_in(at)
    assert not at.exception
    assert _titles(at) == ["Library"]
    assert at.session_state[USER_KEY] == "ben"


def test_a_page_the_roles_do_not_show_says_so(team_desk: Desk) -> None:
    at = new_app("max").run()
    at.switch_page(page_path("review")).run()
    assert not at.exception
    assert _titles(at) == ["Review"]
    assert "Your roles do not include the Review page" in texts(at)
    assert not at.main.button  # nothing of the page itself ran


def test_failed_sign_ins_stay_throttled_and_audited_with_sessions(team_desk: Desk) -> None:
    at = new_app().run()
    for _ in range(5):
        at.text_input[0].input("ben")
        at.text_input[1].input("wrong password")
        at.button[0].click().run()
    _sign_in(at)
    assert USER_KEY not in at.session_state
    assert any("too many failed sign-ins" in e.value for e in at.error)
    assert len(team_desk.audit_log(action="user.signin_failed")) == 6
    assert team_desk.live_sessions("ben") == 0


def _sso_app(claims: dict[str, object]) -> AppTest:
    at = new_app()
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32}
    at.secrets["copydesk_sso"] = {"domains": ["example.com"]}
    at.user = {"is_logged_in": True, **claims}
    return at


def test_single_sign_on_maps_the_identity_to_a_copydesk_user(team_desk: Desk) -> None:
    at = _sso_app({"email": "ana@example.com", "email_verified": True}).run()
    assert not at.exception
    assert at.session_state[USER_KEY] == "ana"
    assert team_desk.resume_session(at.session_state[SESSION_KEY]).name == "ana"
    assert team_desk.audit_log(action="user.signin")[-1].data == {"via": "sso"}


def test_single_sign_on_never_signs_in_an_admin_by_domain(team_desk: Desk) -> None:
    at = _sso_app({"email": "admin@example.com", "email_verified": True}).run()
    assert not at.exception
    assert USER_KEY not in at.session_state
    assert _titles(at) == ["Sign in to copydesk"]
    assert "admin@example.com is not a copydesk user" in texts(at)
    assert [b.key for b in at.button][1:] == ["sso_logout"]
    at.run()
    assert len(team_desk.audit_log(action="user.signin_failed")) == 1  # tried once, not per run


def test_with_auth_secrets_the_sign_in_page_offers_single_sign_on(team_desk: Desk) -> None:
    at = _sso_app({})
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button if b.key == "sso"] == ["Sign in with single sign-on"]


def test_without_auth_secrets_there_is_no_single_sign_on_button(team_desk: Desk) -> None:
    at = new_app().run()
    assert not [b for b in at.button if b.key == "sso"]
