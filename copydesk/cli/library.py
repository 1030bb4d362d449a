"""``copydesk library``: list, search and export the governed library."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk
from copydesk.cli.display import cell, lit
from copydesk.errors import UsageError
from copydesk.models import Variant

library = typer.Typer(help="The content library: list, search, export approved content.", no_args_is_help=True)


def _table(items: list[Variant]) -> Table:
    table = Table("id", "status", "stage", "channel", "brief", "rev", "review by", "text")
    for v in items:
        first = next((t for t in v.current.content.fields.values() if t), "")
        table.add_row(cell(v.id), v.status.value, v.stage.value, v.channel.value, cell(v.brief_id),
                      str(v.current.number), str(v.review_by or ""), cell(first[:60]))
    return table


@library.command("list")
def list_(
    status: str = typer.Option(None, help="draft, in_review, approved, rejected, retired or expired."),
    stage: str = typer.Option(None, help="Lifecycle stage."),
    channel: str = typer.Option(None, help="Channel."),
    segment: str = typer.Option(None, help="Segment name."),
    brief: str = typer.Option(None, help="Brief id."),
    expiring: int = typer.Option(None, help="Approved variants whose review-by date is within N days."),
) -> None:
    """List variants with filters."""
    items = open_desk().list_variants(status=status, stage=stage, channel=channel, segment=segment,
                                      brief_id=brief, expiring_within_days=expiring)
    console.print(_table(items))
    console.print(f"{len(items)} variant(s)")


@library.command("search")
def search(query: str, status: str = typer.Option(None, help="Only this status.")) -> None:
    """Full-text search (stemmed: 'boot' finds 'boots') over the current text of variants."""
    items = open_desk().search(query, status=status)
    console.print(_table(items))
    console.print(f"{len(items)} match(es)")


@library.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="File to write."),
    format_: str = typer.Option("json", "--format", help="csv, json or jsonl."),
    dialect: str = typer.Option(
        None, "--dialect",
        help="Write every placeholder in this platform's syntax: braze, iterable, klaviyo, mailchimp, sfmc "
             "or hubspot (docs/reference/esp-export.md). A placeholder it cannot express stops the export.",
    ),
    skip_untranslatable: bool = typer.Option(
        False, "--skip-untranslatable",
        help="With --dialect: export the variants that translate, list the others, instead of exporting nothing.",
    ),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
) -> None:
    """Export the approved, unexpired, unretired library (fields, variables and defaults,
    brief, stage, channel, approval and review-by date). Audited."""
    if skip_untranslatable and dialect is None:
        raise UsageError("--skip-untranslatable needs --dialect")
    export = open_desk().export_file(format_, out, actor=as_, dialect=dialect,
                                     skip_untranslatable=skip_untranslatable)
    for problem in export.skipped:
        console_err.print(f"skipped {lit(str(problem))}")
    where = f" in {export.dialect} syntax" if export.dialect else ""
    console.print(f"exported {len(export.records)} approved variant(s){where} to {lit(out)}")
    if export.skipped:
        console.print(f"left out {len({p.variant_id for p in export.skipped})} variant(s) "
                      f"{export.dialect} cannot express (listed above)")


@library.command("stats")
def stats() -> None:
    """Counts by status."""
    for status, n in open_desk().status_counts().items():
        console.print(f"{lit(status):>10}: {n}")


def register(app: typer.Typer) -> None:
    """Add the ``library`` command group."""
    app.add_typer(library, name="library")
