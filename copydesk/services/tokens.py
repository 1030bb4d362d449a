"""API tokens for ``copydesk serve``: created and revoked by an admin, shown once,
stored as a sha256, checked in constant time, expiring, and audited on create, revoke
and use (docs/security.md#api-tokens).

A token is ``cdk_<id>_<secret>``: the id finds the row (so checking a token is one
indexed read), the secret is 32 random bytes from :mod:`secrets`. Only the sha256 of
the whole token is stored.

Why a fast hash is right here, when passwords get scrypt (:mod:`copydesk.passwords`):
a slow hash protects *guessable* secrets from an offline guessing attack. This secret
has 256 bits of entropy, so nobody can enumerate it however fast the hash is, and a
fast hash keeps the check per request at microseconds instead of the ~50 ms scrypt
costs (which would also make the API easy to overload).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from copydesk import audit
from copydesk.clock import now
from copydesk.db import write_transaction
from copydesk.errors import AuthenticationError, InputError, NotFoundError, PermissionDenied
from copydesk.models import User
from copydesk.services.base import DeskBase
from copydesk.vocab import Role

TOKEN_PREFIX = "cdk_"
#: ``campaign:ID`` may decide for campaign ID only; ``content`` may read approved content only.
CONTENT_SCOPE = "content"
CAMPAIGN_SCOPE = "campaign:"
CAMPAIGN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
DEFAULT_EXPIRY = timedelta(days=90)
#: The longest a token may live: a forgotten token should not work forever.
MAX_EXPIRY = timedelta(days=366)
_TOKEN = re.compile(r"cdk_(T[0-9]{1,9})_([A-Za-z0-9_-]{43})")
_COLUMNS = ("id", "name", "scope", "created_by", "created_at", "expires_at", "revoked_at", "revoked_by",
            "last_used_at")


@dataclass(frozen=True)
class Token:
    """A token as listed (never its secret or its hash)."""

    id: str
    name: str
    scope: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None

    def state(self, at: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``at``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if at >= self.expires_at else "active"

    def allows(self, scope: str) -> bool:
        """True when this token's scope is exactly ``scope`` (``content`` or ``campaign:ID``)."""
        return hmac.compare_digest(self.scope.encode(), scope.encode())


def token_sha256(token: str) -> str:
    """The stored form of a token: sha256 of the whole token text (see the module doc)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_scope(scope: str) -> str:
    """``scope`` when it is ``content`` or ``campaign:ID``, else an InputError naming the field."""
    if scope == CONTENT_SCOPE:
        return scope
    if scope.startswith(CAMPAIGN_SCOPE) and CAMPAIGN_ID.fullmatch(scope[len(CAMPAIGN_SCOPE):]):
        return scope
    raise InputError(f"'{scope[:80]}' is not a scope: use 'content' or 'campaign:ID' "
                     "(ID: letters, digits, '.', '_' or '-')", field="scope")


def parse_expiry(text: str | None, at: datetime) -> datetime:
    """When a token given ``--expires TEXT`` at ``at`` expires: ``30d`` (days from now),
    or a date (``2027-01-31``: the end of that UTC day) or an ISO date-time. Default
    :data:`DEFAULT_EXPIRY`; never past :data:`MAX_EXPIRY`, never in the past."""
    if not text:
        return at + DEFAULT_EXPIRY
    text = text.strip()
    days = re.fullmatch(r"([0-9]{1,4})d", text)
    try:
        if days:
            moment = at + timedelta(days=int(days.group(1)))
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            moment = datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InputError(f"'{text[:40]}' is not 30d (days), a date or an ISO date-time", field="expires") from None
    if moment <= at:
        raise InputError(f"{moment.isoformat(timespec='seconds')} is not in the future", field="expires")
    if moment - at > MAX_EXPIRY:
        raise InputError(f"a token lives at most {MAX_EXPIRY.days} days", field="expires")
    return moment


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _token(row: tuple[Any, ...]) -> Token:
    d = dict(zip(_COLUMNS, row, strict=True))
    return Token(
        id=d["id"], name=d["name"], scope=d["scope"], created_by=d["created_by"],
        created_at=datetime.fromisoformat(d["created_at"]), expires_at=datetime.fromisoformat(d["expires_at"]),
        revoked_at=_when(d["revoked_at"]), revoked_by=d["revoked_by"], last_used_at=_when(d["last_used_at"]),
    )


def _require_admin(user: User) -> None:
    if Role.ADMIN not in user.roles:
        have = ", ".join(r.value for r in user.roles) or "no role"
        raise PermissionDenied(f"{user.name} ({have}) may not manage API tokens: that needs the admin role")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class TokensMixin(DeskBase):
    """Create, list, revoke and check API tokens (admins only create and revoke)."""

    def create_token(self, name: str, scope: str, *, actor: str, expires: str | None = None) -> tuple[Token, str]:
        """A new token and its secret text (shown once; only its sha256 is kept). Audited."""
        if TOKEN_NAME.fullmatch(name) is None:
            raise InputError("a token name is 1-64 letters, digits, spaces, '.', '_' or '-'", field="name")
        check_scope(scope)
        at = now()
        expires_at = parse_expiry(expires, at)
        with write_transaction(self.db):
            _require_admin(self.actor(actor))
            n = self.db.execute(
                "SELECT COALESCE(MAX(CAST(SUBSTR(id, 2) AS INTEGER)), 0) + 1 FROM api_tokens"
            ).fetchone()[0]
            token_id = f"T{n}"
            secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            digest = token_sha256(secret)
            self.db.execute(
                "INSERT INTO api_tokens (id, name, scope, secret_sha256, created_by, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [token_id, name, scope, digest, actor, _iso(at), _iso(expires_at)],
            )
            audit.append(self.db, actor=actor, action="token.create", entity="token", entity_id=token_id,
                         data={"name": name, "scope": scope, "expires_at": _iso(expires_at),
                               "secret_sha256": digest})
        return self.get_token(token_id), secret

    def get_token(self, token_id: str) -> Token:
        """The token ``token_id``; NotFoundError if none."""
        row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM api_tokens WHERE id = ?", [token_id]).fetchone()
        if row is None:
            raise NotFoundError(f"no token '{token_id[:20]}' (see 'copydesk token list')")
        return _token(row)

    def list_tokens(self) -> list[Token]:
        """Every token, oldest first (revoked and expired ones too: they stay on the record)."""
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM api_tokens ORDER BY CAST(SUBSTR(id, 2) AS INTEGER)"
        ).fetchall()
        return [_token(r) for r in rows]

    def has_usable_tokens(self) -> bool:
        """True when some token is neither revoked nor expired."""
        row = self.db.execute(
            "SELECT 1 FROM api_tokens WHERE revoked_at IS NULL AND expires_at > ? LIMIT 1", [_iso(now())]
        ).fetchone()
        return row is not None

    def revoke_token(self, token_id: str, *, actor: str) -> Token:
        """Revoke a token for good (admin only). Audited."""
        with write_transaction(self.db):
            _require_admin(self.actor(actor))
            token = self.get_token(token_id)
            if token.revoked_at is not None:
                raise InputError(f"token {token_id} is already revoked")
            self.db.execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                            [_iso(now()), actor, token_id])
            audit.append(self.db, actor=actor, action="token.revoke", entity="token", entity_id=token_id,
                         data={"name": token.name, "scope": token.scope})
        return self.get_token(token_id)

    def authenticate_token(self, text: str) -> Token:
        """The active token whose secret is ``text``; AuthenticationError otherwise (one
        message for every failure, so a caller learns nothing about which ids exist)."""
        wrong = AuthenticationError("invalid, expired or revoked API token")
        found = _TOKEN.fullmatch(text)
        if found is None:
            raise wrong
        row = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)}, secret_sha256 FROM api_tokens WHERE id = ?", [found.group(1)]
        ).fetchone()
        # compare a digest either way, so an unknown id costs what a known one does
        stored = row[-1] if row is not None else "0" * 64
        if not hmac.compare_digest(token_sha256(text), stored) or row is None:
            raise wrong
        token = _token(row[:-1])
        if token.state(now()) != "active":
            raise wrong
        return token

    def record_token_use(self, token: Token, endpoint: str, *, since_last: int) -> None:
        """Audit that ``token`` called ``endpoint`` (a route, never contact data), and move
        its ``last_used_at``. The server calls this at most once per token and endpoint an
        hour, with ``since_last``: the requests it served on that pair since its previous
        record (0 for the first)."""
        at = now()
        with write_transaction(self.db):
            self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [_iso(at), token.id])
            audit.append(self.db, actor=f"token:{token.id}", action="token.use", entity="token",
                         entity_id=token.id, data={"endpoint": endpoint, "since_last": since_last})


__all__ = ["Token", "TokensMixin", "check_scope", "parse_expiry", "token_sha256"]
