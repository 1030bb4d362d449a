"""``copydesk campaign validate``, ``render``, ``explain`` and ``sends record``: they call
:mod:`copydesk.services.campaigns` and format what it returns."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk, workspace
from copydesk.errors import InputError, UsageError
from copydesk.services import campaigns as svc

campaign_app = typer.Typer(help="Campaign rule files.", no_args_is_help=True)
sends_app = typer.Typer(help="Send history used by frequency caps and outcome measurement.",
                        no_args_is_help=True)


@campaign_app.command("validate")
def validate(file: Path = typer.Argument(..., help="Campaign YAML file.")) -> None:
    """Check a campaign file: format, template, and which approved variants it can send."""
    check = svc.validate(open_desk(), svc.open_campaign(workspace(), file))
    c = check.campaign
    console.print(f"[green]✓[/] {check.file.path}: campaign [bold]{c.id}[/] ({c.channel.value}), "
                  f"template {c.template} ({', '.join(check.parts)})")
    for rule in check.rules:
        if rule.eligible:
            console.print(f"  {rule.rule}: {rule.variants} → {', '.join(rule.eligible)}"
                          + (f" [yellow]({rule.note})[/]" if rule.note else ""))
        else:
            console.print(f"  [yellow]![/] {rule.rule}: {rule.variants} → no approved variant today ({rule.note})")
    if check.empty_rules:
        console.print(f"[yellow]{len(check.empty_rules)} rule(s) have nothing to send yet; "
                      "those contacts fall back or get no message.[/]")
    for vid, reason in check.unrenderable.items():
        console.print(f"  [red]✗[/] {vid} cannot be rendered: {escape(reason)}")
    if check.unrenderable:
        raise InputError(f"{len(check.unrenderable)} approved variant(s) cannot be rendered; every contact "
                         "they are chosen for would be rejected (retire them or edit and re-approve)",
                         source=str(check.file.path))


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

    cf = svc.open_campaign(workspace(), campaign)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,} contacts"), TimeElapsedColumn(),
                  console=console_err, transient=True) as bar:
        task = bar.add_task(f"rendering {cf.campaign.id}", total=None)
        summary = svc.render(open_desk(), cf, audience, out, history_file=history, rejects=rejects,
                             explain=explain, workers=workers, progress=lambda n: bar.update(task, completed=n))
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
    from copydesk.rules.explain import explain_text

    cf = svc.open_campaign(workspace(), campaign)
    result = svc.preview(open_desk(), cf, svc.find_contact(audience, contact), history_file=history)
    console.print(explain_text(result.decision), markup=False)
    if result.render_error:
        console.print(f"render error (this contact would be rejected): {result.render_error}", markup=False)
    elif result.rendered is not None:
        console.print("message:")
        for name in result.fields:
            if result.rendered.get(name):
                console.print(f"  {name}: {result.rendered[name]}", markup=False)


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
    from copydesk.rules.values import as_utc

    given: datetime | None = None
    if sent_at:
        try:
            given = as_utc(datetime.fromisoformat(sent_at.replace("Z", "+00:00")))
        except ValueError:
            raise UsageError(f"--sent-at: '{sent_at}' is not an ISO date-time") from None
    done = svc.record_sends(open_desk(), messages, actor=as_, sent_at=given)
    console.print(f"recorded {done.added:,} new send(s) ({done.already:,} already recorded, "
                  f"{done.skipped:,} not sent)")


def register(app: typer.Typer) -> None:
    """Add ``campaign`` (validate, render, explain) and ``sends`` (record)."""
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(sends_app, name="sends")
    app.command("render")(render_cmd)
    app.command("explain")(explain_cmd)
