"""``copydesk review``: submit (with an optional waiver request), approve, reject, waive,
grant a waiver request and the review queue."""

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


def _pairs(findings: list[str], reasons: list[str]) -> dict[str, str]:
    """``--request-waiver`` and ``--reason`` paired in the order given."""
    if not findings:
        if reasons:
            raise InputError("--reason goes with --request-waiver (one reason per requested finding)",
                             field="reason")
        return {}
    if len(reasons) != len(findings):
        raise InputError(
            f"{len(findings)} --request-waiver but {len(reasons)} --reason: give one reason per finding, "
            "each after its --request-waiver", field="reason",
        )
    return dict(zip(findings, reasons, strict=True))


@review.command("queue")
def queue() -> None:
    """Variants waiting for review, with their findings and any waiver request."""
    d = open_desk()
    items = d.list_variants(status="in_review")
    if not items:
        console.print("nothing waiting for review")
    for v in items:
        print_variant(v)
        request = d.waiver_request(v.id)
        if request is not None:
            console.print(f"  waiver request by {lit(request.by)}:")
            for i in request.items:
                console.print(f"    {lit(i.rule_id)} on {lit(i.field)} {lit(repr(i.match))}: {lit(i.reason)}")


@review.command("submit")
def submit(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    revision: int = typer.Option(None, help=REVISION_HELP),
    request_waiver: list[str] = typer.Option(
        [], "--request-waiver", metavar="RULE[@FIELD]",
        help="A block finding you believe is a false positive (its rule id, or rule@field); repeat for "
             "several, each followed by its --reason.",
    ),
    reason: list[str] = typer.Option(
        [], "--reason", metavar="TEXT",
        help="Why the finding before it is a false positive (required with --request-waiver).",
    ),
) -> None:
    """Submit a draft for review. Open block findings refuse it, unless every one is in a
    waiver request (--request-waiver RULE --reason "why") for a reviewer to decide;
    template code and personal data cannot be requested."""
    request = _pairs(request_waiver, reason)
    v = open_desk().submit(variant_id, actor=as_, expected_revision=revision, waiver_request=request or None)
    console.print(f"{lit(v.id)} revision {v.current.number} submitted for review"
                  + (f" with a waiver request for {lit(', '.join(request))}" if request else ""))


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


@review.command("grant")
def grant(
    variant_id: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    reason: str = typer.Option(..., help="Your own reason the requested findings are false positives (audited)."),
    comment: str = typer.Option("", help="Approval comment."),
    review_by: str = typer.Option(None, "--review-by", help=REVIEW_BY_HELP),
    revision: int = typer.Option(None, help=REVISION_HELP),
) -> None:
    """Grant a waiver request: waive the requested findings and approve.

    One step, not by the variant's author or editors. To refuse the request, reject it."""
    v = open_desk().grant_waiver_request(variant_id, actor=as_, reason=reason, comment=comment,
                                         review_by=_date(review_by), expected_revision=revision)
    console.print(f"{lit(v.id)} revision {v.approved_revision}: waiver request granted, approved by "
                  f"{lit(v.approved_by)} (review by {v.review_by})")


def register(app: typer.Typer) -> None:
    """Add the ``review`` command group."""
    app.add_typer(review, name="review")
