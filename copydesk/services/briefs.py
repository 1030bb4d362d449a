"""Briefs: what to say to whom, at segment level.

A brief that holds personal data is saved (it is the writer's own text, kept locally)
but warned about: :meth:`BriefsMixin.personal_data_in` is what the CLI and the app
show, and generation refuses the brief until it is fixed. The audit event of the save
keeps the brief with those spans masked, plus the sha256 of the exact brief, because
the audit log is append-only and personal data in it could never be erased.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from copydesk import audit
from copydesk.clock import now_iso
from copydesk.db import write_transaction
from copydesk.errors import InputError, NotFoundError
from copydesk.llm.privacy import describe, masked_data, personal_data, scrub
from copydesk.models import Brief, Finding
from copydesk.services.base import DeskBase
from copydesk.services.permissions import require
from copydesk.yamlio import load_model


class BriefsMixin(DeskBase):
    """Add, update, read and list briefs."""

    def brief_info(self, brief_id: str) -> dict[str, Any]:
        """The stored brief row: version, source, who and when."""
        row = self.db.execute(
            "SELECT id, version, source, created_by, created_at, updated_at FROM briefs WHERE id = ?",
            [brief_id],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no brief '{brief_id}'")
        return dict(zip(["id", "version", "source", "created_by", "created_at", "updated_at"], row, strict=True))

    def list_briefs(
        self, *, stage: str | None = None, channel: str | None = None, segment: str | None = None
    ) -> list[Brief]:
        """Briefs, filtered by stage, channel and segment name."""
        where, params = [], []
        for column, value in (("stage", stage), ("channel", channel), ("segment", segment)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT data FROM briefs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY stage, id"
        return [Brief.model_validate_json(r[0]) for r in self.db.execute(sql, params)]

    def personal_data_in(self, brief: Brief) -> list[Finding]:
        """Personal data in any field of ``brief`` (values masked): the warning shown at
        save, and what generation will refuse. Same detector as the refusal."""
        return personal_data(brief, getattr(self, "policy", None))

    def save_brief(
        self, brief: Brief, *, actor: str, source: str = "", update: bool = False
    ) -> Brief:
        """Add a new brief, or (``update=True``) replace an existing one as a new version.
        Its offer must be one the brand pack registers. Personal data does not stop the
        save (callers warn with :meth:`personal_data_in`); generation refuses it."""
        policy = getattr(self, "policy", None)
        lookup = getattr(policy, "offer", None)
        if brief.offer and callable(lookup) and lookup(brief.offer) is None:
            known = ", ".join(o.id for o in getattr(policy, "offers", [])) or "none"
            raise InputError(
                scrub(f"offer '{brief.offer}' is not registered in the brand pack (registered: {known})"),
                source=source or None, field="offer",
            )
        found = personal_data(brief, policy)
        with write_transaction(self.db):
            require(self.actor(actor), "brief.write")
            existing = self.db.execute(
                "SELECT version FROM briefs WHERE id = ?", [brief.id]
            ).fetchone()
            now = now_iso()
            data = brief.model_dump_json()
            if existing and not update:
                raise InputError(
                    f"brief '{brief.id}' already exists (use 'copydesk brief update' to change it)"
                )
            if not existing and update:
                raise NotFoundError(f"no brief '{brief.id}' to update (use 'copydesk brief add')")
            if existing:
                version = existing[0] + 1
                self.db.execute(
                    "UPDATE briefs SET title=?, stage=?, channel=?, segment=?, data=?, source=?, "
                    "version=?, updated_at=? WHERE id=?",
                    [brief.title, brief.stage.value, brief.channel.value, brief.segment.name, data,
                     source, version, now, brief.id],
                )
            else:
                version = 1
                self.db.execute(
                    "INSERT INTO briefs (id, title, stage, channel, segment, data, source, version, "
                    "created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [brief.id, brief.title, brief.stage.value, brief.channel.value,
                     brief.segment.name, data, source, version, actor, now, now],
                )
            record: dict[str, object] = {"version": version, "source": source,
                                         "brief_sha256": hashlib.sha256(data.encode()).hexdigest()}
            if found:
                record["brief"] = masked_data(brief, found)
                record["personal_data"] = describe(found)
            else:
                record["brief"] = json.loads(data)
            audit.append(
                self.db, actor=actor, action="brief.update" if existing else "brief.add",
                entity="brief", entity_id=brief.id, data=record,
            )
        return brief

    def add_brief_file(self, path: Path | str, *, actor: str, update: bool = False) -> Brief:
        """Load a brief YAML file (errors name file, line and field) and save it."""
        brief = load_model(path, Brief)
        return self.save_brief(brief, actor=actor, source=str(path), update=update)
