"""How the Campaigns page shows what :mod:`copydesk.services.campaigns` returns: trace
rows, dry-run chart rows, and the sandboxed frame for a rendered e-mail."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd

from copydesk.errors import InputError
from copydesk.measure.outcomes import ImportResult
from copydesk.measure.outcomes import Reject as OutcomeReject
from copydesk.render.pipeline import Summary
from copydesk.rules.decide import Decision
from copydesk.rules.explain import step_text
from copydesk.services.campaigns import SendsRecorded
from copydesk.ui.highlight import md_escape


def trace_rows(decision: Decision) -> list[dict[str, Any]]:
    """The decision's trace as table rows, indented by depth."""
    return [{"": "✓" if s.result else "✗", "step": s.stage, "check": "    " * s.depth + step_text(s)}
            for s in decision.trace]


#: The dry run's outcomes, in funnel order, each with its own colour (no two alike,
#: and "rendered" apart from "no eligible variant": the walk-through could not tell them apart).
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("rendered", "#2e7d32"),
    ("held out", "#1565c0"),
    ("suppressed", "#ef6c00"),
    ("frequency-capped", "#6a1b9a"),
    ("no eligible variant", "#9e9e9e"),
    ("rejected", "#c62828"),
)


def outcome_counts(summary: Summary) -> list[tuple[str, int]]:
    """Contacts per outcome in funnel order; every contact of the audience is in exactly
    one, so the counts add up to ``summary.total``."""
    values = {
        "rendered": summary.rendered,
        "held out": summary.held_out,
        "suppressed": sum(summary.suppressed.values()),
        "frequency-capped": summary.capped,
        "no eligible variant": summary.no_variant,
        "rejected": summary.rejected,
    }
    return [(label, values[label]) for label, _ in OUTCOMES]


def counts_sentence(summary: Summary) -> str:
    """``rendered 5 + held out 0 + ... = 40 contacts`` (and a warning when they do not add up)."""
    counts = outcome_counts(summary)
    added = sum(n for _, n in counts)
    text = " + ".join(f"{label} {n:,}" for label, n in counts) + f" = {summary.total:,} contacts"
    if added != summary.total:
        text += f" (the outcomes add up to {added:,}: please report this)"
    return text


def outcome_rows(summary: Summary) -> list[dict[str, Any]]:
    """Contacts per outcome and reason, for the dry-run chart (full reasons, no outcome left out
    when it has contacts)."""
    rows: list[dict[str, Any]] = [{"outcome": "rendered", "reason": f"variant {vid}", "contacts": n}
                                  for vid, n in sorted(summary.variants.items())]
    rows += [{"outcome": "suppressed", "reason": reason, "contacts": n}
             for reason, n in sorted(summary.suppressed.items())]
    for outcome, reason, n in (("held out", "holdout", summary.held_out),
                               ("frequency-capped", "frequency-cap", summary.capped),
                               ("no eligible variant", "no-eligible-variant",
                                summary.no_variant),
                               ("rejected", "unreadable or unrenderable row", summary.rejected)):
        if n:
            rows.append({"outcome": outcome, "reason": reason, "contacts": n})
    return rows


def outcome_chart(summary: Summary) -> alt.Chart | None:
    """Horizontal bars per outcome and reason, in funnel order, coloured by outcome from
    :data:`OUTCOMES` with a legend; labels are never cut short. ``None`` for no contacts."""
    rows = outcome_rows(summary)
    if not rows:
        return None
    domain = [label for label, _ in OUTCOMES]
    colours = [colour for _, colour in OUTCOMES]
    order = [r["reason"] for r in sorted(rows, key=lambda r: domain.index(r["outcome"]))]
    chart: alt.Chart = alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X("contacts:Q", title="contacts"),
        y=alt.Y("reason:N", sort=order, title=None, axis=alt.Axis(labelLimit=0)),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=domain, range=colours),
                        legend=alt.Legend(title="outcome", orient="bottom", labelLimit=0)),
        tooltip=["outcome", "reason", "contacts"],
    ).properties(height=alt.Step(32))  # a fixed band per row, however the page sizes the chart
    return chart


def sandboxed_frame(document: str, *, height: int = 600) -> str:
    """A wrapper page holding ``document`` in an ``<iframe sandbox>``: the rendered email
    is shown as it will look, but no script in it runs and it cannot reach the app."""
    return (
        '<!doctype html><html><body style="margin:0">'
        f'<iframe sandbox="" title="rendered message" style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe></body></html>'
    )


def inbox_header(rendered: Mapping[str, str]) -> str | None:
    """Markdown for an inbox line above a rendered e-mail: the subject in bold and the
    preheader (preview text) after it, as a mail client lists the message; ``None``
    when the message has no subject (not an e-mail)."""
    subject = rendered.get("subject")
    if subject is None:
        return None
    preheader = rendered.get("preheader") or ""
    line = f"**Subject:** {md_escape(subject) or '(empty)'}"
    line += f"  \n**Preheader:** :gray[{md_escape(preheader)}]" if preheader else "  \n**Preheader:** (none)"
    return line


def problem_rows(problems: Iterable[InputError]) -> list[dict[str, Any]]:
    """One table row per problem: line, field and what is wrong (no server paths)."""
    return [{"line": p.line if p.line is not None else "", "field": p.field or "", "problem": p.reason}
            for p in problems]


def reject_rows(rejects: Iterable[OutcomeReject]) -> list[dict[str, Any]]:
    """One table row per outcome row that was not imported."""
    return [{"line": r.line, "field": r.field or "", "problem": r.reason} for r in rejects]


def sends_sentence(done: SendsRecorded) -> str:
    """What recording a messages file did, in words."""
    return (f"{done.added:,} new send(s) recorded; {done.already:,} already recorded; "
            f"{done.skipped:,} row(s) were not sends (suppressed, capped or no variant).")


def outcomes_sentence(result: ImportResult) -> str:
    """What importing an outcomes file did, in words."""
    return (f"{result.imported:,} outcome(s) imported of {result.read:,} row(s) read; "
            f"{result.duplicates:,} already imported; {len(result.rejects):,} rejected.")
