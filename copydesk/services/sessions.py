"""App sign-in sessions: what lets a reload, a new tab or a bookmarked page keep a user
signed in (docs/security.md#app-sessions).

A session is ``cds_<secret>``: 32 random bytes from :mod:`secrets`, carried by the
browser in a cookie. Only the sha256 of the whole value is stored (the ``sessions``
table), so a copy of the library cannot be turned into a working cookie. As with API
tokens (:mod:`copydesk.services.tokens`) a fast hash is right: the secret has 256 bits
of entropy, so nobody can guess it however fast the check is.

Why no separate signature: a signature only proves the server minted a value; the
server-side row proves that *and* can be deleted, which is what revocation needs. A
forged or altered value finds no row, exactly as a bad signature would fail.

A session ends at the first of: :data:`IDLE` without a page run, :data:`ABSOLUTE` after
sign-in, sign-out, and any change to its user's password, roles or active flag
(:func:`drop_sessions`, called inside those changes' transactions).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from copydesk import audit
from copydesk.clock import now
from copydesk.db import write_transaction
from copydesk.errors import AuthenticationError
from copydesk.models import User
from copydesk.services.base import DeskBase, user_from_row
from copydesk.services.sso import SsoConfig, map_identity

SESSION_PREFIX = "cds_"
#: Signed out after this long without a page run: a work day, so a laptop left overnight
#: asks for the password in the morning.
IDLE = timedelta(hours=12)
#: Signed out this long after signing in, however busy: a stolen cookie works a week at most.
ABSOLUTE = timedelta(days=7)
#: ``last_seen_at`` moves at most this often, so page runs do not each write to the library.
TOUCH_EVERY = timedelta(minutes=5)
_SESSION = re.compile(r"cds_[A-Za-z0-9_-]{43}")
EXPIRED = "your session has expired or was ended: please sign in again"


def session_sha256(value: str) -> str:
    """The stored form of a session value (its sha256, hex)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def is_session_value(value: str) -> bool:
    """True when ``value`` has the shape of a session value (nothing else is looked up)."""
    return _SESSION.fullmatch(value) is not None


def drop_sessions(db: sqlite_utils.Database, name: str) -> int:
    """End every session of user ``name``; returns how many. Call inside the write
    transaction of the change that ends them (password, roles, deactivation)."""
    return db.execute("DELETE FROM sessions WHERE user_name = ?", [name]).rowcount


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Session:
    """A session as the app holds it: the cookie value (never stored) and its limits."""

    value: str
    user: str
    expires_at: datetime


class SessionsMixin(DeskBase):
    """Start, resume and end app sessions."""

    def start_session(self, name: str) -> Session:
        """Start a session for active user ``name`` (after a checked sign-in); returns it
        with its value, which is shown to nobody but the browser's cookie."""
        at = now()
        value = SESSION_PREFIX + secrets.token_urlsafe(32)
        expires = at + ABSOLUTE
        with write_transaction(self.db):
            if not self.actor(name).active:  # actor() refuses unknown and deactivated users
                raise AuthenticationError(EXPIRED)
            # Expired rows of anyone go here, so the table stays small without a job.
            self.db.execute("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                            [_iso(at), _iso(at - IDLE)])
            self.db.execute(
                "INSERT INTO sessions (id, user_name, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                [session_sha256(value), name, _iso(at), _iso(at), _iso(expires)],
            )
        return Session(value, name, expires)

    def resume_session(self, value: str) -> User:
        """The active user of session ``value``, or :class:`AuthenticationError` when it is
        malformed, unknown, ended, expired (idle or absolute) or its user is deactivated.
        An expired session's row is deleted."""
        if not is_session_value(value):
            raise AuthenticationError(EXPIRED)
        at = now()
        key = session_sha256(value)
        row = self.db.execute(
            "SELECT user_name, last_seen_at, expires_at FROM sessions WHERE id = ?", [key]
        ).fetchone()
        if row is None:
            raise AuthenticationError(EXPIRED)
        name, last_seen, expires = row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2])
        if at >= expires or at >= last_seen + IDLE:
            with write_transaction(self.db):
                self.db.execute("DELETE FROM sessions WHERE id = ?", [key])
            raise AuthenticationError(EXPIRED)
        user = self.get_user(name)
        if not user.active:
            raise AuthenticationError(EXPIRED)
        if at - last_seen >= TOUCH_EVERY:
            with write_transaction(self.db):
                self.db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [_iso(at), key])
        return user

    def session_expiry(self, value: str) -> datetime | None:
        """When session ``value`` ends if used no more (``None``: not a live session)."""
        if not is_session_value(value):
            return None
        row = self.db.execute("SELECT last_seen_at, expires_at FROM sessions WHERE id = ?",
                              [session_sha256(value)]).fetchone()
        if row is None:
            return None
        return min(datetime.fromisoformat(row[0]) + IDLE, datetime.fromisoformat(row[1]))

    def end_session(self, value: str, *, actor: str) -> bool:
        """Sign out: end session ``value`` (audited as ``user.signout``). True when it was live."""
        if not is_session_value(value):
            return False
        with write_transaction(self.db):
            ended = self.db.execute("DELETE FROM sessions WHERE id = ?", [session_sha256(value)]).rowcount
            if ended:
                audit.append(self.db, actor=actor, action="user.signout", entity="user", entity_id=actor)
        return bool(ended)

    def live_sessions(self, name: str) -> int:
        """How many unexpired sessions user ``name`` has (for admins and tests)."""
        at = now()
        row = self.db.execute(
            "SELECT COUNT(*) FROM sessions WHERE user_name = ? AND expires_at > ? AND last_seen_at > ?",
            [name, _iso(at), _iso(at - IDLE)],
        ).fetchone()
        return int(row[0])

    def sso_sign_in(self, claims: Mapping[str, Any], config: SsoConfig) -> Session:
        """Sign in the copydesk user an identity provider vouched for (:mod:`copydesk.services.sso`):
        audited as ``user.signin`` (``via: sso``) or ``user.signin_failed``; never creates a user."""
        rows = self.db.execute("SELECT name, roles, created_at, active FROM users").fetchall()
        users = {r[0]: user_from_row(dict(zip(["name", "roles", "created_at", "active"], r, strict=True)))
                 for r in rows}
        try:
            name = map_identity(claims, config, users)
        except AuthenticationError as exc:
            with write_transaction(self.db):
                audit.append(self.db, actor="(sign-in)",  # users.SIGNIN_ACTOR (users imports this module)
                             action="user.signin_failed", entity="user",
                             entity_id="(sso)", data={"reason": str(exc), "via": "sso"})
            raise
        with write_transaction(self.db):
            audit.append(self.db, actor=name, action="user.signin", entity="user", entity_id=name,
                         data={"via": "sso"})
        return self.start_session(name)
