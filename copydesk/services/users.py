"""Users, roles and sign-in."""

from __future__ import annotations

import json
import re

from copydesk import audit
from copydesk.clock import now_iso
from copydesk.db import write_transaction
from copydesk.errors import AuthenticationError, InputError, PermissionDenied
from copydesk.models import User
from copydesk.passwords import check_password, hash_password
from copydesk.services.base import DeskBase, user_from_row
from copydesk.services.permissions import require
from copydesk.vocab import Role

NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


class UsersMixin(DeskBase):
    """User management. The first user can only be an admin and needs no actor."""

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
        if not NAME.match(name):
            raise InputError(
                f"user name '{name}' must be 2-32 lower-case letters, digits, '.', '_' or '-'"
            )
        if not roles:
            raise InputError("a user needs at least one role")
        pw_hash = hash_password(password)
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

    def set_roles(self, name: str, roles: list[Role], *, actor: str) -> User:
        """Replace ``name``'s roles (admin only)."""
        if not roles:
            raise InputError("a user needs at least one role")
        with write_transaction(self.db):
            require(self.actor(actor), "users.manage")
            self.get_user(name)
            self.db.execute(
                "UPDATE users SET roles = ? WHERE name = ?",
                [json.dumps(sorted(r.value for r in roles)), name],
            )
            audit.append(
                self.db, actor=actor, action="user.roles", entity="user", entity_id=name,
                data={"roles": sorted(r.value for r in roles)},
            )
        return self.get_user(name)

    def set_active(self, name: str, active: bool, *, actor: str) -> User:
        """Deactivate or reactivate a user (admin only). Users are never deleted:
        the audit log keeps naming them."""
        with write_transaction(self.db):
            require(self.actor(actor), "users.manage")
            self.get_user(name)
            if name == actor and not active:
                raise InputError("you cannot deactivate yourself")
            self.db.execute("UPDATE users SET active = ? WHERE name = ?", [int(active), name])
            audit.append(
                self.db, actor=actor, action="user.activate" if active else "user.deactivate",
                entity="user", entity_id=name,
            )
        return self.get_user(name)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Set a password: your own, or anyone's as an admin."""
        pw_hash = hash_password(password)
        with write_transaction(self.db):
            if actor != name:
                require(self.actor(actor), "users.manage")
            self.get_user(name)
            self.db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [pw_hash, name])
            audit.append(
                self.db, actor=actor, action="user.password", entity="user", entity_id=name
            )

    def authenticate(self, name: str, password: str) -> User:
        """Check a password; the same error for an unknown name and a wrong password."""
        row = self.db.execute(
            "SELECT password_hash, active FROM users WHERE name = ?", [name]
        ).fetchone()
        if row is None or not row[1] or not check_password(password, row[0]):
            raise AuthenticationError("unknown user or wrong password")
        return self.get_user(name)
