"""Campaigns, end to end: find and validate a campaign file, resolve what it can send,
gather the send history its frequency cap needs, preview one contact, dry-run or render
an audience, record what was sent, and report the results.

The one home for campaign logic: ``copydesk campaign ...``, ``explain``, ``render``,
``sends record``, ``report`` and the app's Campaigns page call these functions and only
format what they return.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from copydesk import clock
from copydesk.errors import CopydeskError, InputError, NotFoundError, TemplateSafetyError, UsageError
from copydesk.export.presets import Preset, preset
from copydesk.inputs import printable, sane_moment
from copydesk.models import SendRecord
from copydesk.render.audience import Record, Reject, file_format, read_rows
from copydesk.render.pipeline import Summary, render_campaign
from copydesk.render.templates import MessageRenderer, load_channel_template
from copydesk.rules.allocate import Allocation
from copydesk.rules.campaign import Campaign, CampaignFile, load_campaign, parse_campaign
from copydesk.rules.decide import Decision, EligibleLibrary, Plan, decide
from copydesk.rules.values import as_utc
from copydesk.services.allocation import allocations_on, outcome_counts, with_outcomes
from copydesk.workspace import Workspace

if TYPE_CHECKING:
    from copydesk.measure.report import CampaignReport
    from copydesk.services.desk import Desk

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _workspace(desk: Desk) -> Workspace:
    if desk.workspace is None:
        raise UsageError("campaigns need a workspace (templates/, campaigns/)")
    return desk.workspace


# -- files ---------------------------------------------------------------------------

def campaign_files(ws: Workspace) -> list[Path]:
    """The workspace's campaign files, by name."""
    folder = ws.campaigns_dir
    return sorted(p for p in folder.glob("*.y*ml") if p.is_file()) if folder.is_dir() else []


def find_campaign(ws: Workspace, name: Path | str) -> Path:
    """A path as given (or relative to the workspace), else ``campaigns/NAME[.yaml]``."""
    name = Path(name)
    for candidate in (name, ws.root / name, ws.campaigns_dir / name, ws.campaigns_dir / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    raise NotFoundError(f"campaign file {name} not found (looked in . and {ws.campaigns_dir})")


def open_campaign(ws: Workspace, name: Path | str) -> CampaignFile:
    """Find and validate a campaign file (errors name file, line and field)."""
    return load_campaign(find_campaign(ws, name))


def campaign_from_text(text: str, source: str | Path) -> CampaignFile:
    """Validate campaign YAML ``text`` not yet saved (errors name ``source``, line, field)."""
    campaign = parse_campaign(text, str(source))
    return CampaignFile(campaign, Path(source), hashlib.sha256(text.encode("utf-8")).hexdigest())


def audience_files(ws: Workspace) -> list[Path]:
    """Sample audience files in the workspace."""
    folder = ws.audiences_dir
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".jsonl", ".ndjson"))


# -- validate ------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleCheck:
    """What one select rule (or the fallback) can send today."""

    rule: str
    variants: str
    eligible: tuple[str, ...]
    note: str
    #: For a rule that learns its split: today's weights and the counts behind them.
    allocation: Allocation | None = None

    def as_row(self) -> dict[str, str]:
        row = {"rule": self.rule, "variants": self.variants,
               "eligible today": ", ".join(self.eligible) or "none", "note": self.note}
        if self.allocation is not None:
            row["split today"] = self.allocation.describe() + (
                f" ({self.allocation.note})" if self.allocation.note else "")
        return row


@dataclass
class CampaignCheck:
    """A valid campaign, its template parts, and per rule what it can send today."""

    file: CampaignFile
    parts: list[str]
    rules: list[RuleCheck] = field(default_factory=list)
    #: Eligible variants the renderer refuses (their contacts would all be rejected).
    unrenderable: dict[str, str] = field(default_factory=dict)

    @property
    def campaign(self) -> Campaign:
        return self.file.campaign

    @property
    def empty_rules(self) -> list[RuleCheck]:
        """Rules with nothing approved to send today."""
        return [r for r in self.rules if not r.eligible]


def validate(desk: Desk, cf: CampaignFile, *, today: date | None = None) -> CampaignCheck:
    """Check the campaign's template and resolve every rule against the approved library."""
    ws = _workspace(desk)
    c = cf.campaign
    template = load_channel_template(ws.templates_dir, c.template)
    day = today or clock.today()
    eligible = EligibleLibrary(desk.approved_content(day), channel=c.channel, today=day)
    choices = [(s.id, s.variants) for s in c.select]
    if c.fallback is not None:
        choices.append(("fallback", c.fallback))
    check = CampaignCheck(cf, list(template.parts))
    renderer = MessageRenderer(c.channel, template, campaign_id=c.id)
    learnt = ({a.rule_id: a for a in Plan.build(c, eligible, today=day, outcomes=outcome_counts(desk, c, day))
               .allocations} if c.allocates else {})
    for rule_id, choice in choices:
        found, _, note = eligible.resolve(choice)
        check.rules.append(RuleCheck(rule_id, choice.describe(), tuple(v.variant_id for v in found), note,
                                     learnt.get(rule_id)))
        for variant in found:
            try:
                renderer.compile(variant)
            except TemplateSafetyError as exc:
                check.unrenderable[variant.variant_id] = str(exc)
    return check


# -- history -------------------------------------------------------------------------

def _send_record(data: dict[str, Any], source: str, line: int | None) -> SendRecord:
    """A validated send record whose ``sent_at`` is sane (2000-01-01 up to a day after
    now); anything else is an InputError naming source, line and field."""
    try:
        rec = SendRecord.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(printable(str(err["msg"]).removeprefix("Value error, ")), source=source, line=line,
                         field=".".join(str(p) for p in err["loc"]) or None) from None
    try:
        sane_moment(rec.sent_at)
    except ValueError as exc:
        raise InputError(str(exc), source=source, line=line, field="sent_at") from None
    return rec


def read_history_file(path: Path, channel: str, since: datetime) -> Iterator[SendRecord]:
    """Send records on ``channel`` after ``since`` from a CSV/JSONL/Parquet file. A
    malformed row (including a ``sent_at`` before 2000 or in the future) stops the run
    with an InputError naming line and field: an undercounted history would over-send."""
    names = set(SendRecord.model_fields)
    since = as_utc(since)
    for item in read_rows(path):
        if isinstance(item, Reject):
            raise InputError(item.reason, source=str(path), line=item.line, field=item.field)
        rec = _send_record({k: v for k, v in item.data.items() if k in names}, str(path), item.line)
        if rec.channel == channel and rec.sent_at > since:
            yield rec


def history(
    desk: Desk, campaign: Campaign, now: datetime, extra: Path | None = None, *,
    notes: list[str] | None = None,
) -> list[SendRecord]:
    """The send history the campaign's frequency cap needs (none without a cap): the
    library's, plus ``extra`` (a file of sends made elsewhere) when given. Stored sends
    that cannot be used are left out, with a line in ``notes``."""
    cap = campaign.frequency_cap
    if cap is None:
        return []
    since = now - timedelta(days=cap.per_days)
    records = desk.send_history(campaign.channel, since, skipped=notes)
    if extra is not None:
        records.extend(read_history_file(extra, campaign.channel, since))
    return records


# -- one contact ---------------------------------------------------------------------

def find_contact(audience: Path, contact_id: str) -> dict[str, Any]:
    """The readable row of ``audience`` whose contact_id is ``contact_id``."""
    for item in read_rows(audience):
        if isinstance(item, Record) and item.data["contact_id"] == contact_id:
            return item.data
    raise NotFoundError(f"contact {contact_id} is not in {audience} (or its row was rejected)")


def load_contacts(path: Path, *, limit: int = 1000) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Up to ``limit`` readable contacts of ``path``, and the rows that could not be read."""
    contacts: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    for item in read_rows(path):
        if isinstance(item, Record):
            contacts.append(item.data)
            if len(contacts) >= limit:
                break
        else:
            rejects.append(item)
    return contacts, rejects


@dataclass
class Preview:
    """The decision for one contact and, when a variant is chosen, the message as it
    will be sent (``rendered``, by field and part) or why it cannot be rendered."""

    decision: Decision
    rendered: dict[str, str] | None = None
    render_error: str | None = None
    fields: tuple[str, ...] = ()


def preview(
    desk: Desk, cf: CampaignFile, contact: dict[str, Any], *,
    history_file: Path | None = None, now: datetime | None = None, notes: list[str] | None = None,
) -> Preview:
    """Decide for ``contact`` (with the library's send history) and render the message.

    A render failure for this contact is reported in ``render_error`` (the contact
    would go to the rejects file), not raised. Stored sends left out of the history
    are listed in ``notes``."""
    if not contact.get("contact_id"):
        raise InputError("the contact needs a contact_id", field="contact_id")
    ws = _workspace(desk)
    moment = as_utc(now) if now is not None else clock.now()
    c = cf.campaign
    d = decide(c, contact, history(desk, c, moment, history_file, notes=notes),
               desk.approved_content(moment.date()), now=moment, outcomes=outcome_counts(desk, c, moment.date()))
    result = Preview(d)
    if d.selected and d.variant is not None:
        template = load_channel_template(ws.templates_dir, c.template)
        renderer = MessageRenderer(c.channel, template, campaign_id=c.id)
        result.fields = renderer.field_names
        try:
            result.rendered = renderer.render(d.variant, contact)
        except CopydeskError as exc:
            result.render_error = str(exc)
    return result


# -- many contacts -------------------------------------------------------------------

ENGINES = ("local", "spark")


def render(
    desk: Desk, cf: CampaignFile, audience: Path, out: Path, *,
    history_file: Path | None = None, rejects: Path | None = None, explain: bool = False,
    workers: int = 1, now: datetime | None = None, progress: Callable[[int], None] | None = None,
    notes: list[str] | None = None, engine: str = "local", master: str | None = None,
    platform: str | None = None, id_columns: Mapping[str, str] | None = None,
) -> Summary:
    """Decide and render ``cf`` for every contact of ``audience`` (streaming; bad rows go
    to the rejects file). Nothing is recorded as sent: that is :func:`record_sends`.
    Stored sends left out of the frequency-cap history are listed in ``notes``. Rules
    that learn their split use the outcomes known before today (UTC).

    ``engine="spark"`` renders on Spark (``master``, default ``local[*]``): ``audience``
    may also be ``table:NAME``, and ``out`` and ``rejects`` are Parquet datasets (folders
    of part files); ``workers`` and ``progress`` do not apply.

    ``platform`` (``braze``, ``iterable``...) writes that sending platform's bulk-import
    CSV instead (selected contacts only; :mod:`copydesk.export.presets`), its identifier
    columns read from ``id_columns`` (``{"Email Address": "email"}``) or the defaults."""
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not '{engine}'")
    ws = _workspace(desk)
    layout = _import_layout(ws, cf, out, platform, id_columns, engine=engine, explain=explain) if platform else None
    moment = as_utc(now) if now is not None else clock.now()
    records = history(desk, cf.campaign, moment, history_file, notes=notes)
    day = moment.date()
    if engine == "spark":
        return _render_on_spark(desk, cf, audience, out, rejects=rejects, explain=explain, history=records,
                                now=moment, master=master, templates_dir=ws.templates_dir)
    return render_campaign(
        with_outcomes(desk, cf, day), audience, out, library=desk.approved_content(day), templates_dir=ws.templates_dir,
        history=records, rejects=rejects, explain=explain, workers=workers, now=moment, progress=progress,
        layout=layout,
    )


def _import_layout(ws: Workspace, cf: CampaignFile, out: Path, platform: str, id_columns: Mapping[str, str] | None,
                   *, engine: str, explain: bool) -> Preset:
    """The bulk-import layout of ``platform`` for this campaign's channel and template."""
    if engine != "local":
        raise UsageError("--format writes a platform's import file with the local engine only")
    if explain:
        raise UsageError("--format writes a platform's import file, which has no place for --explain's traces")
    if Path(out).suffix.lower() != ".csv":
        raise UsageError(f"--format {platform} writes a CSV import file: give --out a .csv name")
    c = cf.campaign
    renderer = MessageRenderer(c.channel, load_channel_template(ws.templates_dir, c.template), campaign_id=c.id)
    return preset(platform, c.channel, renderer.columns, id_columns)


def _render_on_spark(
    desk: Desk, cf: CampaignFile, audience: Path, out: Path, *, rejects: Path | None, explain: bool,
    history: list[SendRecord], now: datetime, master: str | None, templates_dir: Path,
) -> Summary:
    """:func:`render` on Spark: the library approved now and the templates are read once
    here, on the driver; contacts and messages stay in the cluster."""
    from copydesk.spark import DEFAULT_MASTER, render_source
    from copydesk.spark.session import session_for

    day = now.date()
    with session_for(master or DEFAULT_MASTER) as spark:
        result = render_source(spark, str(audience), with_outcomes(desk, cf, day), library=desk.approved_content(day),
                               templates_dir=templates_dir, history=history, now=now, explain=explain)
        return result.write(out, rejects)


@dataclass
class DryRun:
    """What a dry run over an uploaded audience produced (nothing is recorded as sent)."""

    summary: Summary
    messages: bytes
    rejects: bytes
    file_name: str
    #: The weights each learning rule split by, and the counts behind them.
    allocations: list[Allocation] = field(default_factory=list)


def dry_run(desk: Desk, cf: CampaignFile, data: bytes, file_name: str, *, now: datetime | None = None) -> DryRun:
    """Decide and render ``cf`` for the uploaded audience ``data`` (CSV or JSONL).

    Bad rows go to the rejects file; a file of an unknown type is a :class:`UsageError`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UsageError(f"{file_name}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                         "use 'copydesk campaign render' for big audiences")
    if file_format(file_name) == "parquet":
        raise UsageError(f"{file_name}: upload CSV or JSONL here; Parquet works with 'copydesk campaign render'")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=file_name) from None
    with tempfile.TemporaryDirectory(prefix="copydesk-dry-run-") as tmp:
        folder = Path(tmp)
        audience = folder / ("audience" + Path(file_name).suffix.lower())
        audience.write_bytes(data)
        out = folder / f"{cf.campaign.id}-messages.csv"
        rejects = folder / f"{cf.campaign.id}-messages.rejects.csv"
        moment = as_utc(now) if now is not None else clock.now()
        summary = render(desk, cf, audience, out, rejects=rejects, now=moment)
        return DryRun(summary, out.read_bytes(), rejects.read_bytes(), out.name,
                      allocations_on(desk, cf, moment.date()))


# -- after the send ------------------------------------------------------------------

@dataclass
class SendsRecorded:
    """What ``record_sends`` did with a messages file."""

    added: int
    seen: int
    skipped: int

    @property
    def already(self) -> int:
        return self.seen - self.added


def record_sends(desk: Desk, messages: Path, *, actor: str, sent_at: datetime | None = None) -> SendsRecorded:
    """Append what a rendered messages file sent (and who was held out) to the send
    history. Idempotent per campaign, contact, revision (content hash) and UTC day of
    ``sent_at``: recording the same file twice, or again with another ``sent_at`` on
    the same day, adds nothing. A malformed row (including a send time before 2000 or
    in the future) stops the whole file with an InputError naming line and field, and
    nothing is recorded or audited: a half-recorded send would under-count caps."""
    fallback_at = clock.now()
    if sent_at is not None:
        try:
            sent_at = sane_moment(sent_at)
        except ValueError as exc:
            raise InputError(str(exc), field="sent-at") from None
    stages: dict[str, str] = {}
    counts = SendsRecorded(0, 0, 0)
    source = str(messages)

    def records() -> Iterator[SendRecord]:
        for item in read_rows(messages):
            record = message_send(item, source=source, sent_at=sent_at, fallback_at=fallback_at)
            if record is None:
                counts.skipped += 1
                continue
            if isinstance(item, Record) and item.data.get("lifecycle_stage"):
                stages[record.contact_id] = str(item.data["lifecycle_stage"])
            counts.seen += 1
            yield record

    counts.added = desk.record_sends(records(), actor=actor, stages=stages)
    return counts


def message_send(item: Record | Reject, *, source: str, sent_at: datetime | None = None,
                 fallback_at: datetime | None = None) -> SendRecord | None:
    """The send one row of a rendered messages file records (``None`` for a contact that
    was not sent to or held out: suppressed, capped, no variant). An InputError names the
    line and field of a row :func:`record_sends` must refuse."""
    if not isinstance(item, Record):
        raise InputError(item.reason, source=source, line=item.line, field=item.field)
    row = item.data
    decision = row.get("decision")
    if decision not in ("selected", "holdout"):
        return None
    for key in ("campaign_id", "channel"):
        if not row.get(key):
            raise InputError("missing", source=source, line=item.line, field=key)
    at = sent_at or row.get("decided_at") or fallback_at or clock.now()
    if not isinstance(at, datetime):
        raise InputError("not an ISO date-time", source=source, line=item.line, field="decided_at")
    data = {
        "contact_id": row["contact_id"], "campaign_id": str(row["campaign_id"]), "channel": row["channel"],
        "variant_id": _opt(row.get("variant_id")), "content_hash": _opt(row.get("content_hash")),
        "rule_id": _opt(row.get("rule_id")), "holdout": decision == "holdout", "sent_at": at,
    }
    try:
        return _send_record(data, source, item.line)
    except InputError as exc:
        if exc.field == "sent_at" and sent_at is None:
            raise InputError(exc.reason, source=source, line=item.line, field="decided_at") from None
        raise


def check_messages(messages: Path, *, source: str | None = None, limit: int = 50) -> list[InputError]:
    """Every row (up to ``limit``) of a rendered messages file that :func:`record_sends`
    would refuse — it stops at the first — so a person can fix them all at once."""
    found: list[InputError] = []
    fallback_at = clock.now()
    for item in read_rows(messages):
        try:
            message_send(item, source=source or str(messages), fallback_at=fallback_at)
        except InputError as exc:
            found.append(exc)
            if len(found) >= limit:
                break
    return found


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def campaign_metric(ws: Workspace, campaign_id: str) -> str:
    """The primary metric the campaign file chose (``converted`` when there is no file)."""
    path = ws.campaigns_dir / f"{campaign_id}.yaml"
    if not path.exists():
        return "converted"
    return load_campaign(path).campaign.metric


def report(
    desk: Desk, campaign_id: str, *, metric: str = "", winsorize: float | None = None, now: datetime | None = None
) -> CampaignReport:
    """The campaign's results against its holdout, on ``metric`` (default: the
    campaign file's choice), with the trust checks against the campaign file
    (``campaigns/CAMPAIGN_ID.yaml``: holdout share, splits, planned end) as read at
    ``now`` (default: the clock); revenue capped at the ``winsorize`` percentile."""
    from copydesk.measure.design import load_design

    design = load_design(desk.workspace.campaigns_dir, campaign_id) if desk.workspace else None
    if not metric:
        metric = design.metric if design is not None else "converted"
    from copydesk.services.allocation import allocation_history

    found = desk.campaign_report(campaign_id, metric=metric, design=design, now=now or clock.now(),
                                 winsorize=winsorize)
    history = allocation_history(desk, campaign_id)
    return found if history is None else found.model_copy(update={"allocation": history})


__all__ = [
    "CampaignCheck", "DryRun", "Preview", "RuleCheck", "SendsRecorded", "audience_files", "campaign_files",
    "campaign_from_text", "campaign_metric", "dry_run", "find_campaign", "find_contact", "history",
    "load_contacts", "open_campaign", "preview", "read_history_file", "record_sends", "render", "report",
    "validate",
]
