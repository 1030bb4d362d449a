"""One chunk of contacts decided and rendered: the work every engine shares.

:class:`RenderJob` is everything needed (campaign file, approved library, send history,
templates, the run's clock); :class:`ChunkRenderer` builds the decision plan and the
sandboxed renderer from it once, then turns chunks of audience records into output rows,
rejects and a :class:`Summary`. The local engine (:mod:`copydesk.render.pipeline`) runs it
in worker processes; the Spark engine (:mod:`copydesk.spark`) runs it in executors. Same
code, so the same contact gets the same decision and the same text on either.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from copydesk import clock
from copydesk.errors import CopydeskError, TemplateSafetyError
from copydesk.models import ApprovedContent, SendRecord
from copydesk.render.audience import Record, Reject
from copydesk.render.templates import MessageRenderer, TemplateSnapshot, load_channel_template
from copydesk.rules.campaign import CampaignFile
from copydesk.rules.decide import Outcome, Plan
from copydesk.rules.values import as_utc

BASE_COLUMNS = (
    "contact_id",
    "campaign_id",
    "channel",
    "lifecycle_stage",
    "decision",
    "reason",
    "rule_id",
    "variant_id",
    "revision",
    "content_hash",
    "campaign_sha256",
    "snapshot_sha256",
    "decided_at",
)


@dataclass
class Summary:
    """What a run did. ``suppressed`` counts by reason (rule id or ``no-consent``)."""

    total: int = 0
    rendered: int = 0
    held_out: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    capped: int = 0
    no_variant: int = 0
    rejected: int = 0
    variants: Counter[str] = field(default_factory=Counter)
    out: Path | None = None
    rejects: Path | None = None

    def add(self, other: Summary) -> None:
        self.total += other.total
        self.rendered += other.rendered
        self.held_out += other.held_out
        self.suppressed.update(other.suppressed)
        self.capped += other.capped
        self.no_variant += other.no_variant
        self.rejected += other.rejected
        self.variants.update(other.variants)

    def uncount(self, decision: str, reason: str | None, variant: str | None) -> None:
        """Take one decided contact back out (it turned out to be a repeat, or its row
        could not be laid out); the caller counts it as rejected instead."""
        if decision == "selected":
            self.rendered -= 1
            if variant is not None:
                self.variants[variant] -= 1
                if not self.variants[variant]:
                    del self.variants[variant]
        elif decision == "holdout":
            self.held_out -= 1
        elif decision == "suppressed" and reason is not None:
            self.suppressed[reason] -= 1
            if not self.suppressed[reason]:
                del self.suppressed[reason]
        elif decision == "capped":
            self.capped -= 1
        else:
            self.no_variant -= 1
        self.rejected += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "rendered": self.rendered,
            "held_out": self.held_out,
            "suppressed": dict(self.suppressed),
            "capped": self.capped,
            "no_variant": self.no_variant,
            "rejected": self.rejected,
            "variants": dict(self.variants),
            "out": str(self.out) if self.out else None,
            "rejects": str(self.rejects) if self.rejects else None,
        }


class Layout(Protocol):
    """Another shape for output rows (e.g. a sending platform's import file): its own
    columns, ``row`` gives the laid-out row, ``None`` to leave a row out, or raises
    :class:`~copydesk.errors.InputError` for a row it cannot lay out (a reject)."""

    @property
    def columns(self) -> list[str]: ...

    @property
    def carry(self) -> tuple[str, ...]: ...

    def row(self, rendered_row: Mapping[str, Any]) -> dict[str, Any] | None: ...


def lay_out(
    layout: Layout, row: dict[str, Any], where: tuple[int, int | None], summary: Summary
) -> dict[str, Any] | Reject | None:
    """``row`` in ``layout``'s shape; a reject (counted in ``summary``) when it cannot be
    laid out; ``None`` when the layout leaves it out. ``where``: its (row, line)."""
    try:
        return layout.row(row)
    except CopydeskError as exc:
        summary.uncount(row["decision"], row["reason"], row.get("variant_id"))
        return Reject(where[0], where[1], row["contact_id"], "export", str(exc))


def index_history(
    records: Iterable[SendRecord], *, channel: str, since: datetime
) -> dict[str, list[SendRecord]]:
    """Sends on ``channel`` after ``since`` (holdouts excluded), by contact id."""
    since = as_utc(since)
    index: dict[str, list[SendRecord]] = {}
    for rec in records:
        if rec.channel == channel and not rec.holdout and as_utc(rec.sent_at) > since:
            index.setdefault(rec.contact_id, []).append(rec)
    return index


@dataclass
class RenderJob:
    """Everything a chunk renderer needs, read once at the start of a run; pickled once per
    worker process or broadcast to Spark executors. Nothing in it is contact data except
    the send ``history`` of the local engine (Spark joins history by contact instead)."""

    campaign_file: CampaignFile
    library: list[ApprovedContent]
    history: dict[str, list[SendRecord]]
    templates: TemplateSnapshot
    today: date
    now: datetime
    explain: bool
    #: contact fields copied into each output row (what a layout's identifier columns read)
    carry: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        campaign_file: CampaignFile,
        library: Iterable[ApprovedContent],
        templates: Path | TemplateSnapshot,
        *,
        history: Iterable[SendRecord] = (),
        now: datetime | None = None,
        today: date | None = None,
        explain: bool = False,
        carry: Sequence[str] = (),
    ) -> RenderJob:
        """The job for one run at ``now`` (default: the clock): templates snapshotted,
        send history kept only for the campaign's channel and frequency-cap window."""
        campaign = campaign_file.campaign
        moment = as_utc(now) if now is not None else clock.now()
        cap_days = campaign.frequency_cap.per_days if campaign.frequency_cap else 0
        return cls(
            campaign_file=campaign_file,
            library=list(library),
            history=index_history(history, channel=campaign.channel, since=moment - timedelta(days=cap_days))
            if cap_days
            else {},
            templates=templates if isinstance(templates, TemplateSnapshot) else TemplateSnapshot.read(templates),
            today=today or moment.date(),
            now=moment,
            explain=explain,
            carry=tuple(carry),
        )

    @property
    def snapshot_sha256(self) -> str:
        """A digest of what every decision and text of the run rests on: the campaign file,
        each approved variant (id, revision, content hash), the templates and the
        allocation counts. Written in every output row."""
        digest = hashlib.sha256()
        digest.update(f"campaign:{self.campaign_file.sha256}\n".encode())
        for item in sorted(self.library, key=lambda v: (v.variant_id, v.revision)):
            digest.update(f"variant:{item.variant_id}:{item.revision}:{item.content_hash}\n".encode())
        digest.update(f"templates:{self.templates.sha256()}\n".encode())
        outcomes = self.campaign_file.campaign.outcomes
        if outcomes is not None:
            digest.update(f"outcomes:{outcomes!r}\n".encode())
        return digest.hexdigest()


class ChunkRenderer:
    """Decides and renders chunks of records for one :class:`RenderJob`."""

    def __init__(self, job: RenderJob) -> None:
        campaign = job.campaign_file.campaign
        self.plan = Plan.build(campaign, job.library, today=job.today)
        template = load_channel_template(job.templates, campaign.template)
        self.renderer = MessageRenderer(campaign.channel, template, campaign_id=campaign.id)
        for variant in self.plan.library.by_id.values():
            # once, up front; rows that choose a variant that cannot compile are rejected
            with contextlib.suppress(TemplateSafetyError):
                self.renderer.compile(variant)
        self.history = job.history
        self.now = job.now
        self.explain = job.explain
        self.carry = job.carry
        self.base: dict[str, Any] = {
            "campaign_id": campaign.id,
            "channel": campaign.channel.value,
            "campaign_sha256": job.campaign_file.sha256,
            "snapshot_sha256": job.snapshot_sha256,
            "decided_at": job.now.isoformat(),
        }

    def run(
        self, chunk: Sequence[Record | Reject], history: Mapping[str, list[SendRecord]] | None = None
    ) -> tuple[list[dict[str, Any]], list[Reject], Summary]:
        """Output rows, rejects and counts for ``chunk``. ``history`` (contact id → sends in
        the cap window) replaces the job's, for engines that join history per chunk."""
        rows: list[dict[str, Any]] = []
        rejects: list[Reject] = []
        summary = Summary()
        plan, renderer, now, explain = (
            self.plan,
            self.renderer,
            self.now,
            self.explain,
        )
        if history is None:
            history = self.history
        empty: list[SendRecord] = []
        for item in chunk:
            summary.total += 1
            if isinstance(item, Reject):
                rejects.append(item)
                summary.rejected += 1
                continue
            contact = item.data
            cid = contact["contact_id"]
            try:
                d = plan.decide(contact, history.get(cid, empty), now=now, trace=explain)
            except CopydeskError as exc:
                rejects.append(_reject(item, cid, "decide", exc))
                summary.rejected += 1
                continue
            row: dict[str, Any] = dict(self.base)
            row["contact_id"] = cid
            row["lifecycle_stage"] = contact.get("lifecycle_stage")
            row["decision"] = d.outcome.value
            row["reason"] = d.reason
            row["rule_id"] = d.rule_id
            outcome = d.outcome
            if outcome is Outcome.SELECTED and d.variant is not None:
                v = d.variant
                try:
                    row.update(renderer.render(v, contact))
                except CopydeskError as exc:
                    rejects.append(_reject(item, cid, "render", exc))
                    summary.rejected += 1
                    continue
                row["variant_id"] = v.variant_id
                row["revision"] = v.revision
                row["content_hash"] = v.content_hash
                summary.rendered += 1
                summary.variants[v.variant_id] += 1
            elif outcome is Outcome.HOLDOUT:
                summary.held_out += 1
            elif outcome is Outcome.SUPPRESSED:
                summary.suppressed[d.reason] += 1
            elif outcome is Outcome.CAPPED:
                summary.capped += 1
            else:
                summary.no_variant += 1
            if explain:
                row["trace"] = [step.as_dict() for step in d.trace]
            for name in self.carry:
                row[name] = contact.get(name)
            rows.append(row)
        return rows, rejects, summary


def _reject(item: Record, cid: str, stage: str, exc: CopydeskError) -> Reject:
    """A per-row reject naming the field and value at fault when the error knows them."""
    value = getattr(exc, "value", None)
    return Reject(item.row, item.line, cid, stage, str(exc), getattr(exc, "field", None),
                  None if value is None else repr(value))


def output_columns(renderer_columns: Sequence[str], *, explain: bool) -> list[str]:
    """The columns of every output row, in order."""
    return [*BASE_COLUMNS, *renderer_columns, *(["trace"] if explain else [])]
