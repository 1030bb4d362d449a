"""Users, roles and sign-in.

Fail-closed rules (docs/security.md): a user name matches :data:`USER_NAME` whole; a
password meets :mod:`copydesk.passwords`; no change leaves the library without an
active admin; a deactivated user cannot act, sign in or change a password. Every
sign-in, failed or not, is audited; repeated failures lock the name, and many failures
across names lock sign-in for everyone, for a while (:class:`SigninThrottle`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from copydesk import audit
from copydesk.clock import now, now_iso
from copydesk.db import write_transaction
from copydesk.errors import AuthenticationError, InputError, PermissionDenied
from copydesk.models import User
from copydesk.passwords import UNMATCHABLE, check_password, hash_password
from copydesk.services.base import USER_NAME, USER_NAME_RULE, DeskBase, shown_name, user_from_row
from copydesk.services.permissions import require
from copydesk.services.sessions import drop_sessions
from copydesk.vocab import Role

#: The actor of a failed sign-in's audit event: nobody is signed in (not a valid name).
SIGNIN_ACTOR = "(sign-in)"
WRONG = "unknown user or wrong password"


def check_user_name(name: str) -> str:
    """``name`` when it is a valid user name, else :class:`InputError` naming the rule."""
    if USER_NAME.fullmatch(name) is None:
        raise InputError(f"user name {shown_name(name)} must be {USER_NAME_RULE}", field="name")
    return name


@dataclass(frozen=True)
class SigninThrottle:
    """When sign-in is refused without looking at the password.

    A name is locked after ``free`` failures since its last successful sign-in (within
    ``memory``): for ``first_lock`` after the last failure, doubling with each further
    failure up to ``max_lock``. Sign-in is locked for every name while ``overall_limit``
    failures (any names) fall within ``overall_window``. Unknown names are counted like
    known ones, so a lock says nothing about whether a name exists.
    """

    free: int = 5
    first_lock: timedelta = timedelta(minutes=1)
    max_lock: timedelta = timedelta(hours=1)
    memory: timedelta = timedelta(hours=24)
    overall_limit: int = 100
    overall_window: timedelta = timedelta(minutes=15)

    def name_locked_until(self, failures: int, last: datetime | None) -> datetime | None:
        """End of a name's lock, given its failure count and last failure time."""
        if failures < self.free or last is None:
            return None
        doublings = min(failures - self.free, 16)  # 2**16 minutes is past any max_lock
        lock: timedelta = min(self.first_lock * 2**doublings, self.max_lock)
        return last + lock

    def overall_locked_until(self, recent: list[datetime]) -> datetime | None:
        """End of the library-wide lock, given the failures within the window, newest
        first: the lock lifts once fewer than ``overall_limit`` remain in the window."""
        if len(recent) < self.overall_limit:
            return None
        return recent[self.overall_limit - 1] + self.overall_window


THROTTLE = SigninThrottle()


def _iso(moment: datetime) -> str:
    """The stored form of a time (as :func:`copydesk.clock.now_iso`), so they compare as text."""
    return moment.isoformat(timespec="microseconds")


def _until(moment: datetime) -> str:
    """A lock's end for a message, rounded up to the second."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class UsersMixin(DeskBase):
    """User management. The first user can only be an admin and needs no actor."""

    throttle: SigninThrottle = THROTTLE

    def has_users(self) -> bool:
        """True once any user exists (the app asks for a first admin until then)."""
        return bool(self.db.execute("SELECT 1 FROM users LIMIT 1").fetchone())

    def list_users(self) -> list[User]:
        """All users, by name."""
        rows = self.db.execute(
            "SELECT name, roles, created_at, active FROM users ORDER BY name"
        ).fetchall()
        return [user_from_row(dict(zip(["name", "roles", "created_at", "active"], r, strict=True))) for r in rows]

    def add_user(
        self, name: str, roles: list[Role], password: str, *, actor: str | None
    ) -> User:
        """Create a user. With no users yet, only a first admin may be created, by nobody."""
        check_user_name(name)
        if not roles:
            raise InputError("a user needs at least one role")
        pw_hash = hash_password(password, user_name=name)
        with write_transaction(self.db):
            first = not self.has_users()
            if first:
                if Role.ADMIN not in roles:
                    raise PermissionDenied("the first user must be an admin (--role admin)")
                by = name
            else:
                if actor is None:
                    raise PermissionDenied("adding a user needs an admin: pass --as ADMIN")
                require(self.actor(actor), "users.manage")
                by = actor
            if self.db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise InputError(f"user '{name}' already exists")
            self.db.execute(
                "INSERT INTO users (name, password_hash, roles, active, created_at) "
                "VALUES (?, ?, ?, 1, ?)",
                [name, pw_hash, json.dumps(sorted(r.value for r in roles)), now_iso()],
            )
            audit.append(
                self.db,
                actor=by,
                action="user.add",
                entity="user",
                entity_id=name,
                data={"roles": sorted(r.value for r in roles), "first_admin": first},
            )
        return self.get_user(name)

    def _active_admins(self) -> set[str]:
        rows = self.db.execute("SELECT name, roles FROM users WHERE active = 1").fetchall()
        return {name for name, roles in rows if Role.ADMIN.value in json.loads(roles)}

    def _keep_an_admin(self, name: str, *, still_admin: bool) -> None:
        """Refuse a change after which no active admin is left: ``name`` is the only one
        and would no longer be (``still_admin`` false)."""
        if not still_admin and self._active_admins() == {name}:
            raise PermissionDenied(
                f"'{name}' is the only active admin: make another user an admin first "
                "(copydesk would be left with nobody to manage users)"
            )

    def set_roles(self, name: str, roles: list[Role], *, actor: str) -> User:
        """Replace ``name``'s roles (admin only). The last active admin keeps the role."""
        if not roles:
            raise InputError("a user needs at least one role")
        with write_transaction(self.db):
            require(self.actor(actor), "users.manage")
            self.get_user(name)
            self._keep_an_admin(name, still_admin=Role.ADMIN in roles)
            self.db.execute(
                "UPDATE users SET roles = ? WHERE name = ?",
                [json.dumps(sorted(r.value for r in roles)), name],
            )
            # A new role means signing in again: no page keeps the old role's view.
            drop_sessions(self.db, name)
            audit.append(
                self.db, actor=actor, action="user.roles", entity="user", entity_id=name,
                data={"roles": sorted(r.value for r in roles)},
            )
        return self.get_user(name)

    def set_active(self, name: str, active: bool, *, actor: str) -> User:
        """Deactivate or reactivate a user (admin only). Users are never deleted:
        the audit log keeps naming them. The last active admin stays active."""
        with write_transaction(self.db):
            require(self.actor(actor), "users.manage")
            user = self.get_user(name)
            if user.active == active:
                raise InputError(f"user '{name}' is already {'active' if active else 'deactivated'}")
            self._keep_an_admin(name, still_admin=active)
            if name == actor and not active:
                raise InputError("you cannot deactivate yourself")
            self.db.execute("UPDATE users SET active = ? WHERE name = ?", [int(active), name])
            drop_sessions(self.db, name)
            audit.append(
                self.db, actor=actor, action="user.activate" if active else "user.deactivate",
                entity="user", entity_id=name,
            )
        return self.get_user(name)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Set a password: your own while you are active, or anyone's as an admin."""
        pw_hash = hash_password(password, user_name=name)
        with write_transaction(self.db):
            acting = self.actor(actor)  # a deactivated user changes nothing, not even their password
            if actor != name:
                require(acting, "users.manage")
            self.get_user(name)
            self.db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [pw_hash, name])
            # A new password ends every session, so a cookie taken with the old one stops working.
            drop_sessions(self.db, name)
            audit.append(
                self.db, actor=actor, action="user.password", entity="user", entity_id=name
            )

    # -- sign-in -------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> User:
        """Check a password; the same error for an unknown name, a wrong password and a
        deactivated user. Audited either way (the name, never the password); refused
        without a check while the name or the library is locked (:class:`SigninThrottle`)."""
        at = now()
        # The throttle's key and the record's entity: a valid name as is. Anything else
        # (markup, control characters, a password typed in the wrong box) cannot be a
        # user: it counts towards the library-wide lock and is kept only as a short repr.
        key = name if USER_NAME.fullmatch(name) else ""
        with write_transaction(self.db):
            locked = self._signin_lock(key, at)
            reason = "locked" if locked else self._signin_check(key, password)
            if reason is None:
                cleared = self.db.execute("DELETE FROM signin_failures WHERE name = ?", [key]).rowcount
                audit.append(self.db, actor=key, action="user.signin", entity="user", entity_id=key,
                             data={"failures_before": cleared})
            else:
                self._record_failure(key, name, reason, at, locked[0] if locked else None)
        # committed: the failure stays on the record although sign-in is refused
        if locked:
            until, scope = locked
            raise AuthenticationError(f"too many failed sign-ins {scope}: try again after {_until(until)}")
        if reason is not None:
            raise AuthenticationError(WRONG)
        return self.get_user(key)

    def _record_failure(self, key: str, typed: str, reason: str, at: datetime, locked_until: datetime | None) -> None:
        """Audit a refused sign-in; count it towards the locks unless it was refused by one
        (waiting out a lock is not made longer by knocking)."""
        data = {"reason": reason}
        if not key:
            data["name_typed"] = shown_name(typed)
        if locked_until is not None:
            data["locked_until"] = _iso(locked_until)
        else:
            self.db.execute("INSERT INTO signin_failures (name, at) VALUES (?, ?)", [key, _iso(at)])
            self.db.execute("DELETE FROM signin_failures WHERE at < ?", [_iso(at - self.throttle.memory)])
        audit.append(self.db, actor=SIGNIN_ACTOR, action="user.signin_failed", entity="user",
                     entity_id=key or "(invalid name)", data=data)

    def _signin_check(self, name: str, password: str) -> str | None:
        """Why the password does not sign ``name`` in (``""``: an invalid name), or ``None``
        when it does. An unknown or invalid name costs a hash check too, so timing does not
        tell names apart."""
        row = None
        if name:
            row = self.db.execute("SELECT password_hash, active FROM users WHERE name = ?", [name]).fetchone()
        matches = check_password(password, row[0] if row else UNMATCHABLE)
        if not name:
            return "invalid name"
        if row is None:
            return "unknown name"
        if not matches:
            return "wrong password"
        if not row[1]:
            return "deactivated"
        return None

    def _signin_lock(self, key: str, at: datetime) -> tuple[datetime, str] | None:
        """The running lock (its end, and whose) for signing in as ``key`` at ``at``."""
        t = self.throttle
        recent = [datetime.fromisoformat(r[0]) for r in self.db.execute(
            "SELECT at FROM signin_failures WHERE at >= ? ORDER BY at DESC LIMIT ?",
            [_iso(at - t.overall_window), t.overall_limit],
        )]
        overall = t.overall_locked_until(recent)
        if overall is not None and at < overall:
            return overall, "on this library"
        if not key:
            return None
        count, last = self.db.execute(
            "SELECT COUNT(*), MAX(at) FROM signin_failures WHERE name = ? AND at >= ?",
            [key, _iso(at - t.memory)],
        ).fetchone()
        mine = t.name_locked_until(count, datetime.fromisoformat(last) if last else None)
        if mine is not None and at < mine:
            return mine, f"for '{key}'"
        return None
