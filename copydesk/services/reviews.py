"""The review workflow: submit, approve, reject, waive, retire.

State machine (per variant; the status belongs to its current revision)::

    draft ──submit──▶ in_review ──approve──▶ approved ──retire──▶ retired
      ▲                  │                      │
      └──── edit ◀── reject                     └─ edit: new draft revision, approval withdrawn

An approved variant whose review-by date has passed is *expired*: not eligible for
sending or export until a reviewer approves it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from copydesk import audit
from copydesk.clock import now_iso, today
from copydesk.db import write_transaction
from copydesk.errors import (
    BlockedByFindings,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    SelfApprovalError,
    StaleRevisionError,
)
from copydesk.freetext import optional_visible, require_visible
from copydesk.models import Finding, Review, Variant
from copydesk.placeholders import UNSUPPORTED_RULE
from copydesk.review_by import new_review_by
from copydesk.services.base import DeskBase
from copydesk.services.permissions import require
from copydesk.services.variants import open_blocks
from copydesk.vocab import Severity, Status


@dataclass(frozen=True)
class QueueEntry:
    """One brief with variants waiting for review."""

    brief_id: str
    title: str
    channel: str
    stage: str
    waiting: int


#: Findings no reviewer may waive.
NOT_WAIVABLE = frozenset({UNSUPPORTED_RULE})

REVIEW_COLUMNS = ("variant_id", "revision", "content_hash", "decision", "reviewer", "comment", "at", "review_by")


def _describe(findings: list[Finding]) -> str:
    shown = "; ".join(f"{f.rule_id} on {f.field} '{f.match}'" for f in findings[:3])
    more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
    return shown + more


class ReviewsMixin(DeskBase):
    """Transitions of the review state machine, each checked and audited."""

    def _check_current(
        self, v: dict[str, Any], expected_revision: int | None, expected_hash: str | None,
        current_hash: str,
    ) -> None:
        if expected_revision is not None and expected_revision != v["current_revision"]:
            raise StaleRevisionError(
                f"{v['id']} changed while you were looking: you reviewed revision "
                f"{expected_revision}, the current one is {v['current_revision']}"
            )
        if expected_hash is not None and not current_hash.startswith(expected_hash):
            raise StaleRevisionError(
                f"{v['id']}: the text you reviewed (hash {expected_hash[:12]}) is not the current "
                f"revision (hash {current_hash[:12]})"
            )

    def submit(self, variant_id: str, *, actor: str, expected_revision: int | None = None) -> Variant:
        """Send a draft (or a rejected variant) to review. Open block findings prevent it,
        and so does a missing or empty policy (the findings could not be trusted)."""
        policy = self.policy_sha256()
        with write_transaction(self.db):
            require(self.actor(actor), "variant.submit")
            v = self._variant_row(variant_id)
            variant = self.get_variant(variant_id)
            self._check_current(v, expected_revision, None, variant.current.content_hash)
            if v["status"] not in (Status.DRAFT, Status.REJECTED):
                raise InvalidTransition(
                    f"{variant_id} is {v['status']}; only a draft or rejected variant can be submitted"
                )
            blocks = open_blocks(variant.current)
            if blocks:
                raise BlockedByFindings(
                    f"{variant_id} has {len(blocks)} open block finding(s): {_describe(blocks)}. "
                    "Edit the text, or ask a reviewer to waive a false positive"
                )
            self.db.execute(
                "UPDATE variants SET status = ?, updated_at = ? WHERE id = ?",
                [Status.IN_REVIEW.value, now_iso(), variant_id],
            )
            audit.append(
                self.db, actor=actor, action="variant.submit", entity="variant", entity_id=variant_id,
                data={"revision": v["current_revision"], "content_hash": variant.current.content_hash,
                      "policy": policy},
            )
        return self.get_variant(variant_id)

    def approve(
        self,
        variant_id: str,
        *,
        actor: str,
        comment: str = "",
        review_by: date | None = None,
        expected_revision: int | None = None,
        expected_hash: str | None = None,
    ) -> Variant:
        """Approve the current revision, bound to its content hash.

        Refused for the revision's authors or editors (four eyes), for open block
        findings, for a stale revision, and unless the variant is in review (or
        approved but past its review-by date, for re-approval). The review-by date must
        lie within ``max_review_days`` (copydesk.yaml).
        """
        comment = optional_visible(comment, field="comment")
        policy = self.policy_sha256()  # fails closed: no usable policy, no approval
        with write_transaction(self.db):
            require(self.actor(actor), "variant.review")
            v = self._variant_row(variant_id)
            variant = self.get_variant(variant_id)
            digest = variant.current.content_hash
            self._check_current(v, expected_revision, expected_hash, digest)
            expired = v["status"] == Status.APPROVED and variant.is_expired(today())
            if v["status"] != Status.IN_REVIEW and not expired:
                raise InvalidTransition(
                    f"{variant_id} is {v['status']}"
                    + (f" (approved by {v['approved_by']})" if v["status"] == Status.APPROVED else "")
                    + "; only a variant in review (or an expired approval) can be approved"
                )
            if actor in self.contributors(variant_id):
                raise SelfApprovalError(
                    f"four eyes: {actor} wrote or edited {variant_id}, so someone else must approve it"
                )
            blocks = open_blocks(variant.current)
            if blocks:
                raise BlockedByFindings(
                    f"{variant_id} has {len(blocks)} open block finding(s): {_describe(blocks)}. "
                    "Waive a false positive with a written reason, or reject it"
                )
            review_by = new_review_by(
                review_by, today(), default_days=self.review_days, max_days=self.max_review_days
            )
            now = now_iso()
            self.db.execute(
                "UPDATE variants SET status = ?, approved_revision = ?, approved_hash = ?, "
                "approved_by = ?, approved_at = ?, review_by = ?, updated_at = ? WHERE id = ?",
                [Status.APPROVED.value, v["current_revision"], digest, actor, now,
                 review_by.isoformat(), now, variant_id],
            )
            self._insert_review(variant_id, v["current_revision"], digest, "approved", actor,
                                comment, now, review_by)
            audit.append(
                self.db, actor=actor, action="variant.approve", entity="variant", entity_id=variant_id,
                data={"revision": v["current_revision"], "content_hash": digest, "comment": comment,
                      "review_by": review_by.isoformat(), "reapproval": expired, "policy": policy},
            )
        return self.get_variant(variant_id)

    def reject(
        self, variant_id: str, *, actor: str, comment: str, expected_revision: int | None = None
    ) -> Variant:
        """Reject the current revision with a comment saying why (visible text: spaces or
        zero-width characters alone are no comment)."""
        comment = require_visible(comment, "a rejection needs a comment saying why", field="comment")
        with write_transaction(self.db):
            require(self.actor(actor), "variant.review")
            v = self._variant_row(variant_id)
            variant = self.get_variant(variant_id)
            digest = variant.current.content_hash
            self._check_current(v, expected_revision, None, digest)
            if v["status"] != Status.IN_REVIEW:
                raise InvalidTransition(f"{variant_id} is {v['status']}; only a variant in review can be rejected")
            now = now_iso()
            self.db.execute(
                "UPDATE variants SET status = ?, updated_at = ? WHERE id = ?",
                [Status.REJECTED.value, now, variant_id],
            )
            self._insert_review(variant_id, v["current_revision"], digest, "rejected", actor, comment, now, None)
            audit.append(
                self.db, actor=actor, action="variant.reject", entity="variant", entity_id=variant_id,
                data={"revision": v["current_revision"], "content_hash": digest, "comment": comment},
            )
        return self.get_variant(variant_id)

    def waive(
        self, variant_id: str, rule_id: str, *, actor: str, reason: str, field: str | None = None,
        expected_revision: int | None = None,
    ) -> Variant:
        """Waive the open block findings of ``rule_id`` (optionally on one field) on the
        current revision as a false positive, with a written reason (visible text).
        Audited and shown with the variant."""
        reason = require_visible(reason, "a waiver needs a written reason", field="reason")
        if rule_id in NOT_WAIVABLE:
            raise PermissionDenied(
                f"'{rule_id}' cannot be waived: a variant's text may hold only placeholders, "
                "never template code (docs/design.md, invariant 7); edit the text instead"
            )
        with write_transaction(self.db):
            require(self.actor(actor), "variant.waive")
            v = self._variant_row(variant_id)
            variant = self.get_variant(variant_id)
            self._check_current(v, expected_revision, None, variant.current.content_hash)
            if actor in self.contributors(variant_id):
                raise SelfApprovalError(
                    f"four eyes: {actor} wrote or edited {variant_id} and cannot waive its findings"
                )
            targets = [
                f for f in open_blocks(variant.current)
                if f.rule_id == rule_id and (field is None or f.field == field)
            ]
            if not targets:
                raise NotFoundError(
                    f"{variant_id} revision {v['current_revision']} has no open block finding "
                    f"'{rule_id}'" + (f" on {field}" if field else "")
                )
            now = now_iso()
            for f in targets:
                self.db.execute(
                    "INSERT INTO waivers (variant_id, revision, rule_id, field, start, \"end\", reason, by, at) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    [variant_id, v["current_revision"], f.rule_id, f.field, f.start, f.end, reason, actor, now],
                )
            audit.append(
                self.db, actor=actor, action="finding.waive", entity="variant", entity_id=variant_id,
                data={"revision": v["current_revision"], "rule_id": rule_id, "reason": reason,
                      "spans": [[f.field, f.start, f.end, f.match] for f in targets],
                      "severity": Severity.BLOCK.value},
            )
        return self.get_variant(variant_id)

    def retire(self, variant_id: str, *, actor: str, reason: str = "") -> Variant:
        """Take an approved variant out of use for good (the reason is optional; an
        invisible one is stored as none)."""
        reason = optional_visible(reason, field="reason")
        with write_transaction(self.db):
            require(self.actor(actor), "variant.retire")
            v = self._variant_row(variant_id)
            if v["status"] != Status.APPROVED:
                raise InvalidTransition(f"{variant_id} is {v['status']}; only an approved variant can be retired")
            self.db.execute(
                "UPDATE variants SET status = ?, updated_at = ? WHERE id = ?",
                [Status.RETIRED.value, now_iso(), variant_id],
            )
            audit.append(
                self.db, actor=actor, action="variant.retire", entity="variant", entity_id=variant_id,
                data={"revision": v["approved_revision"], "content_hash": v["approved_hash"], "reason": reason},
            )
        return self.get_variant(variant_id)

    def _insert_review(
        self, variant_id: str, revision: int, digest: str, decision: str, reviewer: str,
        comment: str, at: str, review_by: date | None,
    ) -> None:
        self.db.execute(
            "INSERT INTO reviews (variant_id, revision, content_hash, decision, reviewer, comment, at, review_by) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [variant_id, revision, digest, decision, reviewer, comment, at,
             review_by.isoformat() if review_by else None],
        )

    def review_queue(self) -> list[QueueEntry]:
        """Briefs with variants in review, the longest-waiting first."""
        rows = self.db.execute(
            "SELECT v.brief_id, COALESCE(b.title, ''), v.channel, v.stage, COUNT(*), MIN(v.updated_at) "
            "FROM variants v LEFT JOIN briefs b ON b.id = v.brief_id WHERE v.status = 'in_review' "
            "GROUP BY v.brief_id ORDER BY MIN(v.updated_at), v.brief_id"
        ).fetchall()
        return [QueueEntry(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    def reviews(self, variant_id: str) -> list[Review]:
        """Every approval and rejection of a variant, oldest first."""
        rows = self.db.execute(
            f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews WHERE variant_id = ? ORDER BY id",
            [variant_id],
        ).fetchall()
        return [Review.model_validate(dict(zip(REVIEW_COLUMNS, r, strict=True))) for r in rows]
