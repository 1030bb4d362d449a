"""``copydesk campaign validate``, ``render``, ``explain`` and ``sends record``: they call
:mod:`copydesk.services.campaigns` and format what it returns."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk, workspace
from copydesk.cli.display import cell, lit
from copydesk.errors import InputError, UsageError
from copydesk.inputs import sane_moment
from copydesk.services import campaigns as svc

campaign_app = typer.Typer(help="Campaign rule files.", no_args_is_help=True)
sends_app = typer.Typer(help="Send history used by frequency caps and outcome measurement.",
                        no_args_is_help=True)


@campaign_app.command("validate")
def validate(file: Path = typer.Argument(..., help="Campaign YAML file.")) -> None:
    """Check a campaign file: format, template, and which approved variants it can send."""
    check = svc.validate(open_desk(), svc.open_campaign(workspace(), file))
    c = check.campaign
    console.print(f"[green]✓[/] {lit(check.file.path)}: campaign [bold]{lit(c.id)}[/] ({c.channel.value}), "
                  f"template {lit(c.template)} ({lit(', '.join(check.parts))})")
    for rule in check.rules:
        if rule.eligible:
            console.print(f"  {lit(rule.rule)}: {lit(rule.variants)} → {lit(', '.join(rule.eligible))}"
                          + (f" [yellow]({lit(rule.note)})[/]" if rule.note else ""))
            if rule.allocation:
                console.print(f"    split today: {lit(rule.allocation.describe())}"
                              + (f" ({lit(rule.allocation.note)})" if rule.allocation.note else ""))
        else:
            console.print(f"  [yellow]![/] {lit(rule.rule)}: {lit(rule.variants)} → no approved variant today "
                          f"({lit(rule.note)})")
    if check.empty_rules:
        console.print(f"[yellow]{len(check.empty_rules)} rule(s) have nothing to send yet; "
                      "those contacts fall back or get no message.[/]")
    for vid, reason in check.unrenderable.items():
        console.print(f"  [red]✗[/] {lit(vid)} cannot be rendered: {lit(reason)}")
    if check.unrenderable:
        raise InputError(f"{len(check.unrenderable)} approved variant(s) cannot be rendered; every contact "
                         "they are chosen for would be rejected (retire them or edit and re-approve)",
                         source=str(check.file.path))


@campaign_app.command("render")
def render_cmd(
    campaign: Path = typer.Argument(..., help="Campaign file (or a name in campaigns/)."),
    audience: Path = typer.Option(..., "--audience", help="Contacts: .csv, .jsonl or .parquet "
                                  "(with --engine spark also a folder so named, or table:NAME)."),
    out: Path = typer.Option(..., "--out", help="Messages file: .csv, .jsonl or .parquet. With --engine "
                             "spark: a folder of Parquet part files."),
    history: Path = typer.Option(None, "--history", help="Extra send history file (CSV/JSONL/Parquet)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes to render with (local engine)."),
    explain: bool = typer.Option(False, "--explain", help="Add each decision's trace."),
    rejects: Path = typer.Option(None, "--rejects", help="Rejects file (default OUT.rejects.csv); with "
                                 "--engine spark a Parquet folder (default OUT.rejects)."),
    engine: str = typer.Option("local", "--engine", help="local (this machine's processes) or spark "
                               "(needs the spark extra and Java; see docs/guides/spark.md)."),
    master: str = typer.Option("local[*]", "--master", help="Spark master URL for --engine spark "
                               "(an active session, e.g. under spark-submit, is used as it is)."),
    format_: str = typer.Option(None, "--format", help="Write a sending platform's bulk-import CSV instead: "
                                "braze, iterable, klaviyo, mailchimp, sfmc or hubspot (selected contacts only; "
                                "see docs/reference/esp-export.md)."),
    id_column: list[str] = typer.Option([], "--id-column", help="With --format: which contact field feeds a "
                                        "platform identifier column, e.g. 'Email Address=email' (repeatable)."),
) -> None:
    """Decide and render a campaign for an audience, streaming, with a summary.

    With --engine spark the same decisions and texts are made in Spark executors: --out
    is a folder of Parquet part files (every column text, as the local engine's Parquet
    output) and the rejects are a second Parquet folder; contacts and messages never
    pass through this process."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if engine not in svc.ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(svc.ENGINES)}, not '{engine}'")
    id_columns = _id_columns(id_column)
    cf = svc.open_campaign(workspace(), campaign)
    notes: list[str] = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,} contacts"), TimeElapsedColumn(),
                  console=console_err, transient=True) as bar:
        task = bar.add_task(f"rendering {lit(cf.campaign.id)}", total=None)
        summary = svc.render(open_desk(), cf, audience, out, history_file=history, rejects=rejects,
                             explain=explain, workers=workers, progress=lambda n: bar.update(task, completed=n),
                             notes=notes, engine=engine, master=master, platform=format_, id_columns=id_columns)
    _print_notes(notes)
    table = Table("outcome", "contacts", title=f"{lit(cf.campaign.id)}: {summary.total:,} contacts")
    table.add_row("rendered", f"{summary.rendered:,}")
    table.add_row("held out", f"{summary.held_out:,}")
    for reason, n in sorted(summary.suppressed.items()):
        table.add_row(cell(f"suppressed: {reason}"), f"{n:,}")
    table.add_row("frequency-capped", f"{summary.capped:,}")
    table.add_row("no eligible variant", f"{summary.no_variant:,}")
    table.add_row("rejected rows", f"{summary.rejected:,}")
    console.print(table)
    if summary.variants:
        console.print("variants: " + lit(", ".join(f"{v} {n:,}" for v, n in sorted(summary.variants.items()))))
    console.print(f"messages: {lit(out)}")
    if summary.rejected:
        console.print(f"[yellow]rejects: {lit(summary.rejects)}[/] ({summary.rejected:,} rows)")


def _id_columns(pairs: list[str]) -> dict[str, str]:
    """``['Email Address=email']`` → ``{'Email Address': 'email'}``."""
    found: dict[str, str] = {}
    for pair in pairs:
        column, sep, source = pair.partition("=")
        if not sep or not column.strip() or not source.strip():
            raise UsageError(f"--id-column must look like 'COLUMN=field', not {pair!r}")
        found[column.strip()] = source.strip()
    return found


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        console_err.print(f"[yellow]warning:[/] {lit(note)}")


@campaign_app.command("explain")
def explain_cmd(
    campaign: Path = typer.Argument(..., help="Campaign file (or a name in campaigns/)."),
    audience: Path = typer.Option(..., "--audience", help="Contacts: .csv, .jsonl or .parquet."),
    contact: str = typer.Option(..., "--contact", help="The contact_id to explain."),
    history: Path = typer.Option(None, "--history", help="Extra send history file."),
) -> None:
    """Show the decision for one contact, every rule evaluated, and the message it gets."""
    from copydesk.rules.explain import explain_text

    cf = svc.open_campaign(workspace(), campaign)
    notes: list[str] = []
    result = svc.preview(open_desk(), cf, svc.find_contact(audience, contact), history_file=history, notes=notes)
    _print_notes(notes)
    console.print(lit(explain_text(result.decision)))
    if result.render_error:
        console.print(f"render error (this contact would be rejected): {lit(result.render_error)}")
    elif result.rendered is not None:
        console.print("message:")
        for name in result.fields:
            if result.rendered.get(name):
                console.print(f"  {lit(name)}: {lit(result.rendered[name])}")


@sends_app.command("record")
def record(
    messages: Path = typer.Argument(..., help="Output of 'copydesk campaign render'."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    sent_at: str = typer.Option(
        None, "--sent-at", help="When they were sent (ISO 8601; default: the render time)."
    ),
) -> None:
    """Append what was sent (and who was held out) to the send history. Audited.

    A send is recorded once per campaign, contact, revision (content hash) and UTC day:
    recording the same file again, even with another --sent-at on the same day, adds
    nothing. A malformed row, or a send time before 2000 or more than a day ahead,
    stops the file and nothing is recorded."""
    given: datetime | None = None
    if sent_at:
        try:
            parsed = datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--sent-at: '{sent_at}' is not an ISO date-time") from None
        try:
            given = sane_moment(parsed)
        except ValueError as exc:
            raise UsageError(f"--sent-at: {exc}") from None
    done = svc.record_sends(open_desk(), messages, actor=as_, sent_at=given)
    console.print(f"recorded {done.added:,} new send(s) ({done.already:,} already recorded, "
                  f"{done.skipped:,} not sent)")


def register(app: typer.Typer) -> None:
    """Add ``campaign`` (validate, render, explain) and ``sends`` (record)."""
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(sends_app, name="sends")
    app.command("render")(render_cmd)
    app.command("explain")(explain_cmd)
