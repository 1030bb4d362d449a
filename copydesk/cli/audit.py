"""``copydesk audit``: read, verify, anchor, protect and key the hash-chained audit log."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from copydesk import audit
from copydesk.audit_verify import load_anchor
from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk
from copydesk.cli.display import lit
from copydesk.errors import InputError
from copydesk.services import audit_admin

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
            console.print(f"{e.seq:>5} {e.at:%Y-%m-%d %H:%M:%S} {lit(e.actor):<10} {lit(e.action):<16} "
                          f"{lit(e.entity)}:{lit(e.entity_id)} {lit(data[:160])}")


@audit_app.command("verify")
def verify(
    anchor: Path = typer.Option(
        None, "--anchor", help="An anchor file from 'audit anchor --out': fail unless the chain still holds "
        "that exact event (no rollback, truncation or rewrite since).",
    ),
) -> None:
    """Check the hash chain, the append-only triggers, and that the chain explains every
    variant, revision, review, waiver, brief and user in the library: exit 0 when all
    hold, 1 naming every problem."""
    pinned = load_anchor(anchor) if anchor is not None else None
    result = audit_admin.verify(open_desk(), anchor=pinned)
    if result.ok:
        console.print(f"[green]{lit(result.summary())}[/]")
    else:
        console_err.print("[bold red]audit chain broken:[/]")
        for line in result.summary().splitlines():
            console_err.print(f"  {lit(line)}")
    for note in result.notes:
        console.print(f"note: {lit(note)}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def anchor(
    out: Path = typer.Option(None, "--out", help="Also write the anchor to this file."),
) -> None:
    """Print the head of a chain that verifies (seq, hash, time, mode) as JSON, to keep
    outside the library; 'audit verify --anchor FILE' later proves no rollback since."""
    head = audit_admin.anchor(open_desk())
    text = json.dumps(head.model_dump(), indent=2) + "\n"
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the anchor: {exc.strerror or exc}", source=str(out)) from None
    console.print(text, markup=False, end="")


@audit_app.command("protect")
def protect(as_: str = typer.Option(..., "--as", help=ACT_AS_HELP)) -> None:
    """Re-create the append-only triggers after they were dropped or altered outside
    copydesk, and drop any other trigger on the log's tables (admin; recorded as an
    audit.protected event). Writes are refused until this is done."""
    done = audit_admin.protect(open_desk(), actor=as_)
    if done:
        console.print(f"{lit('; '.join(done))}: run 'copydesk audit verify' to check the chain")
    else:
        console.print("the append-only triggers are in place: nothing to do")


@audit_app.command("key")
def key(as_: str = typer.Option(..., "--as", help=ACT_AS_HELP)) -> None:
    """Key the chain with COPYDESK_AUDIT_KEY (admin): from this event on every event is an
    HMAC, and nothing is written or verified without the key. Cannot be undone."""
    event = audit_admin.key(open_desk(), actor=as_)
    console.print(f"the audit chain is keyed from event {event.seq}; keep {audit.KEY_ENV} safe: "
                  "without it this library can neither be written nor verified")


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group."""
    app.add_typer(audit_app, name="audit")
