"""``copydesk audit``: read and verify the hash-chained audit log."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from copydesk.cli.common import console, console_err, open_desk

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@audit_app.command("log")
def log(
    variant: str = typer.Option(None, "--variant", help="Only events about this variant (or any entity id)."),
    actor: str = typer.Option(None, help="Only events by this user."),
    action: str = typer.Option(None, help="Only this action, e.g. variant.approve."),
    limit: int = typer.Option(None, help="Only the newest N events."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Show audit events, oldest first."""
    for e in open_desk().audit_log(entity_id=variant, actor=actor, action=action, limit=limit):
        if as_json:
            console.print(e.model_dump_json(), markup=False)
        else:
            data = json.dumps(e.data, ensure_ascii=False)
            console.print(f"{e.seq:>5} {e.at:%Y-%m-%d %H:%M:%S} {e.actor:<10} {e.action:<16} "
                          f"{e.entity}:{e.entity_id} {escape(data[:160])}")


@audit_app.command("verify")
def verify() -> None:
    """Check the hash chain: exit 0 when intact, 1 naming the first bad event."""
    ok, message = open_desk().verify_audit()
    if ok:
        console.print(f"[green]{message}[/]")
    else:
        console_err.print(f"[bold red]audit chain broken:[/] {message}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group."""
    app.add_typer(audit_app, name="audit")
