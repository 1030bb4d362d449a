"""``copydesk brief``: add, update, list and show briefs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk
from copydesk.cli.display import cell, lit
from copydesk.errors import CopydeskError, InputError
from copydesk.inputs import has_surrogates
from copydesk.llm.privacy import describe, mask_text

briefs = typer.Typer(help="Briefs: what to say to whom (segment level, never contact data).", no_args_is_help=True)


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    return out


def _load(paths: list[Path], as_: str, update: bool) -> None:
    desk = open_desk()
    files = _expand(paths)
    if not files:
        raise InputError("no brief files found")
    failed = 0
    for path in files:
        if has_surrogates(str(path)):
            failed += 1
            console_err.print(f"[red]error:[/] {lit(path)}: the file name is not valid UTF-8 text (rename the file)")
            continue
        try:
            brief = desk.add_brief_file(path, actor=as_, update=update)
            found = desk.personal_data_in(brief)
        except CopydeskError as exc:
            failed += 1
            console_err.print(f"[red]error:[/] {lit(exc)}")
            continue
        segment = mask_text(brief.segment.name, "segment.name", found)
        console.print(f"{'updated' if update else 'added'} brief [bold]{lit(brief.id)}[/] "
                      f"({brief.stage}, {brief.channel}, segment '{lit(segment)}')")
        if found:
            console_err.print(
                f"[yellow]warning:[/] brief {lit(brief.id)} contains personal data: {lit(describe(found))}. "
                "It is saved, but 'copydesk generate' refuses it until you remove it (briefs describe "
                "segments, not people) or pass --redact-pii"
            )
    if failed:
        console_err.print(f"{failed} of {len(files)} brief file(s) failed; the others were saved")
        raise typer.Exit(1)


@briefs.command("add")
def add(
    paths: list[Path] = typer.Argument(..., help="Brief YAML files or folders of them."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
) -> None:
    """Add briefs from YAML files. A bad file is reported (file, line, field) and the
    good ones are still added."""
    _load(paths, as_, update=False)


@briefs.command("update")
def update(
    paths: list[Path] = typer.Argument(..., help="Brief YAML files or folders of them."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
) -> None:
    """Replace existing briefs with a new version from YAML files."""
    _load(paths, as_, update=True)


@briefs.command("list")
def list_(
    stage: str = typer.Option(None, help="Filter by lifecycle stage."),
    channel: str = typer.Option(None, help="Filter by channel."),
) -> None:
    """List briefs."""
    table = Table("id", "stage", "channel", "segment", "offer", "title")
    for b in open_desk().list_briefs(stage=stage, channel=channel):
        table.add_row(cell(b.id), b.stage.value, b.channel.value, cell(b.segment.name), cell(b.offer), cell(b.title))
    console.print(table)


@briefs.command("show")
def show(brief_id: str) -> None:
    """Show one brief."""
    desk = open_desk()
    brief = desk.get_brief(brief_id)
    info = desk.brief_info(brief_id)
    console.print(f"[bold]{lit(brief.id)}[/] v{info['version']} by {lit(info['created_by'])} "
                  f"({lit(info['source'])})")
    for key, value in brief.model_dump(mode="json").items():
        console.print(f"  {key}: {lit(value)}")
    found = desk.personal_data_in(brief)
    if found:
        console_err.print(f"[yellow]warning:[/] contains personal data: {lit(describe(found))}; "
                          "'copydesk generate' refuses this brief")


def register(app: typer.Typer) -> None:
    """Add the ``brief`` command group."""
    app.add_typer(briefs, name="brief")
