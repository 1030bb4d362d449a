"""Render a campaign for an audience, streaming: decide, render, write, one chunk at a time.

Memory stays flat for any audience size: rows are read, decided, rendered and written
in chunks of ``chunk_size``; a contact id seen before in the run is rejected
(:mod:`copydesk.render.unique`, on disk); with ``workers > 1`` at most ``2 × workers`` chunks are in
flight. One bad row (unreadable, undecidable or unrenderable) goes to the rejects file
and the run continues. Output order follows the audience.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from copydesk import clock
from copydesk.errors import CopydeskError, TemplateSafetyError, UsageError
from copydesk.models import ApprovedContent, SendRecord
from copydesk.render.audience import REJECT_COLUMNS, Record, Reject, RowWriter, read_rows, record_or_reject
from copydesk.render.orphans import die_with_parent
from copydesk.render.templates import MessageRenderer, load_channel_template
from copydesk.render.unique import unique_contacts
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
class _Job:
    """Everything a worker needs; pickled once per worker process."""

    campaign_file: CampaignFile
    library: list[ApprovedContent]
    history: dict[str, list[SendRecord]]
    templates_dir: Path
    today: date
    now: datetime
    explain: bool


class _Worker:
    def __init__(self, job: _Job) -> None:
        campaign = job.campaign_file.campaign
        self.plan = Plan.build(campaign, job.library, today=job.today)
        template = load_channel_template(job.templates_dir, campaign.template)
        self.renderer = MessageRenderer(campaign.channel, template, campaign_id=campaign.id)
        for variant in self.plan.library.by_id.values():
            # once, up front; rows that choose a variant that cannot compile are rejected
            with contextlib.suppress(TemplateSafetyError):
                self.renderer.compile(variant)
        self.history = job.history
        self.now = job.now
        self.explain = job.explain
        self.base: dict[str, Any] = {
            "campaign_id": campaign.id,
            "channel": campaign.channel.value,
            "campaign_sha256": job.campaign_file.sha256,
            "decided_at": job.now.isoformat(),
        }

    def run(
        self, chunk: Sequence[Record | Reject]
    ) -> tuple[list[dict[str, Any]], list[Reject], Summary]:
        rows: list[dict[str, Any]] = []
        rejects: list[Reject] = []
        summary = Summary()
        plan, renderer, history, now, explain = (
            self.plan,
            self.renderer,
            self.history,
            self.now,
            self.explain,
        )
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
            rows.append(row)
        return rows, rejects, summary


def _reject(item: Record, cid: str, stage: str, exc: CopydeskError) -> Reject:
    """A per-row reject naming the field and value at fault when the error knows them."""
    value = getattr(exc, "value", None)
    return Reject(item.row, item.line, cid, stage, str(exc), getattr(exc, "field", None),
                  None if value is None else repr(value))


_WORKER: _Worker | None = None


def _init_worker(job: _Job, parent_pid: int) -> None:
    global _WORKER
    die_with_parent(parent_pid)
    _WORKER = _Worker(job)


def _run_chunk(chunk: list[Record | Reject]) -> tuple[list[dict[str, Any]], list[Reject], Summary]:
    assert _WORKER is not None
    return _WORKER.run(chunk)


def _records(audience: Path | Iterable[Mapping[str, Any]]) -> Iterator[Record | Reject]:
    if isinstance(audience, str | Path):
        yield from read_rows(audience)
        return
    for n, data in enumerate(audience, start=1):
        yield record_or_reject(n, None, dict(data))  # the file readers' checks, for rows given in code


def _chunks(items: Iterator[Record | Reject], size: int) -> Iterator[list[Record | Reject]]:
    while chunk := list(islice(items, size)):
        yield chunk


def default_rejects_path(out: Path) -> Path:
    """``messages.jsonl`` → ``messages.rejects.csv``."""
    return out.with_name(out.name.split(".")[0] + ".rejects.csv")


def output_columns(renderer_columns: Sequence[str], *, explain: bool) -> list[str]:
    """The columns of every output row, in order."""
    return [*BASE_COLUMNS, *renderer_columns, *(["trace"] if explain else [])]


def render_campaign(
    campaign_file: CampaignFile,
    audience: Path | Iterable[Mapping[str, Any]],
    out: Path,
    *,
    library: Sequence[ApprovedContent],
    templates_dir: Path,
    history: Iterable[SendRecord] = (),
    rejects: Path | None = None,
    explain: bool = False,
    workers: int = 1,
    today: date | None = None,
    now: datetime | None = None,
    chunk_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Decide and render ``campaign_file`` for every contact of ``audience``.

    ``audience`` is a file (CSV/JSONL/Parquet) or an iterable of contact mappings.
    Writes ``out`` (all decided contacts, rendered fields for selected ones) and the
    rejects file (default ``OUT-STEM.rejects.csv``). ``progress`` is called with the
    number of contacts handled so far."""
    if workers < 1:
        raise UsageError("--workers must be 1 or more")
    campaign = campaign_file.campaign
    moment = as_utc(now) if now is not None else clock.now()
    today = today or moment.date()
    cap_days = campaign.frequency_cap.per_days if campaign.frequency_cap else 0
    job = _Job(
        campaign_file=campaign_file,
        library=list(library),
        history=index_history(
            history, channel=campaign.channel, since=moment - timedelta(days=cap_days)
        )
        if cap_days
        else {},
        templates_dir=Path(templates_dir),
        today=today,
        now=moment,
        explain=explain,
    )
    local = _Worker(job)  # compiles everything up front: bad templates fail before any output
    columns = output_columns(local.renderer.columns, explain=explain)
    rejects_path = rejects or default_rejects_path(out)
    summary = Summary(out=out, rejects=rejects_path)
    items = unique_contacts(_records(audience))
    with RowWriter(out, columns) as writer, RowWriter(rejects_path, REJECT_COLUMNS) as rw:

        def consume(result: tuple[list[dict[str, Any]], list[Reject], Summary]) -> None:
            rows, rejected, part = result
            for row in rows:
                if explain:
                    row["trace"] = (
                        json.dumps(row["trace"], ensure_ascii=False)
                        if writer.format != "jsonl"
                        else row["trace"]
                    )
                writer.write(row)
            for rej in rejected:
                rw.write(rej.as_dict())
            summary.add(part)
            if progress is not None:
                progress(summary.total)

        if workers == 1:
            for chunk in _chunks(items, chunk_size):
                consume(local.run(chunk))
        else:
            ctx = mp.get_context("spawn") if _needs_spawn() else mp.get_context()
            # ProcessPoolExecutor, not mp.Pool: a worker that cannot start must fail the
            # run with a message, not be respawned forever.
            try:
                with ProcessPoolExecutor(
                    workers, mp_context=ctx, initializer=_init_worker, initargs=(job, os.getpid())
                ) as pool:
                    pending: deque[Future[Any]] = deque()
                    for chunk in _chunks(items, chunk_size):
                        pending.append(pool.submit(_run_chunk, chunk))
                        if len(pending) >= 2 * workers:
                            consume(pending.popleft().result())
                    while pending:
                        consume(pending.popleft().result())
            except BrokenProcessPool as exc:
                raise CopydeskError(
                    f"render worker processes failed ({exc}); run again with --workers 1"
                ) from None
    return summary


def _needs_spawn() -> bool:
    # fork is fastest where available; threads (e.g. the Streamlit server) make fork unsafe.
    import threading

    return threading.active_count() > 1 or "fork" not in mp.get_all_start_methods()
