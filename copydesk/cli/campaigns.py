"""``copydesk campaign validate``, ``render``, ``explain`` and ``sends record``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk, workspace
from copydesk.errors import InputError, NotFoundError, UsageError

if TYPE_CHECKING:
    from copydesk.models import SendRecord
    from copydesk.rules.campaign import CampaignFile
    from copydesk.vocab import Channel
    from copydesk.workspace import Workspace

campaign_app = typer.Typer(help="Campaign rule files.", no_args_is_help=True)
sends_app = typer.Typer(help="Send history used by frequency caps and outcome measurement.",
                        no_args_is_help=True)


def _campaign_path(ws: Workspace, name: Path) -> Path:
    """A path as given (or relative to the workspace), else ``campaigns/NAME[.yaml]``."""
    for candidate in (name, ws.root / name, ws.campaigns_dir / name,
                      ws.campaigns_dir / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    raise NotFoundError(f"campaign file {name} not found (looked in . and {ws.campaigns_dir})")


def _load(ws: Workspace, name: Path) -> CampaignFile:
    from copydesk.rules.campaign import load_campaign

    return load_campaign(_campaign_path(ws, name))


def _history_file(path: Path, channel: Channel, since: datetime) -> Iterator[SendRecord]:
    """Send records from a CSV/JSONL/Parquet file; a malformed row stops the run (an
    undercounted history would over-send)."""
    from copydesk.models import SendRecord
    from copydesk.render.audience import Reject, read_rows
    from copydesk.rules.values import as_utc

    names = set(SendRecord.model_fields)
    for item in read_rows(path):
        if isinstance(item, Reject):
            raise InputError(item.reason, source=str(path), line=item.line)
        data = {k: v for k, v in item.data.items() if k in names}
        try:
            rec = SendRecord.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InputError(
                str(err["msg"]), source=str(path), line=item.line,
                field=".".join(str(p) for p in err["loc"]),
            ) from None
        if rec.channel == channel and as_utc(rec.sent_at) > since:
            yield rec


def _history(cf: CampaignFile, history: Path | None, now: datetime) -> list[SendRecord]:
    cap = cf.campaign.frequency_cap
    if cap is None:
        return []
    since = now - timedelta(days=cap.per_days)
    records = list(open_desk().send_history(cf.campaign.channel, since))
    if history is not None:
        records.extend(_history_file(history, cf.campaign.channel, since))
    return records


@campaign_app.command("validate")
def validate(file: Path = typer.Argument(..., help="Campaign YAML file.")) -> None:
    """Check a campaign file: format, template, and which approved variants it can send."""
    from copydesk.render.templates import load_channel_template
    from copydesk.rules.decide import EligibleLibrary

    ws = workspace()
    cf = _load(ws, file)
    c = cf.campaign
    template = load_channel_template(ws.templates_dir, c.template)
    console.print(f"[green]✓[/] {cf.path}: campaign [bold]{c.id}[/] ({c.channel.value}), "
                  f"template {c.template} ({', '.join(template.parts)})")
    library = EligibleLibrary(open_desk().approved_content(), channel=c.channel,
                              today=datetime.now(UTC).date())
    choices = [(s.id, s.variants) for s in c.select]
    if c.fallback is not None:
        choices.append(("fallback", c.fallback))
    problems = 0
    for rule_id, choice in choices:
        found, _, note = library.resolve(choice)
        if found:
            ids = ", ".join(v.variant_id for v in found)
            console.print(f"  {rule_id}: {choice.describe()} → {ids}"
                          + (f" [yellow]({note})[/]" if note else ""))
        else:
            problems += 1
            console.print(f"  [yellow]![/] {rule_id}: {choice.describe()} → "
                          f"no approved variant today ({note})")
    if problems:
        console.print(f"[yellow]{problems} rule(s) have nothing to send yet; "
                      "those contacts fall back or get no message.[/]")


@campaign_app.command("render")
def render_cmd(
    campaign: Path = typer.Argument(..., help="Campaign file (or a name in campaigns/)."),
    audience: Path = typer.Option(..., "--audience", help="Contacts: .csv, .jsonl or .parquet."),
    out: Path = typer.Option(..., "--out", help="Messages file: .csv, .jsonl or .parquet."),
    history: Path = typer.Option(None, "--history", help="Extra send history file (CSV/JSONL/Parquet)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes to render with."),
    explain: bool = typer.Option(False, "--explain", help="Add each decision's trace."),
    rejects: Path = typer.Option(None, "--rejects", help="Rejects file (default OUT.rejects.csv)."),
) -> None:
    """Decide and render a campaign for an audience, streaming, with a summary."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from copydesk.render.pipeline import render_campaign

    ws = workspace()
    cf = _load(ws, campaign)
    now = datetime.now(UTC)
    records = _history(cf, history, now)
    library = open_desk().approved_content(now.date())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,} contacts"), TimeElapsedColumn(),
                  console=console_err, transient=True) as bar:
        task = bar.add_task(f"rendering {cf.campaign.id}", total=None)
        summary = render_campaign(
            cf, audience, out, library=library, templates_dir=ws.templates_dir,
            history=records, rejects=rejects, explain=explain, workers=workers, now=now,
            progress=lambda n: bar.update(task, completed=n),
        )
    table = Table("outcome", "contacts", title=f"{cf.campaign.id}: {summary.total:,} contacts")
    table.add_row("rendered", f"{summary.rendered:,}")
    table.add_row("held out", f"{summary.held_out:,}")
    for reason, n in sorted(summary.suppressed.items()):
        table.add_row(f"suppressed: {reason}", f"{n:,}")
    table.add_row("frequency-capped", f"{summary.capped:,}")
    table.add_row("no eligible variant", f"{summary.no_variant:,}")
    table.add_row("rejected rows", f"{summary.rejected:,}")
    console.print(table)
    if summary.variants:
        console.print("variants: " + ", ".join(f"{v} {n:,}" for v, n in sorted(summary.variants.items())))
    console.print(f"messages: {out}")
    if summary.rejected:
        console.print(f"[yellow]rejects: {summary.rejects}[/] ({summary.rejected:,} rows)")


@campaign_app.command("explain")
def explain_cmd(
    campaign: Path = typer.Argument(..., help="Campaign file (or a name in campaigns/)."),
    audience: Path = typer.Option(..., "--audience", help="Contacts: .csv, .jsonl or .parquet."),
    contact: str = typer.Option(..., "--contact", help="The contact_id to explain."),
    history: Path = typer.Option(None, "--history", help="Extra send history file."),
) -> None:
    """Show the decision for one contact, every rule evaluated, and the message it gets."""
    from copydesk.errors import CopydeskError
    from copydesk.render.audience import Record, read_rows
    from copydesk.render.templates import MessageRenderer, load_channel_template
    from copydesk.rules.decide import decide
    from copydesk.rules.explain import explain_text

    ws = workspace()
    cf = _load(ws, campaign)
    now = datetime.now(UTC)
    found: dict[str, Any] | None = None
    for item in read_rows(audience):
        if isinstance(item, Record) and item.data["contact_id"] == contact:
            found = item.data
            break
    if found is None:
        raise NotFoundError(f"contact {contact} is not in {audience} (or its row was rejected)")
    library = open_desk().approved_content(now.date())
    d = decide(cf.campaign, found, _history(cf, history, now), library, now=now)
    console.print(explain_text(d), markup=False)
    if d.selected and d.variant is not None:
        template = load_channel_template(ws.templates_dir, cf.campaign.template)
        renderer = MessageRenderer(cf.campaign.channel, template, campaign_id=cf.campaign.id)
        try:
            rendered = renderer.render(d.variant, found)
        except CopydeskError as exc:
            console.print(f"render error (this contact would be rejected): {exc}", markup=False)
            return
        console.print("message:")
        for name in renderer.field_names:
            if rendered.get(name):
                console.print(f"  {name}: {rendered[name]}", markup=False)


@sends_app.command("record")
def record(
    messages: Path = typer.Argument(..., help="Output of 'copydesk campaign render'."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    sent_at: str = typer.Option(
        None, "--sent-at", help="When they were sent (ISO 8601; default: the render time)."
    ),
) -> None:
    """Append what was sent (and who was held out) to the send history. Audited;
    recording the same file twice adds nothing."""
    from copydesk.models import SendRecord
    from copydesk.render.audience import Record, read_rows
    from copydesk.rules.values import as_utc

    given: datetime | None = None
    if sent_at:
        try:
            given = as_utc(datetime.fromisoformat(sent_at.replace("Z", "+00:00")))
        except ValueError:
            raise UsageError(f"--sent-at: '{sent_at}' is not an ISO date-time") from None
    fallback_at = datetime.now(UTC)
    stages: dict[str, str] = {}
    skipped = 0

    def records() -> Iterator[SendRecord]:
        nonlocal skipped
        for item in read_rows(messages):
            if not isinstance(item, Record):
                raise InputError(item.reason, source=str(messages), line=item.line)
            row = item.data
            decision = row.get("decision")
            if decision not in ("selected", "holdout"):
                skipped += 1
                continue
            for key in ("campaign_id", "channel"):
                if not row.get(key):
                    raise InputError("missing", source=str(messages), line=item.line, field=key)
            at = given or row.get("decided_at") or fallback_at
            if not isinstance(at, datetime):
                raise InputError("not an ISO date-time", source=str(messages), line=item.line,
                                 field="decided_at")
            if row.get("lifecycle_stage"):
                stages[row["contact_id"]] = str(row["lifecycle_stage"])
            yield SendRecord(
                contact_id=row["contact_id"], campaign_id=str(row["campaign_id"]),
                channel=row["channel"], variant_id=_opt(row.get("variant_id")),
                content_hash=_opt(row.get("content_hash")), rule_id=_opt(row.get("rule_id")),
                holdout=decision == "holdout", sent_at=at,
            )

    # streamed inside one transaction: a bad row rolls the whole file back
    seen = 0

    def counted() -> Iterator[SendRecord]:
        nonlocal seen
        for rec in records():
            seen += 1
            yield rec

    added = open_desk().record_sends(counted(), actor=as_, stages=stages)
    console.print(f"recorded {added:,} new send(s) ({seen - added:,} already recorded, "
                  f"{skipped:,} not sent)")


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def register(app: typer.Typer) -> None:
    """Add ``campaign`` (validate, render, explain) and ``sends`` (record)."""
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(sends_app, name="sends")
    app.command("render")(render_cmd)
    app.command("explain")(explain_cmd)
