"""The app's session: which workspace, which :class:`Desk`, who is signed in.

Every page calls :func:`desk` and :func:`current_user`; expected failures are shown
with :func:`errors_shown` (the message, never a traceback). Nothing here decides what
a user may do: pages ask :func:`copydesk.services.permissions.can`, and the service
layer refuses the rest anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import streamlit as st

from copydesk.errors import CopydeskError, InputError
from copydesk.models import Brief, User
from copydesk.passwords import MIN_LENGTH
from copydesk.services import Desk
from copydesk.services.permissions import can
from copydesk.ui.highlight import md_escape
from copydesk.vocab import Role
from copydesk.workspace import Workspace, find_workspace

USER_KEY = "copydesk_user"
DESK_KEY = "copydesk_desk"
FLASH_KEY = "copydesk_flash"
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


def current_user() -> User | None:
    """The signed-in user, re-read on every run (roles may change; a deactivated user
    is signed out)."""
    name = st.session_state.get(USER_KEY)
    if not name:
        return None
    try:
        user = desk().get_user(name)
    except CopydeskError:
        sign_out()
        return None
    if not user.active:
        sign_out()
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
    """Check the password and remember the user for this session. The Desk audits the
    attempt and refuses it while the name or the library is locked after failures."""
    user = desk().authenticate(name.strip(), password)
    st.session_state[USER_KEY] = user.name
    return user


def sign_out() -> None:
    """Forget the signed-in user (the Desk stays open)."""
    st.session_state.pop(USER_KEY, None)


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
