"""``copydesk variant``: hand-written drafts, edits, history and retirement."""

from __future__ import annotations

import typer
from rich.markup import escape

from copydesk.cli.common import ACT_AS_HELP, console, open_desk
from copydesk.cli.display import print_revision, print_variant, revision_diff

variants = typer.Typer(help="Variants: drafts of a message for a brief, and their revisions.", no_args_is_help=True)

_FIELD_HELP = (
    "Message field (email: subject, preheader, body, cta; sms: text; push: title, body; "
    "web: headline, body, cta; ad: headline, description)."
)


def _fields(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


@variants.command("add")
def add(
    brief_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    subject: str = typer.Option(None, help=_FIELD_HELP),
    preheader: str = typer.Option(None),
    body: str = typer.Option(None),
    cta: str = typer.Option(None),
    text: str = typer.Option(None),
    title: str = typer.Option(None),
    headline: str = typer.Option(None),
    description: str = typer.Option(None),
) -> None:
    """Add a hand-written draft for a brief; guardrails check it at once."""
    fields = _fields(subject=subject, preheader=preheader, body=body, cta=cta, text=text,
                     title=title, headline=headline, description=description)
    variant = open_desk().add_variant(brief_id, fields, actor=as_)
    print_variant(variant)


@variants.command("edit")
def edit(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    revision: int = typer.Option(None, help="The revision you edited (refused if it is no longer current)."),
    subject: str = typer.Option(None, help=_FIELD_HELP),
    preheader: str = typer.Option(None),
    body: str = typer.Option(None),
    cta: str = typer.Option(None),
    text: str = typer.Option(None),
    title: str = typer.Option(None),
    headline: str = typer.Option(None),
    description: str = typer.Option(None),
) -> None:
    """Change fields of a variant: a new revision (back to draft; any approval is withdrawn)."""
    fields = _fields(subject=subject, preheader=preheader, body=body, cta=cta, text=text,
                     title=title, headline=headline, description=description)
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
        console.print(f"  approved by {variant.approved_by} at {variant.approved_at:%Y-%m-%d %H:%M} "
                      f"· hash {variant.approved_hash[:12]} · review by {variant.review_by}")
    prov = variant.current.provenance
    if prov:
        console.print("  provenance: " + escape(", ".join(f"{k}={v}" for k, v in prov.items() if k != "prompt")))
    if history:
        revs = desk.revisions(variant_id)
        for old, new in zip(revs, revs[1:], strict=False):
            console.print(escape(revision_diff(old, new)))
        for rev in revs[:-1]:
            console.print(f"[dim]revision {rev.number} by {rev.author} ({rev.content_hash[:12]})[/]")
            print_revision(rev)
        for r in desk.reviews(variant_id):
            console.print(f"  {r.at:%Y-%m-%d %H:%M} {r.decision} revision {r.revision} by {r.reviewer}: "
                          f"{escape(r.comment)}")


@variants.command("retire")
def retire(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    reason: str = typer.Option("", help="Why it is retired."),
) -> None:
    """Retire an approved variant: it is never sent or exported again."""
    variant = open_desk().retire(variant_id, actor=as_, reason=reason)
    console.print(f"{variant.id} retired")


def register(app: typer.Typer) -> None:
    """Add the ``variant`` command group."""
    app.add_typer(variants, name="variant")
