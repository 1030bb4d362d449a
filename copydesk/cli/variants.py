"""``copydesk variant``: hand-written drafts, edits, history and retirement."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Optional

import typer

from copydesk.channels import CHANNELS, all_field_names
from copydesk.cli.common import ACT_AS_HELP, console, open_desk
from copydesk.cli.display import lit, print_revision, print_variant, revision_diff

variants = typer.Typer(help="Variants: drafts of a message for a brief, and their revisions.", no_args_is_help=True)

def _field_help() -> str:
    listed = "; ".join(f"{c.value}: {', '.join(s.field_names)}" for c, s in CHANNELS.items())
    return f"Message field ({listed})."


def field_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` one ``--FIELD`` option per message field of any channel (from the
    channel table, so a new channel's fields appear here by themselves); the command
    receives the given ones as ``fields``."""
    names = all_field_names()
    signature = inspect.signature(command, eval_str=True)
    params = [p for n, p in signature.parameters.items() if n != "fields"]
    for i, name in enumerate(names):
        option = typer.Option(None, help=_field_help() if i == 0 else None)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=Optional[str]))  # noqa: UP045 - typer reads it

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        fields = {n: v for n in names if (v := kwargs.pop(n, None)) is not None}
        command(**kwargs, fields=fields)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


@variants.command("add")
@field_options
def add(
    brief_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    *,
    fields: dict[str, str],
) -> None:
    """Add a hand-written draft for a brief; guardrails check it at once."""
    variant = open_desk().add_variant(brief_id, fields, actor=as_)
    print_variant(variant)


@variants.command("edit")
@field_options
def edit(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    revision: int = typer.Option(None, help="The revision you edited (refused if it is no longer current)."),
    *,
    fields: dict[str, str],
) -> None:
    """Change fields of a variant: a new revision (back to draft; any approval is withdrawn)."""
    variant = open_desk().edit_variant(variant_id, fields, actor=as_, expected_revision=revision)
    print_variant(variant)


@variants.command("show")
def show(
    variant_id: str,
    history: bool = typer.Option(False, "--history", help="Every revision, diff and review."),
) -> None:
    """Show a variant: current text with findings, approval and provenance."""
    desk = open_desk()
    variant = desk.get_variant(variant_id)
    print_variant(variant)
    if variant.approved_hash:
        console.print(f"  approved by {lit(variant.approved_by)} at {variant.approved_at:%Y-%m-%d %H:%M} "
                      f"· hash {lit(variant.approved_hash[:12])} · review by {variant.review_by}")
    prov = variant.current.provenance
    if prov:
        console.print("  provenance: " + lit(", ".join(f"{k}={v}" for k, v in prov.items() if k != "prompt")))
    if history:
        revs = desk.revisions(variant_id)
        for old, new in zip(revs, revs[1:], strict=False):
            console.print(lit(revision_diff(old, new)))
        for rev in revs[:-1]:
            console.print(f"[dim]revision {rev.number} by {lit(rev.author)} ({lit(rev.content_hash[:12])})[/]")
            print_revision(rev)
        for r in desk.reviews(variant_id):
            console.print(f"  {r.at:%Y-%m-%d %H:%M} {lit(r.decision)} revision {r.revision} by {lit(r.reviewer)}: "
                          f"{lit(r.comment)}")


@variants.command("retire")
def retire(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    reason: str = typer.Option("", help="Why it is retired."),
) -> None:
    """Retire an approved variant: it is never sent or exported again."""
    variant = open_desk().retire(variant_id, actor=as_, reason=reason)
    console.print(f"{lit(variant.id)} retired")


def register(app: typer.Typer) -> None:
    """Add the ``variant`` command group."""
    app.add_typer(variants, name="variant")
