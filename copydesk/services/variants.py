"""Variants and their revisions. Every change of text is a new, immutable revision."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from copydesk import audit
from copydesk.clock import now_iso
from copydesk.db import write_transaction
from copydesk.errors import InputError, InvalidTransition, StaleRevisionError
from copydesk.hashing import content_hash
from copydesk.models import Brief, Content, Finding, Revision, Variant
from copydesk.placeholders import UNSUPPORTED_RULE, fields_unsupported
from copydesk.services.base import REVISION_COLUMNS, DeskBase, revision_from_row, searchable_text
from copydesk.services.permissions import require
from copydesk.vocab import REQUIRED_FIELDS, Category, Severity, Status


def open_blocks(revision: Revision) -> list[Finding]:
    """Block findings of ``revision`` that no reviewer has waived."""
    waived = {(w.rule_id, w.field, w.start, w.end) for w in revision.waivers}
    return [
        f for f in revision.findings
        if f.severity == Severity.BLOCK and (f.rule_id, f.field, f.start, f.end) not in waived
    ]


def copy_findings(fields: dict[str, str]) -> list[Finding]:
    """A block finding for every span outside the supported placeholder subset. The
    service layer adds these whatever the policy says, and they cannot be waived:
    a variant's text is copy, never code (invariant 7)."""
    return [
        Finding(rule_id=UNSUPPORTED_RULE, category=Category.TEMPLATE, severity=Severity.BLOCK, field=name,
                start=u.start, end=u.end, match=u.text[:200],
                message=f"not copy: {u.reason}; a variant may hold only placeholders",
                suggestion='use {{ field | default("text") }}')
        for name, spans in fields_unsupported(fields).items() for u in spans
    ]


class VariantsMixin(DeskBase):
    """Create, edit and read variants."""

    def revisions(self, variant_id: str) -> list[Revision]:
        """Every revision of a variant, oldest first."""
        self._variant_row(variant_id)
        rows = self.db.execute(
            f"SELECT {', '.join(REVISION_COLUMNS)} FROM revisions WHERE variant_id = ? ORDER BY number",
            [variant_id],
        ).fetchall()
        return [
            revision_from_row(dict(zip(REVISION_COLUMNS, r, strict=True)), self._waivers(variant_id, r[1]))
            for r in rows
        ]

    # -- writing ---------------------------------------------------------------
    def _validated(self, brief: Brief, fields: dict[str, str]) -> Content:
        try:
            content = Content(channel=brief.channel, fields=fields)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise InputError(msg) from None
        missing = [f for f in REQUIRED_FIELDS[brief.channel] if not content.fields[f].strip()]
        if missing:
            raise InputError(f"{brief.channel} variants need {', '.join(missing)}", field=missing[0])
        return content

    def _insert_revision(
        self, variant_id: str, number: int, content: Content, author: str,
        provenance: dict[str, Any] | None, findings: list[Finding], now: str,
    ) -> str:
        digest = content_hash(content.channel, content.fields)
        self.db.execute(
            "INSERT INTO revisions (variant_id, number, channel, fields, text, content_hash, author, "
            "created_at, provenance, findings) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [variant_id, number, content.channel.value, json.dumps(content.fields, ensure_ascii=False),
             searchable_text(content.fields), digest, author, now,
             json.dumps(provenance or {}, ensure_ascii=False, default=str),
             json.dumps([f.model_dump(mode="json") for f in findings], ensure_ascii=False)],
        )
        return digest

    def add_variant(
        self,
        brief_id: str,
        fields: dict[str, str],
        *,
        actor: str,
        provenance: dict[str, Any] | None = None,
        findings: list[Finding] | None = None,
    ) -> Variant:
        """Add a draft variant for a brief (revision 1). Findings are computed with the
        workspace policy unless given (generation passes the ones it already has)."""
        brief = self.get_brief(brief_id)
        content = self._validated(brief, fields)
        policy = self.policy_sha256()  # fails closed: no usable policy, no new text
        if findings is None:
            findings = self.check_content(brief.channel, content.fields, brief)
        findings = [*copy_findings(content.fields), *findings]
        with write_transaction(self.db):
            require(self.actor(actor), "variant.write")
            row = self.db.execute(
                "SELECT COALESCE(MAX(CAST(SUBSTR(id, 2) AS INTEGER)), 0) + 1 FROM variants"
            ).fetchone()
            variant_id = f"V{row[0]}"
            now = now_iso()
            self.db.execute(
                "INSERT INTO variants (id, brief_id, channel, stage, segment, status, current_revision, "
                "created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [variant_id, brief.id, brief.channel.value, brief.stage.value, brief.segment.name,
                 Status.DRAFT.value, 1, actor, now, now],
            )
            digest = self._insert_revision(
                variant_id, 1, content, actor, provenance, findings, now
            )
            audit.append(
                self.db, actor=actor, action="variant.add", entity="variant", entity_id=variant_id,
                data={"brief": brief.id, "revision": 1, "content_hash": digest,
                      "findings": len(findings), "generated": bool(provenance), "policy": policy},
            )
        return self.get_variant(variant_id)

    def edit_variant(
        self,
        variant_id: str,
        fields: dict[str, str],
        *,
        actor: str,
        expected_revision: int | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> Variant:
        """Change some fields: a new revision, back to draft. An edit of an approved
        variant withdraws its approval; the new text needs a new approval."""
        current = self.get_variant(variant_id)
        brief = self.get_brief(current.brief_id)
        merged = {**current.current.content.fields, **fields}
        content = self._validated(brief, merged)
        policy = self.policy_sha256()
        findings = [*copy_findings(content.fields), *self.check_content(brief.channel, content.fields, brief)]
        with write_transaction(self.db):
            require(self.actor(actor), "variant.write")
            v = self._variant_row(variant_id)
            if v["status"] == Status.RETIRED:
                raise InvalidTransition(f"{variant_id} is retired and cannot be edited")
            if expected_revision is not None and expected_revision != v["current_revision"]:
                raise StaleRevisionError(
                    f"{variant_id} changed: you edited revision {expected_revision}, "
                    f"the current one is {v['current_revision']} (reload and try again)"
                )
            if content_hash(content.channel, content.fields) == current.current.content_hash:
                raise InputError("nothing changed: the text is the same as the current revision")
            number = v["current_revision"] + 1
            now = now_iso()
            digest = self._insert_revision(
                variant_id, number, content, actor, provenance, findings, now
            )
            withdrawn = v["approved_revision"]
            self.db.execute(
                "UPDATE variants SET status = ?, current_revision = ?, approved_revision = NULL, "
                "approved_hash = NULL, approved_by = NULL, approved_at = NULL, review_by = NULL, "
                "updated_at = ? WHERE id = ?",
                [Status.DRAFT.value, number, now, variant_id],
            )
            audit.append(
                self.db, actor=actor, action="variant.edit", entity="variant", entity_id=variant_id,
                data={"revision": number, "content_hash": digest, "from_status": v["status"], "policy": policy,
                      "changed": sorted(k for k in fields if fields[k] != current.current.content.fields.get(k)),
                      "approval_withdrawn": withdrawn},
            )
        return self.get_variant(variant_id)

    def record_generation_failure(
        self, brief_id: str, *, actor: str, error: str, provenance: dict[str, Any] | None = None,
        last_output: str | None = None,
    ) -> None:
        """Audit a draft the model never got right (after every re-ask), so failed
        generations are on record, not just on screen."""
        prov = provenance or {}
        with write_transaction(self.db):
            audit.append(
                self.db, actor=actor, action="generation.failed", entity="brief", entity_id=brief_id,
                data={"error": error[:500], "model": prov.get("model"), "endpoint_kind": prov.get("endpoint_kind"),
                      "attempts": prov.get("attempts"), "requests": prov.get("requests"),
                      "latency_s": prov.get("latency_s"),
                      "retries_and_fallbacks": prov.get("retries_and_fallbacks"), "prompt": prov.get("prompt"),
                      "last_output": (last_output or "")[:1000]},
            )
