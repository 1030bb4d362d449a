"""``copydesk review``: submit, approve, reject, waive and the review queue."""

from __future__ import annotations

from datetime import date

import typer

from copydesk.cli.common import ACT_AS_HELP, console, open_desk
from copydesk.cli.display import lit, print_variant
from copydesk.errors import InputError

review = typer.Typer(help="The review workflow (four eyes per revision).", no_args_is_help=True)

REVIEW_BY_HELP = ("Re-review date (YYYY-MM-DD); default: today + review_days; at most max_review_days ahead "
                  "(copydesk.yaml).")
REVISION_HELP = "The revision you reviewed; refused if the variant changed since (optimistic concurrency)."


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"'{value}' is not a date (use YYYY-MM-DD)", field="review-by") from None


@review.command("queue")
def queue() -> None:
    """Variants waiting for review, with their findings."""
    items = open_desk().list_variants(status="in_review")
    if not items:
        console.print("nothing waiting for review")
    for v in items:
        print_variant(v)


@review.command("submit")
def submit(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    revision: int = typer.Option(None, help=REVISION_HELP),
) -> None:
    """Submit a draft for review (refused while it has open block findings)."""
    v = open_desk().submit(variant_id, actor=as_, expected_revision=revision)
    console.print(f"{lit(v.id)} revision {v.current.number} submitted for review")


@review.command("approve")
def approve(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    comment: str = typer.Option("", help="Why it is fine."),
    review_by: str = typer.Option(None, "--review-by", help=REVIEW_BY_HELP),
    revision: int = typer.Option(None, help=REVISION_HELP),
    hash_: str = typer.Option(None, "--hash", help="Content hash (or prefix) of the text you reviewed."),
) -> None:
    """Approve the current revision, bound to its content hash. Not by its author or editors."""
    v = open_desk().approve(variant_id, actor=as_, comment=comment, review_by=_date(review_by),
                            expected_revision=revision, expected_hash=hash_)
    console.print(f"{lit(v.id)} revision {v.approved_revision} approved by {lit(v.approved_by)} "
                  f"(hash {lit(v.approved_hash[:12] if v.approved_hash else '')}, review by {v.review_by})")


@review.command("reject")
def reject(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    comment: str = typer.Option(..., help="Why (required)."),
    revision: int = typer.Option(None, help=REVISION_HELP),
) -> None:
    """Reject the current revision with a comment."""
    v = open_desk().reject(variant_id, actor=as_, comment=comment, expected_revision=revision)
    console.print(f"{lit(v.id)} revision {v.current.number} rejected")


@review.command("waive")
def waive(
    variant_id: str,
    rule: str = typer.Option(..., "--rule", help="Rule id of the block finding."),
    reason: str = typer.Option(..., help="Why it is a false positive (required, audited)."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    field: str = typer.Option(None, help="Only the finding on this field."),
    revision: int = typer.Option(None, help=REVISION_HELP),
) -> None:
    """Waive a block finding on the current revision as a false positive."""
    v = open_desk().waive(variant_id, rule, actor=as_, reason=reason, field=field, expected_revision=revision)
    console.print(f"waived {lit(rule)} on {lit(v.id)} revision {v.current.number}")


def register(app: typer.Typer) -> None:
    """Add the ``review`` command group."""
    app.add_typer(review, name="review")
