"""The app's session: which workspace, which :class:`Desk`, who is signed in.

Every page calls :func:`desk` and :func:`current_user`; expected failures are shown
with :func:`errors_shown` (the message, never a traceback). Nothing here decides what
a user may do: pages ask :func:`copydesk.services.permissions.can`, and the service
layer refuses the rest anyway.

Signing in starts a server-side session (:mod:`copydesk.services.sessions`) whose value
the browser keeps in the :data:`COOKIE` cookie, so a reload, a new tab or a bookmarked
page is signed in too. Streamlit can read cookies (``st.context.cookies``, sent with the
page's first request) but has no way to send a ``Set-Cookie`` header, so
:func:`write_cookie` sets it with a one-line script of ours (``st.html``; nothing is
downloaded). That cookie cannot be HttpOnly: see docs/security.md#app-sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from copydesk.errors import CopydeskError, InputError
from copydesk.models import Brief, User
from copydesk.passwords import MIN_LENGTH
from copydesk.services import Desk
from copydesk.services.permissions import can
from copydesk.services.sessions import ABSOLUTE, is_session_value
from copydesk.services.sso import SECRETS_SECTION, SsoConfig, sso_config
from copydesk.ui.highlight import md_escape
from copydesk.vocab import Role
from copydesk.workspace import Workspace, find_workspace

USER_KEY = "copydesk_user"
DESK_KEY = "copydesk_desk"
FLASH_KEY = "copydesk_flash"
#: This tab's session value and its absolute end (for the cookie's Expires).
SESSION_KEY = "copydesk_session"
#: The cookie carrying the session value between page loads.
COOKIE = "copydesk_session"
#: The single sign-on identity this tab could not map (tried once, not on every run).
SSO_REFUSED_KEY = "copydesk_sso_refused"
#: For help texts; the service layer applies the whole policy (copydesk.passwords).
MIN_PASSWORD = MIN_LENGTH

FlashKind = Literal["success", "error", "info", "warning"]


def workspace() -> Workspace:
    """The workspace named by ``$COPYDESK_WORKSPACE``, else the current folder's."""
    return find_workspace()


def desk() -> Desk:
    """This session's :class:`Desk` on the workspace library (opened once per session)."""
    ws = workspace()
    held = st.session_state.get(DESK_KEY)
    if held is not None and held[0] == ws.root:
        return held[1]  # type: ignore[no-any-return]
    opened = Desk.open(ws)
    st.session_state[DESK_KEY] = (ws.root, opened)
    return opened


def request_cookie() -> str | None:
    """The session cookie the browser sent when this tab opened (``None``: none)."""
    sent = st.context.cookies.get(COOKIE)
    return sent if isinstance(sent, str) else None  # AppTest has no browser: a mock, not a str


def sso_settings() -> SsoConfig | None:
    """The single sign-on mapping when Streamlit's ``[auth]`` is configured in
    ``.streamlit/secrets.toml``, else ``None`` (password sign-in only)."""
    try:
        if "auth" not in st.secrets:
            return None
        section = st.secrets.get(SECRETS_SECTION)
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None
    return sso_config(section)


def _sso_identity() -> dict[str, Any] | None:
    """The identity provider's claims when ``st.login`` signed this browser in."""
    try:
        if sso_settings() is None or not st.user.is_logged_in:
            return None
    except CopydeskError:
        return None
    return st.user.to_dict()


def sso_refused() -> bool:
    """True when single sign-on vouched for someone who is not a copydesk user (the
    sign-in page then offers to sign out of the identity provider)."""
    return SSO_REFUSED_KEY in st.session_state and _sso_identity() is not None


def _hold(user: str, value: str) -> None:
    st.session_state[USER_KEY] = user
    st.session_state[SESSION_KEY] = value


def _restore() -> str | None:
    """Sign this tab in from its session cookie, or from single sign-on; the user name."""
    d = desk()
    value = request_cookie()
    if value and is_session_value(value):
        try:
            user = d.resume_session(value)
        except CopydeskError:
            pass
        else:
            _hold(user.name, value)
            return user.name
    claims = _sso_identity()
    config = sso_settings() if claims is not None else None
    tried = repr(sorted((k, str(v)) for k, v in (claims or {}).items() if k in {"sub", "email", "iss"}))
    if claims is not None and config is not None and st.session_state.get(SSO_REFUSED_KEY) != tried:
        try:
            started = d.sso_sign_in(claims, config)
        except CopydeskError as exc:
            # once per identity and tab: every rerun would otherwise add a failed sign-in
            st.session_state[SSO_REFUSED_KEY] = tried
            flash(str(exc), "error")
            return None
        _hold(started.user, started.value)
        return started.user
    return None


def current_user() -> User | None:
    """The signed-in user, re-read on every run (roles may change; a deactivated user
    is signed out). A tab with no user is signed in by a live session cookie; a tab
    whose session was ended (sign-out elsewhere, a new password, a role change,
    deactivation, expiry) is signed out."""
    name = st.session_state.get(USER_KEY)
    value = st.session_state.get(SESSION_KEY)
    try:
        if not name:
            name = _restore()
            if not name:
                return None
        elif value:
            try:
                desk().resume_session(value)
            except CopydeskError as exc:
                flash(str(exc), "info")  # said on the sign-in page: why this tab is signed out
                raise
        user = desk().get_user(name)
    except CopydeskError:
        _forget()
        return None
    if not user.active:
        _forget()
        return None
    return user


def require_user() -> User:
    """The signed-in user; stops the page when there is none."""
    user = current_user()
    if user is None:
        st.warning("Please sign in.")
        st.stop()
    assert user is not None
    return user


def sign_in(name: str, password: str) -> User:
    """Check the password, start a session and remember the user for this tab (and,
    through the cookie, for the browser). The Desk audits the attempt and refuses it
    while the name or the library is locked after failures."""
    d = desk()
    user = d.authenticate(name.strip(), password)
    _hold(user.name, d.start_session(user.name).value)
    return user


def set_own_password(password: str) -> None:
    """Change the signed-in user's own password. Every session of theirs ends (a cookie
    taken with the old password stops working), and this tab gets a new one so it stays
    signed in."""
    user = require_user()
    d = desk()
    d.set_password(user.name, password, actor=user.name)
    _hold(user.name, d.start_session(user.name).value)


def _forget() -> None:
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(SESSION_KEY, None)


def sign_out() -> None:
    """End this browser's session (every tab of it) and forget the user; the Desk stays
    open. Signs out of single sign-on too, or the next run would sign straight back in."""
    name = st.session_state.get(USER_KEY)
    value = st.session_state.get(SESSION_KEY)
    _forget()
    if name and value:
        # the session may be gone already (expired, or ended by an account change)
        with suppress(CopydeskError):
            desk().end_session(value, actor=name)
    if _sso_identity() is not None:
        st.logout()


def _cookie_script(value: str, max_age: int) -> str:
    # value is checked against the session pattern ([A-Za-z0-9_-] only), so it cannot
    # break out of the string. SameSite=Strict: the cookie is not sent with requests
    # other sites start; Secure when the app is served over HTTPS.
    return (
        "<script>document.cookie = " f'"{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict"'
        ' + (location.protocol === "https:" ? "; Secure" : "");</script>'
    )


def write_cookie() -> None:
    """Keep the browser's session cookie in step with this tab: set it while a session
    is held and the browser did not send it, delete it when the browser sent one that
    no longer signs anyone in. Call once per run (the navigation does)."""
    value = st.session_state.get(SESSION_KEY)
    sent = request_cookie()
    if value and is_session_value(value):
        if sent != value:
            # The cookie may outlive its session (idle expiry, revocation): the server
            # refuses it then, and the next page load deletes it.
            # at the foot of the sidebar (there while signed in), where its empty box shows no gap
            st.sidebar.html(_cookie_script(value, int(ABSOLUTE.total_seconds())), unsafe_allow_javascript=True)
    elif sent:
        st.html(_cookie_script("", 0), unsafe_allow_javascript=True)


def allowed(user: User, action: str) -> bool:
    """Whether ``user`` may do ``action`` (pages use it to hide what they may not)."""
    return can(user, action)


def flash(message: str, kind: FlashKind = "success") -> None:
    """Queue a message for the next run of the page (used by button callbacks)."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flashes() -> None:
    """Show and clear the queued messages."""
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(md_escape(message))


@contextmanager
def errors_shown() -> Iterator[None]:
    """Show a :class:`CopydeskError` as a readable message instead of a traceback."""
    try:
        yield
    except CopydeskError as exc:
        st.error(md_escape(str(exc)))


def run_action(action: str, fn: Callable[..., object], *args: object, **kwargs: object) -> object | None:
    """Call ``fn`` from a button callback; queue its success or its error message.

    ``action`` is the success text. Returns ``fn``'s result, or ``None`` on failure."""
    try:
        result = fn(*args, **kwargs)
    except CopydeskError as exc:
        flash(str(exc), "error")
        return None
    if action:
        flash(action, "success")
    return result


@dataclass
class FirstAdminResult:
    """What the first-run setup did: the admin, the briefs imported and any bad files."""

    admin: User
    imported: list[Brief] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def create_first_admin(
    d: Desk, name: str, password: str, confirm: str, *, import_briefs: bool
) -> FirstAdminResult:
    """Create the first admin (no default password exists anywhere) and optionally import
    the workspace's ``briefs/*.yaml`` as that admin. A bad brief file is reported, not
    fatal."""
    if d.has_users():
        raise InputError("an admin already exists: sign in instead")
    if password != confirm:
        raise InputError("the two passwords differ", field="confirm")
    admin = d.add_user(name.strip(), [Role.ADMIN], password, actor=None)
    result = FirstAdminResult(admin)
    if import_briefs and d.workspace is not None:
        result.imported, result.problems = import_brief_files(d, d.workspace.briefs_dir, actor=admin.name)
    return result


def import_brief_files(d: Desk, folder: Path, *, actor: str) -> tuple[list[Brief], list[str]]:
    """Import every ``*.yaml`` brief in ``folder``; returns the briefs and the problems."""
    imported: list[Brief] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            imported.append(d.add_brief_file(path, actor=actor))
        except CopydeskError as exc:
            problems.append(str(exc))
    return imported, problems
