"""``copydesk outcomes import`` and ``copydesk report``: measure campaigns against the holdout."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk
from copydesk.cli.display import lit
from copydesk.errors import InputError, UsageError
from copydesk.inputs import printable


def import_command(
    file: Annotated[
        Path,
        typer.Argument(help="CSV with a header, or JSON Lines: contact_id, campaign_id, event, at, value."),
    ],
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejected rows (file, line, field, reason) here."),
    ] = None,
    max_value: Annotated[
        float,
        typer.Option(
            "--max-value",
            min=0.0,
            help="Largest revenue (value) one conversion may have; larger values are rejected as typos.",
        ),
    ] = 1_000_000.0,
    as_: Annotated[str, typer.Option("--as", help=ACT_AS_HELP)] = "",
) -> None:
    """Import outcome records. Good rows are stored even when some are rejected (the
    command then exits 1); importing the same file again counts nothing twice.

    Rows that cannot be true are rejected: an outcome dated before the contact's send,
    negative revenue or revenue above --max-value, and delivered, opened or clicked for
    a holdout contact (who was sent nothing; their conversions are the baseline)."""
    from copydesk.measure.outcomes import write_rejects

    if not as_:
        raise UsageError("say who imports: --as USER (a marketer or admin)")
    if not math.isfinite(max_value):
        raise UsageError("--max-value must be a finite number")
    result = open_desk().import_outcomes(file, actor=as_, max_value=max_value)
    console.print(
        f"{lit(result.source)}: {result.read} rows read, {result.imported} imported, "
        f"{result.duplicates} already present, {len(result.rejects)} rejected"
    )
    if not result.rejects:
        return
    if rejects is not None:
        write_rejects(result.rejects, rejects)
        where = f"written to {rejects}"
    else:
        for reject in result.rejects:
            console_err.print(f"rejected: {lit(reject)}")
        where = "listed above"
    raise InputError(
        f"{len(result.rejects)} row(s) rejected ({where}); the other rows were imported",
        source=result.source,
    )


def report_command(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id, as in the send records.")],
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            help="converted or revenue; default: the campaign file's `metric`, else converted.",
        ),
    ] = "",
    fmt: Annotated[str, typer.Option("--format", help="text, json or csv.")] = "text",
    winsorize: Annotated[
        float | None,
        typer.Option(
            "--winsorize",
            help="Cap each recipient's revenue at this percentile (50 to below 100, e.g. 99) of the revenue of "
            "recipients with revenue; raw figures are shown beside.",
        ),
    ] = None,
) -> None:
    """Results of a campaign against its holdout: rates, lift with 95% intervals,
    unsubscribes and complaints next to every lift, and a plain verdict.

    Trust checks come first: a sample-ratio-mismatch banner (holdout share and variant
    splits against the campaign file; verdicts withheld below p = 0.001), a warning
    when read before the campaign's ends_at, the minimum counts for a verdict, the
    minimum detectable effect (80% power) of every comparison, and variants compared
    head to head within each rule with Holm-adjusted p-values."""
    from copydesk.measure.formats import render
    from copydesk.services import campaigns

    text = render(campaigns.report(open_desk(), campaign_id, metric=metric, winsorize=winsorize), fmt)
    console.file.write(printable(text))
    console.file.flush()


def register(app: typer.Typer) -> None:
    """Add the ``outcomes import`` group and the ``report`` command to ``app``."""
    outcomes_app = typer.Typer(
        help="Import outcomes: delivered, opened, clicked, converted, unsubscribed, complained.",
        no_args_is_help=True,
    )
    outcomes_app.command("import")(import_command)
    app.add_typer(outcomes_app, name="outcomes")
    app.command("report")(report_command)
