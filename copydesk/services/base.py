"""What every part of the :class:`~copydesk.services.desk.Desk` shares: the library's
database and workspace, the guardrail policy, and the reads all of them rely on (users,
briefs, variants). Each part (users, briefs, variants, reviews, library, sends,
outcomes) is a mixin on this base, so none re-declares another's methods."""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlite_utils

from copydesk.errors import NotFoundError, PermissionDenied, PolicyError
from copydesk.models import Brief, Content, Finding, Revision, User, Variant, Waiver
from copydesk.vocab import Channel, Role, Status
from copydesk.workspace import Workspace, WorkspaceConfig

if TYPE_CHECKING:
    from copydesk.guardrails import Policy

#: A user name (docs/security.md): 2-32 characters, lower-case ASCII letters, digits, '.',
#: '_' or '-', starting with a letter. Matched whole (``fullmatch``: ``$`` would let a
#: trailing newline through, and 'ben\n' would sit beside 'ben').
USER_NAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
USER_NAME_RULE = "2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter"

VARIANT_COLUMNS = (
    "id", "brief_id", "channel", "stage", "segment", "status", "current_revision",
    "approved_revision", "approved_hash", "approved_by", "approved_at", "review_by",
    "created_by", "created_at", "updated_at",
)
REVISION_COLUMNS = (
    "variant_id", "number", "channel", "fields", "content_hash", "author", "created_at",
    "provenance", "findings",
)


def searchable_text(fields: dict[str, str]) -> str:
    """The text the full-text index sees for one revision."""
    return "\n".join(v for v in fields.values() if v)


def revision_from_row(row: dict[str, Any], waivers: list[Waiver] | None = None) -> Revision:
    """Build a Revision from a ``revisions`` row."""
    return Revision(
        variant_id=row["variant_id"],
        number=row["number"],
        content=Content(channel=Channel(row["channel"]), fields=json.loads(row["fields"])),
        content_hash=row["content_hash"],
        author=row["author"],
        created_at=row["created_at"],
        provenance=json.loads(row["provenance"] or "{}"),
        findings=[Finding.model_validate(f) for f in json.loads(row["findings"] or "[]")],
        waivers=waivers or [],
    )


def variant_from_rows(v: dict[str, Any], current: Revision) -> Variant:
    """Build a Variant from a ``variants`` row and its current revision."""
    return Variant(
        id=v["id"], brief_id=v["brief_id"], channel=v["channel"], stage=v["stage"],
        segment=v["segment"] or "", status=Status(v["status"]), current=current,
        approved_revision=v["approved_revision"], approved_hash=v["approved_hash"],
        approved_by=v["approved_by"], approved_at=v["approved_at"], review_by=v["review_by"],
        created_at=v["created_at"], updated_at=v["updated_at"],
    )


def shown_name(name: str) -> str:
    """A user name as typed, quoted and escaped for a message (``'ben\\n'``), cut short."""
    return repr(name[:40]) + ("..." if len(name) > 40 else "")


def user_from_row(row: dict[str, Any]) -> User:
    """Build a User from a ``users`` row."""
    return User(
        name=row["name"],
        roles=[Role(r) for r in json.loads(row["roles"])],
        created_at=row["created_at"],
        active=bool(row["active"]),
    )



class DeskBase:
    """The database, the workspace, the policy and the shared reads."""

    def __init__(self, db: sqlite_utils.Database, workspace: Workspace | None = None) -> None:
        self.db = db
        self.workspace = workspace
        # without a workspace, copydesk.yaml's defaults
        config = workspace.config() if workspace else WorkspaceConfig()
        self.review_days = config.review_days
        self.max_review_days = config.max_review_days

    @cached_property
    def policy(self) -> Policy:
        """The workspace's guardrail policy. Fails closed (docs/design.md, invariant 9):
        with no workspace, or a policy that is missing, empty or unreadable, this raises,
        so every command that checks text stops instead of passing everything."""
        if self.workspace is None:
            raise PolicyError("no workspace, so no guardrail policy: text cannot be checked")
        from copydesk.guardrails import load_policy
        from copydesk.services.judging import workspace_judge

        return load_policy(self.workspace.policy_path).with_judge(workspace_judge(self.workspace))

    def policy_sha256(self) -> str:
        """The sha256 of the policy's pack files (recorded with every check); raises when
        there is no usable policy."""
        return str(getattr(self.policy, "sha256", "") or "")

    def check_content(
        self, channel: Channel, fields: dict[str, str], brief: Brief | None
    ) -> list[Finding]:
        """Run the guardrails on one revision's fields."""
        return list(self.policy.check(channel, fields, brief=brief))

    # -- users -------------------------------------------------------------------
    def get_user(self, name: str) -> User:
        """The user called ``name``; NotFoundError if none."""
        row = self.db.execute(
            "SELECT name, roles, created_at, active FROM users WHERE name = ?", [name]
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no user {shown_name(name)} (see 'copydesk user list')")
        return user_from_row(dict(zip(["name", "roles", "created_at", "active"], row, strict=True)))

    def actor(self, name: str) -> User:
        """The active user ``name``, for an action taken as them. A name outside the
        pattern (one stored before names were checked) cannot act."""
        if USER_NAME.fullmatch(name) is None:
            raise PermissionDenied(f"{shown_name(name)} is not a valid user name ({USER_NAME_RULE})")
        user = self.get_user(name)
        if not user.active:
            raise PermissionDenied(f"user '{name}' is deactivated")
        return user

    # -- briefs ------------------------------------------------------------------
    def get_brief(self, brief_id: str) -> Brief:
        """The brief ``brief_id``; NotFoundError if none."""
        row = self.db.execute("SELECT data FROM briefs WHERE id = ?", [brief_id]).fetchone()
        if row is None:
            raise NotFoundError(f"no brief '{brief_id}' (see 'copydesk brief list')")
        return Brief.model_validate_json(row[0])

    # -- variants ----------------------------------------------------------------
    def _variant_row(self, variant_id: str) -> dict[str, Any]:
        row = self.db.execute(
            f"SELECT {', '.join(VARIANT_COLUMNS)} FROM variants WHERE id = ?", [variant_id]
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no variant '{variant_id}' (see 'copydesk library list')")
        return dict(zip(VARIANT_COLUMNS, row, strict=True))

    def _waivers(self, variant_id: str, number: int) -> list[Waiver]:
        rows = self.db.execute(
            "SELECT rule_id, field, start, \"end\", reason, by, at FROM waivers "
            "WHERE variant_id = ? AND revision = ? ORDER BY id",
            [variant_id, number],
        ).fetchall()
        keys = ("rule_id", "field", "start", "end", "reason", "by", "at")
        return [Waiver.model_validate(dict(zip(keys, r, strict=True))) for r in rows]

    def _waivers_of(self, revisions: list[tuple[str, int]]) -> dict[tuple[str, int], list[Waiver]]:
        """The waivers of many (variant id, revision) pairs in one query, by pair."""
        found: dict[tuple[str, int], list[Waiver]] = {}
        wanted = set(revisions)
        ids = sorted({vid for vid, _ in wanted})
        keys = ("rule_id", "field", "start", "end", "reason", "by", "at")
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            part = ids[start:start + 500]
            rows = self.db.execute(
                "SELECT variant_id, revision, rule_id, field, start, \"end\", reason, by, at FROM waivers "
                f"WHERE variant_id IN ({','.join('?' * len(part))}) ORDER BY id", part,
            ).fetchall()
            for vid, number, *rest in rows:
                if (vid, number) in wanted:
                    waiver = Waiver.model_validate(dict(zip(keys, rest, strict=True)))
                    found.setdefault((vid, number), []).append(waiver)
        return found

    def get_revision(self, variant_id: str, number: int) -> Revision:
        """Revision ``number`` of a variant, with its findings and waivers."""
        row = self.db.execute(
            f"SELECT {', '.join(REVISION_COLUMNS)} FROM revisions WHERE variant_id = ? AND number = ?",
            [variant_id, number],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"variant '{variant_id}' has no revision {number}")
        return revision_from_row(
            dict(zip(REVISION_COLUMNS, row, strict=True)), self._waivers(variant_id, number)
        )

    def get_variant(self, variant_id: str) -> Variant:
        """A variant with its current revision."""
        v = self._variant_row(variant_id)
        return variant_from_rows(v, self.get_revision(variant_id, v["current_revision"]))

    def contributors(self, variant_id: str) -> set[str]:
        """Everyone who authored or edited any revision of the variant."""
        rows = self.db.execute(
            "SELECT DISTINCT author FROM revisions WHERE variant_id = ?", [variant_id]
        ).fetchall()
        return {r[0] for r in rows}

