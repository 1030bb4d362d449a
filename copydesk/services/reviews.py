"""The review workflow: submit (optionally with a waiver request), approve, reject,
waive, grant a waiver request, retire.

State machine (per variant; the status belongs to its current revision)::

    draft ──submit──▶ in_review ──approve──▶ approved ──retire──▶ retired
      ▲                  │                      │
      └──── edit ◀── reject                     └─ edit: new draft revision, approval withdrawn

An approved variant whose review-by date has passed is *expired*: not eligible for
sending or export until a reviewer approves it again.

A copywriter may submit a draft whose open block findings they believe are false
positives *with a waiver request*: each requested finding with the reason it is fine.
The request is part of the submission and is recorded in its ``variant.submit`` event
(``data.waiver_request``), so it needs no table of its own and the hash chain protects
it. A reviewer (never an author or editor: four eyes) then grants it (waives those
findings with their own reason and approves, in one transaction) or rejects the variant.
Findings no reviewer may waive (:func:`waiver_refusal`) cannot be requested either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from copydesk import audit
from copydesk.clock import now_iso, today
from copydesk.db import write_transaction
from copydesk.errors import (
    BlockedByFindings,
    InputError,
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
from copydesk.vocab import Category, Severity, Status


@dataclass(frozen=True)
class QueueEntry:
    """One brief with variants waiting for review."""

    brief_id: str
    title: str
    channel: str
    stage: str
    waiting: int
    waiver_requests: int = 0


#: Findings no reviewer may waive.
NOT_WAIVABLE = frozenset({UNSUPPORTED_RULE})

#: Categories no reviewer may waive, and why: they are never false positives worth the risk.
NOT_WAIVABLE_CATEGORIES: dict[Category, str] = {
    Category.TEMPLATE: ("a variant's text may hold only placeholders, never template code "
                        "(docs/design.md, invariant 7)"),
    Category.PII: "personal data may not go out in copy (docs/design.md, invariant 6)",
}


def waiver_refusal(f: Finding) -> str | None:
    """Why ``f`` may not be waived (nor a waiver requested), or ``None`` when it may."""
    if f.rule_id in NOT_WAIVABLE:
        return NOT_WAIVABLE_CATEGORIES[Category.TEMPLATE]
    return NOT_WAIVABLE_CATEGORIES.get(f.category)


@dataclass(frozen=True)
class RequestedWaiver:
    """One open block finding a copywriter asked a reviewer to waive, with their reason."""

    rule_id: str
    field: str
    start: int
    end: int
    match: str
    reason: str


@dataclass(frozen=True)
class WaiverRequest:
    """A submission's waiver request: who asked, when (its audit event) and for what."""

    variant_id: str
    revision: int
    by: str
    at: str
    seq: int
    items: tuple[RequestedWaiver, ...]

    def rules(self) -> list[str]:
        """The requested rule ids, each once, in request order."""
        return list(dict.fromkeys(i.rule_id for i in self.items))


def _finding_name(f: Finding) -> str:
    return f"'{f.rule_id}' on {f.field} ('{f.match}')"

REVIEW_COLUMNS = ("variant_id", "revision", "content_hash", "decision", "reviewer", "comment", "at", "review_by")


def _describe(findings: list[Finding]) -> str:
    shown = "; ".join(f"{f.rule_id} on {f.field} '{f.match}'" for f in findings[:3])
    more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
    return shown + more


def _clean_request(request: Mapping[str, str] | None) -> dict[tuple[str, str | None], str]:
    """``{"rule@field": reason}`` as ``{(rule, field or None): visible reason}``."""
    out: dict[tuple[str, str | None], str] = {}
    for key, why in (request or {}).items():
        rule, _, fld = key.strip().partition("@")
        if not rule:
            raise InputError("a waiver request names a finding by its rule id (or rule@field)", field="waiver")
        out[(rule, fld.strip() or None)] = require_visible(
            why, f"the waiver request for '{key}' needs a reason saying why it is a false positive",
            field="reason",
        )
    return out


def _requested(
    variant_id: str, blocks: list[Finding], request: dict[tuple[str, str | None], str],
) -> list[tuple[Finding, str]]:
    """Each open block finding a request names, with its reason; refuses a request that
    names no open block finding, or one no reviewer may waive."""
    out: list[tuple[Finding, str]] = []
    for (rule, fld), why in request.items():
        hits = [f for f in blocks if f.rule_id == rule and (fld is None or f.field == fld)]
        if not hits:
            raise NotFoundError(
                f"{variant_id} has no open block finding '{rule}'" + (f" on {fld}" if fld else "")
                + (f"; its open block findings are {', '.join(sorted({f.rule_id for f in blocks}))}" if blocks
                   else "; it has no open block finding")
            )
        for f in hits:
            refusal = waiver_refusal(f)
            if refusal:
                raise PermissionDenied(
                    f"a waiver cannot be requested for {_finding_name(f)}: {refusal}; edit the text instead"
                )
            if all(f is not g for g, _ in out):
                out.append((f, why))
    return out


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

    def submit(
        self, variant_id: str, *, actor: str, expected_revision: int | None = None,
        waiver_request: Mapping[str, str] | None = None,
    ) -> Variant:
        """Send a draft (or a rejected variant) to review. Open block findings prevent it,
        and so does a missing or empty policy (the findings could not be trusted).

        ``waiver_request`` maps a block finding (``rule_id``, or ``rule_id@field`` for
        one field) to why it is a false positive (visible text). With it, a draft whose
        every open block finding is requested goes to review as a waiver request; a
        finding no reviewer may waive (:func:`waiver_refusal`) is refused by name."""
        policy = self.policy_sha256()
        request = _clean_request(waiver_request)
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
            requested = _requested(variant_id, blocks, request) if request else []
            unrequested = [f for f in blocks if f not in [r[0] for r in requested]]
            if unrequested:
                hint = ("Edit the text, or submit with a waiver request naming each false positive "
                        "and why it is one")
                raise BlockedByFindings(
                    f"{variant_id} has {len(unrequested)} open block finding(s)"
                    + (" not in the waiver request" if request else "")
                    + f": {_describe(unrequested)}. {hint}"
                )
            self.db.execute(
                "UPDATE variants SET status = ?, updated_at = ? WHERE id = ?",
                [Status.IN_REVIEW.value, now_iso(), variant_id],
            )
            data: dict[str, Any] = {"revision": v["current_revision"], "content_hash": variant.current.content_hash,
                                    "policy": policy}
            if requested:
                data["waiver_request"] = [
                    {"rule_id": f.rule_id, "field": f.field, "start": f.start, "end": f.end, "match": f.match,
                     "reason": why} for f, why in requested
                ]
            audit.append(self.db, actor=actor, action="variant.submit", entity="variant", entity_id=variant_id,
                         data=data)
        return self.get_variant(variant_id)

    def waiver_request(self, variant_id: str) -> WaiverRequest | None:
        """The waiver request of the variant's current submission, or ``None`` (not in
        review, or submitted without one). Read from its ``variant.submit`` event."""
        v = self._variant_row(variant_id)
        if v["status"] != Status.IN_REVIEW:
            return None
        return self._request_of(variant_id, v["current_revision"])

    def _request_of(self, variant_id: str, revision: int) -> WaiverRequest | None:
        row = self.db.execute(
            "SELECT seq, at, actor, data FROM audit_events WHERE entity = 'variant' AND entity_id = ? "
            "AND action = 'variant.submit' ORDER BY seq DESC LIMIT 1", [variant_id],
        ).fetchone()
        if row is None:
            return None
        data = json.loads(row[3]) if isinstance(row[3], str) else {}
        items = data.get("waiver_request") if isinstance(data, dict) else None
        if not items or data.get("revision") != revision:
            return None
        return WaiverRequest(
            variant_id=variant_id, revision=revision, by=row[2], at=str(row[1]), seq=int(row[0]),
            items=tuple(RequestedWaiver(str(i["rule_id"]), str(i["field"]), int(i["start"]), int(i["end"]),
                                        str(i.get("match", "")), str(i["reason"])) for i in items),
        )

    def grant_waiver_request(
        self, variant_id: str, *, actor: str, reason: str, comment: str = "",
        review_by: date | None = None, expected_revision: int | None = None,
    ) -> Variant:
        """Waive every finding of the variant's waiver request with the reviewer's own
        ``reason`` (visible text) and approve it, in one transaction. Four eyes: never
        by an author or editor. To refuse the request, :meth:`reject` the variant."""
        reason = require_visible(reason, "a waiver needs the reviewer's own written reason", field="reason")
        comment = optional_visible(comment, field="comment")
        policy = self.policy_sha256()
        with write_transaction(self.db):
            require(self.actor(actor), "variant.waive")
            require(self.actor(actor), "variant.review")
            v = self._variant_row(variant_id)
            variant = self.get_variant(variant_id)
            self._check_current(v, expected_revision, None, variant.current.content_hash)
            if v["status"] != Status.IN_REVIEW:
                raise InvalidTransition(f"{variant_id} is {v['status']}; only a variant in review has a waiver request")
            request = self._request_of(variant_id, v["current_revision"])
            if request is None:
                raise NotFoundError(f"{variant_id} revision {v['current_revision']} has no waiver request")
            if actor in self.contributors(variant_id):
                raise SelfApprovalError(
                    f"four eyes: {actor} wrote or edited {variant_id} and cannot waive its findings"
                )
            asked = {(i.rule_id, i.field, i.start, i.end) for i in request.items}
            targets = [f for f in open_blocks(variant.current) if (f.rule_id, f.field, f.start, f.end) in asked]
            for rule_id in dict.fromkeys(f.rule_id for f in targets):
                self._write_waiver(variant_id, v["current_revision"],
                                   [f for f in targets if f.rule_id == rule_id], rule_id, reason, actor,
                                   request_seq=request.seq)
            self._write_approval(variant_id, v, variant, actor, comment, review_by, policy)
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
            self._write_approval(variant_id, v, variant, actor, comment, review_by, policy, reapproval=expired)
        return self.get_variant(variant_id)

    def _write_approval(
        self, variant_id: str, v: dict[str, Any], variant: Variant, actor: str, comment: str,
        review_by: date | None, policy: str, *, reapproval: bool = False,
    ) -> None:
        """Four eyes, no open block finding, then the approval and its event (inside the
        caller's transaction)."""
        if actor in self.contributors(variant_id):
            raise SelfApprovalError(
                f"four eyes: {actor} wrote or edited {variant_id}, so someone else must approve it"
            )
        # re-read: waivers written earlier in this transaction count
        blocks = open_blocks(self.get_revision(variant_id, v["current_revision"]))
        if blocks:
            raise BlockedByFindings(
                f"{variant_id} has {len(blocks)} open block finding(s): {_describe(blocks)}. "
                "Waive a false positive with a written reason, or reject it"
            )
        review_by = new_review_by(
            review_by, today(), default_days=self.review_days, max_days=self.max_review_days
        )
        digest = variant.current.content_hash
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
                  "review_by": review_by.isoformat(), "reapproval": reapproval, "policy": policy},
        )

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
            self._write_waiver(variant_id, v["current_revision"], targets, rule_id, reason, actor)
        return self.get_variant(variant_id)

    def _write_waiver(
        self, variant_id: str, revision: int, targets: list[Finding], rule_id: str, reason: str, actor: str,
        *, request_seq: int | None = None,
    ) -> None:
        """The waiver rows of ``targets`` and their one ``finding.waive`` event (inside the
        caller's transaction); refused for a finding no reviewer may waive."""
        for f in targets:
            why = waiver_refusal(f)
            if why:
                raise PermissionDenied(f"{_finding_name(f)} cannot be waived: {why}; edit the text instead")
        now = now_iso()
        for f in targets:
            self.db.execute(
                "INSERT INTO waivers (variant_id, revision, rule_id, field, start, \"end\", reason, by, at) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                [variant_id, revision, f.rule_id, f.field, f.start, f.end, reason, actor, now],
            )
        data: dict[str, Any] = {"revision": revision, "rule_id": rule_id, "reason": reason,
                                "spans": [[f.field, f.start, f.end, f.match] for f in targets],
                                "severity": Severity.BLOCK.value}
        if request_seq is not None:
            data["request"] = request_seq  # the variant.submit event that asked for it
        audit.append(self.db, actor=actor, action="finding.waive", entity="variant", entity_id=variant_id,
                     data=data)

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
        """Briefs with variants in review, the longest-waiting first, each with how many
        of them carry a waiver request."""
        rows = self.db.execute(
            "SELECT v.brief_id, COALESCE(b.title, ''), v.channel, v.stage, COUNT(*), MIN(v.updated_at) "
            "FROM variants v LEFT JOIN briefs b ON b.id = v.brief_id WHERE v.status = 'in_review' "
            "GROUP BY v.brief_id ORDER BY MIN(v.updated_at), v.brief_id"
        ).fetchall()
        asking: dict[str, int] = {}
        for vid, brief_id, revision in self.db.execute(
            "SELECT id, brief_id, current_revision FROM variants WHERE status = 'in_review'"
        ).fetchall():
            if self._request_of(vid, revision) is not None:
                asking[brief_id] = asking.get(brief_id, 0) + 1
        return [QueueEntry(r[0], r[1], r[2], r[3], int(r[4]), asking.get(r[0], 0)) for r in rows]

    def reviews(self, variant_id: str) -> list[Review]:
        """Every approval and rejection of a variant, oldest first."""
        rows = self.db.execute(
            f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews WHERE variant_id = ? ORDER BY id",
            [variant_id],
        ).fetchall()
        return [Review.model_validate(dict(zip(REVIEW_COLUMNS, r, strict=True))) for r in rows]
