"""Write a :class:`CampaignReport` as plain text, JSON or CSV.

Every format carries the trust checks: the sample-ratio banner and the peeking
warning first, the minimum-count rule, the MDE of each comparison, the head-to-head
comparisons with their Holm-adjusted p-values, and the winsorising cap.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from copydesk.errors import UsageError
from copydesk.measure.allocation import allocation_lines, allocation_rows
from copydesk.measure.checks import SrmCheck
from copydesk.measure.comparisons import Comparison, Power, Proportion, p_text
from copydesk.measure.outcomes import Event
from copydesk.measure.pairs import Pair
from copydesk.measure.report import CampaignReport, Group

FORMATS = ("text", "json", "csv")
NA = "n/a"


def _pct(value: float | None) -> str:
    return NA if value is None else f"{value * 100:.2f}%"


def _rate(rate: Proportion) -> str:
    if rate.rate is None or rate.lower is None or rate.upper is None:
        return rate.note or NA
    return f"{_pct(rate.rate)} [{_pct(rate.lower)}, {_pct(rate.upper)}]"


def _primary(report: CampaignReport, group: Group) -> str:
    if report.metric == "revenue":
        value = group.revenue_per_recipient
        if value is None:
            return NA
        raw = group.revenue_per_recipient_raw
        return f"{value:.2f}" + ("" if raw is None else f" (raw {raw:.2f})")
    return _rate(group.rates[report.metric])


def _interval(report: CampaignReport, comparison: Comparison) -> str:
    if report.metric == "revenue":
        return f"{comparison.estimate:+.2f} [{comparison.lower:+.2f}, {comparison.upper:+.2f}]"
    return f"{comparison.estimate * 100:+.2f} pts [{comparison.lower * 100:+.2f}, {comparison.upper * 100:+.2f}]"


def _lift(report: CampaignReport, group: Group) -> str:
    if group.lift is None:
        return NA if group.lift_note or group.holdout_recipients == 0 else "-"
    text = _interval(report, group.lift)
    if report.metric == "revenue" and group.revenue_lift_raw is not None:
        text += f" (raw {group.revenue_lift_raw.estimate:+.2f})"
    return text


def _relative(group: Group) -> str:
    comparison = group.relative_lift
    if comparison is None:
        return NA if group.relative_lift_note else "-"
    return f"{comparison.estimate * 100:+.0f}% [{comparison.lower * 100:+.0f}%, {comparison.upper * 100:+.0f}%]"


def _mde(report: CampaignReport, found: Power | None) -> str:
    if found is None:
        return "-"
    if found.mde is None:
        return NA
    if report.metric == "revenue":
        return f"{found.mde:.2f}"
    return f"{found.mde * 100:.2f} pts"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _pair_difference(report: CampaignReport, pair: Pair) -> str:
    return NA if pair.difference is None else _interval(report, pair.difference)


def _banner(report: CampaignReport) -> list[str]:
    if not report.warnings:
        return []
    rule = "!" * 78
    return [rule, *[f"!! {warning}" for warning in report.warnings], rule, ""]


def _checks_lines(report: CampaignReport) -> list[str]:
    found = report.checks
    lines = ["", f"Checks (sample ratio: mismatch below p = {found.srm_alpha:g}):"]
    lines += [f"  - {check.summary}" for check in found.srm]
    lines += [f"  - not checked: {reason}" for reason in found.srm_not_checked]
    lines.append(f"  - minimum counts: {found.minimum.rule}")
    if found.winsorizing is not None:
        lines.append(f"  - {found.winsorizing.note}")
    lines.append(f"  - timing: {found.peeking.note}")
    return lines


def to_text(report: CampaignReport) -> str:
    """A plain-text report: warnings first, one row per group, head-to-head comparisons,
    plain sentences, checks, flags and notes."""
    holdout = report.holdout
    lines = [
        f"Results for campaign {report.campaign_id} "
        f"(primary metric: {report.metric}; {report.confidence:.0%} intervals)",
        "",
        *_banner(report),
        f"holdout: {holdout.recipients} recipients; {report.metric} {_primary(report, holdout)}; "
        f"unsubscribed {_rate(holdout.rates['unsubscribed'])}; "
        f"complained {_rate(holdout.rates['complained'])}",
        f"Minimum for a verdict: {report.checks.minimum.rule}.",
        "",
    ]
    header = ["scope", "key", "n", "holdout n", report.metric, "lift vs holdout", "relative lift",
              "MDE (80% power)", "unsubscribed", "complained", "verdict"]
    rows = [header]
    for group in report.groups:
        rows.append(
            [
                group.scope.value,
                group.key,
                str(group.recipients),
                str(group.holdout_recipients),
                _primary(report, group),
                _lift(report, group),
                _relative(group),
                _mde(report, group.power),
                _pct(group.rates["unsubscribed"].rate),
                _pct(group.rates["complained"].rate),
                group.verdict.value + (" + HARM" if group.harm else ""),
            ]
        )
    lines += _table(rows)
    na = [(group, note) for group in report.groups
          for note in (group.lift_note, group.relative_lift_note, group.revenue_lift_note) if note]
    if na:
        lines += ["", "n/a above:"] + [f"  - {group.scope.value} {group.key}: {note}" for group, note in na]
    lines += ["", "In words:"] + [f"  - {group.summary}" for group in report.groups]
    if report.pairs:
        lines += ["", f"Variants head to head, within each rule (Holm-adjusted p over "
                      f"{report.checks.tests.head_to_head} test(s); intervals unadjusted):"]
        pair_rows = [["rule", "comparison", "n", "difference", "p", "Holm p", "verdict"]]
        for pair in report.pairs:
            pair_rows.append([pair.rule, f"{pair.first} vs {pair.second}", f"{pair.n_first} vs {pair.n_second}",
                              _pair_difference(report, pair), p_text(pair.p_value), p_text(pair.p_holm),
                              pair.verdict.value])
        lines += ["  " + line for line in _table(pair_rows)]
        lines += [f"  - {pair.summary}" for pair in report.pairs]
    lines += _checks_lines(report)
    flagged = report.flagged()
    if flagged:
        lines += ["", "Flagged for review:"]
        lines += [
            f"  - {group.scope.value} {group.key}: {group.verdict.value}"
            + ("; " + "; ".join(group.harm_reasons) if group.harm else "")
            for group in flagged
        ]
    if report.allocation is not None:
        lines += ["", f"Allocation over time ({report.allocation.method}; weight (successes/trials)):"]
        lines += [f"  {line}" for line in allocation_lines(report.allocation)]
        lines += [f"  - {note}" for note in report.allocation.notes]
    lines += ["", "Notes:"] + [f"  - {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def to_json(report: CampaignReport) -> str:
    """The full report as JSON (every interval, sample size, method, check and test)."""
    return report.model_dump_json(indent=2) + "\n"


# -- CSV ----------------------------------------------------------------------------------


def _bounds(prefix: str, comparison: Comparison | None) -> dict[str, Any]:
    if comparison is None:
        return {prefix: "", f"{prefix}_lower": "", f"{prefix}_upper": ""}
    return {prefix: comparison.estimate, f"{prefix}_lower": comparison.lower, f"{prefix}_upper": comparison.upper}


def _blank(value: float | None) -> Any:
    return "" if value is None else value


def _base_row(report: CampaignReport, scope: str, key: str, baseline: str) -> dict[str, Any]:
    return {"campaign_id": report.campaign_id, "metric": report.metric, "scope": scope, "key": key,
            "baseline": baseline}


def _group_row(report: CampaignReport, group: Group) -> dict[str, Any]:
    row = _base_row(report, group.scope.value, group.key, group.baseline)
    row["recipients"] = group.recipients
    row["baseline_recipients"] = group.holdout_recipients
    for event in Event:
        rate = group.rates[event.value]
        # recipients with the event and their rate side by side: count / recipients == rate
        row[f"{event.value}_recipients"] = rate.count
        row[f"{event.value}_rate"] = _blank(rate.rate)
        row[f"{event.value}_rate_lower"] = _blank(rate.lower)
        row[f"{event.value}_rate_upper"] = _blank(rate.upper)
    row["revenue_per_recipient"] = _blank(group.revenue_per_recipient)
    row["revenue_per_recipient_raw"] = _blank(group.revenue_per_recipient_raw)
    lift = group.lift
    row.update(_bounds("lift", lift))
    row["lift_method"] = "" if lift is None else lift.method
    row["lift_df"] = "" if lift is None or lift.df is None else lift.df
    row["lift_p_value"] = "" if lift is None else _blank(lift.p_value)
    row["lift_note"] = group.lift_note
    row.update(_bounds("relative_lift", group.relative_lift))
    row["relative_lift_note"] = group.relative_lift_note
    row.update(_bounds("revenue_lift", group.revenue_lift))
    row["revenue_lift_df"] = "" if group.revenue_lift is None else _blank(group.revenue_lift.df)
    row.update(_bounds("revenue_lift_raw", group.revenue_lift_raw))
    for harm_event in ("unsubscribed", "complained"):
        row.update(_bounds(f"{harm_event}_lift", group.harm_lifts.get(harm_event)))
    found = group.power
    row["mde"] = "" if found is None else _blank(found.mde)
    row["mde_relative"] = "" if found is None else _blank(found.relative)
    row["verdict"] = group.verdict.value
    row["verdict_reason"] = group.verdict_reason
    row["harm"] = int(group.harm)
    return row


def _pair_row(report: CampaignReport, pair: Pair) -> dict[str, Any]:
    row = _base_row(report, "head-to-head", f"{pair.first} vs {pair.second}", pair.second)
    row.update({"rule": pair.rule, "recipients": pair.n_first, "baseline_recipients": pair.n_second})
    row.update(_bounds("lift", pair.difference))
    row["lift_method"] = "" if pair.difference is None else pair.difference.method
    row["lift_df"] = "" if pair.difference is None else _blank(pair.difference.df)
    row["lift_p_value"] = _blank(pair.p_value)
    row["lift_p_holm"] = _blank(pair.p_holm)
    row["lift_note"] = pair.difference_note
    row["verdict"] = pair.verdict.value
    row["verdict_reason"] = pair.verdict_reason
    return row


def _srm_row(report: CampaignReport, check: SrmCheck) -> dict[str, Any]:
    row = _base_row(report, "srm", check.check, "configured shares")
    row.update({
        "recipients": sum(check.observed.values()),
        "srm_observed": "; ".join(f"{k}={v}" for k, v in check.observed.items()),
        "srm_expected_share": "; ".join(f"{k}={v:g}" for k, v in check.expected_share.items()),
        "srm_chi2": _blank(check.statistic),
        "srm_df": _blank(check.df),
        "srm_p_value": _blank(check.p_value),
        "verdict": "mismatch" if check.mismatch else "ok",
        "verdict_reason": check.summary,
    })
    return row


def _events_row(report: CampaignReport, group: Group) -> dict[str, Any]:
    # events, not recipients: a contact who bought twice counts twice; never divide by recipients
    return {f"{event.value}_events_total": group.events[event.value] for event in Event}


def to_csv(report: CampaignReport) -> str:
    """One CSV row per group (holdout first), per head-to-head pair, per sample-ratio
    check and per learning rule's variant and send day (``scope`` tells them apart).
    Counts of recipients sit beside their rates; total events (repeats included) are
    separate ``*_events_total`` columns at the end.
    Report-wide checks (mismatch, early look, winsorising cap) are on every row."""
    rows: list[dict[str, Any]] = []
    for group in [report.holdout, *report.groups]:
        rows.append({**_group_row(report, group), **_events_row(report, group)})
    rows += [_pair_row(report, pair) for pair in report.pairs]
    rows += [_srm_row(report, check) for check in report.checks.srm]
    if report.allocation is not None:
        rows += [{"scope": "allocation", **{f"allocation_{k}": v for k, v in row.items()}}
                 for row in allocation_rows(report.allocation)]
    fields: list[str] = []
    for row in rows:
        fields += [name for name in row if name not in fields]
    # the events columns last, whatever order the rows introduced them in
    events = [name for name in fields if name.endswith("_events_total")]
    fields = [name for name in fields if name not in events] + events
    found = report.checks
    shared = {
        "sample_ratio_mismatch": int(found.mismatch),
        "early_look": int(found.peeking.early),
        "ends_at": "" if found.peeking.ends_at is None else found.peeking.ends_at.isoformat(),
        "winsorize_percentile": "" if found.winsorizing is None else found.winsorizing.percentile,
        "winsorize_cap": "" if found.winsorizing is None else _blank(found.winsorizing.cap),
        "min_recipients_per_group": found.minimum.recipients,
        "min_events_together": found.minimum.events,
    }
    fields += list(shared)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, **shared} for row in rows)
    return out.getvalue()


def render(report: CampaignReport, fmt: str) -> str:
    """The report in ``fmt``: ``text``, ``json`` or ``csv``."""
    if fmt == "text":
        return to_text(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    raise UsageError(f"unknown format '{fmt}'; use {', '.join(FORMATS)}")
