"""The campaign results report: did personalization beat the holdout?

The unit is the recipient (:mod:`copydesk.measure.recipients`). Every lift compares a
group of treated recipients with holdout recipients and carries its interval, the
sample sizes it rests on, the minimum effect it could have detected, and the
unsubscribe and complaint rates next to it. Variants of one rule are also compared
with each other (:mod:`copydesk.measure.pairs`).

Verdicts are deliberately plain and guarded by trust checks
(:mod:`copydesk.measure.checks`): ``withheld`` when the sample ratio does not match
the campaign file; ``not enough data`` below the minimum counts or while the interval
for the primary metric includes zero; then ``wins`` or ``loses``. A ``harm`` flag is
raised when the unsubscribe or complaint rate is significantly higher than the
holdout's, whatever the primary metric says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import sqlite_utils
from pydantic import BaseModel

from copydesk import clock
from copydesk.errors import UsageError
from copydesk.measure import checks, stats
from copydesk.measure.allocation import AllocationHistory
from copydesk.measure.comparisons import (
    Comparison,
    MinimumCounts,
    Power,
    Proportion,
    Verdict,
    difference,
    minimum_counts,
    power,
    proportion,
    relative,
    revenue_difference,
    shortfall,
)
from copydesk.measure.design import Design
from copydesk.measure.outcomes import FUNNEL, Event
from copydesk.measure.pairs import Pair, head_to_head, tested
from copydesk.measure.recipients import Recipient, load_recipients, revenues, split_by, tally

#: Metrics a campaign may be judged on. Holdout contacts got no message, so
#: delivered/opened/clicked cannot be compared with them; opens never pick a winner.
PRIMARY_METRICS = ("converted", "revenue")
DEFAULT_METRIC = "converted"
HARM_EVENTS = (Event.UNSUBSCRIBED, Event.COMPLAINED)


class Scope(StrEnum):
    """What a report row groups recipients by."""

    HOLDOUT = "holdout"
    CAMPAIGN = "campaign"
    VARIANT = "variant"
    RULE = "rule"
    STAGE = "stage"


class Group(BaseModel):
    """One row of the report: a group of recipients compared with a baseline.

    ``events`` counts events (a contact who bought twice counts twice); ``rates`` count
    recipients. With winsorising, the revenue figures are capped and the ``_raw``
    fields hold the uncapped ones."""

    scope: Scope
    key: str
    baseline: str
    recipients: int
    holdout_recipients: int
    events: dict[str, int]
    rates: dict[str, Proportion]
    revenue_per_recipient: float | None = None
    revenue_per_recipient_raw: float | None = None
    lift: Comparison | None = None
    lift_note: str = ""
    relative_lift: Comparison | None = None
    relative_lift_note: str = ""
    revenue_lift: Comparison | None = None
    revenue_lift_raw: Comparison | None = None
    revenue_lift_note: str = ""
    harm_lifts: dict[str, Comparison] = {}
    power: Power | None = None
    verdict: Verdict
    verdict_reason: str = ""
    harm: bool = False
    harm_reasons: list[str] = []
    summary: str = ""

    @property
    def flagged(self) -> bool:
        """Needs review: it loses on the primary metric or drives people away."""
        return self.verdict is Verdict.LOSES or self.harm


class TrendPoint(BaseModel):
    """One day of one arm: the primary metric that day and cumulatively."""

    day: str
    arm: str
    value: float
    cumulative: float
    recipients: int
    cumulative_per_recipient: float


class CampaignReport(BaseModel):
    """Results of one campaign against its holdout, with its trust checks."""

    campaign_id: str
    metric: str
    confidence: float
    holdout: Group
    groups: list[Group]
    pairs: list[Pair] = []
    checks: checks.Checks
    warnings: list[str] = []
    trend: list[TrendPoint]
    notes: list[str]
    #: learning rules' weights per send day (``allocate: thompson``); ``None``: no rule learns
    allocation: AllocationHistory | None = None

    def flagged(self) -> list[Group]:
        """Rows that lose or harm, for review."""
        return [group for group in self.groups if group.flagged]


# -- one row ----------------------------------------------------------------------------


class _Context:
    """What every row of one report shares, and the distinct tests it has made."""

    def __init__(self, metric: str, confidence: float, with_revenue: bool, cap: float | None, withheld: str | None):
        self.metric = metric
        self.confidence = confidence
        self.with_revenue = with_revenue
        self.cap = cap
        self.withheld = withheld
        self.tests: dict[tuple[frozenset[str], frozenset[str]], set[str]] = defaultdict(set)

    def count(self, treated: Sequence[Recipient], base: Sequence[Recipient], tests: set[str]) -> None:
        # the same recipients against the same baseline is the same test, whichever rows show it
        if tests:
            key = (frozenset(r.contact_id for r in treated), frozenset(r.contact_id for r in base))
            self.tests[key] |= tests

    def tally(self) -> tuple[int, int]:
        primary = sum(1 for tests in self.tests.values() if "primary" in tests)
        harm = sum(len(tests - {"primary"}) for tests in self.tests.values())
        return primary, harm


def _revenue_per_recipient(members: Sequence[Recipient], cap: float | None) -> float | None:
    return sum(revenues(members, cap)) / len(members) if members else None


def _group(
    scope: Scope, key: str, treated: list[Recipient], holdout: list[Recipient], baseline: str, ctx: _Context
) -> Group:
    metric, confidence = ctx.metric, ctx.confidence
    if scope is Scope.HOLDOUT:
        holdout = []  # the baseline row is not compared with itself
    events, having = tally(treated)
    group = Group(
        scope=scope,
        key=key,
        baseline=baseline,
        recipients=len(treated),
        holdout_recipients=len(treated) if scope is Scope.HOLDOUT else len(holdout),
        events={e.value: events.get(e.value, 0) for e in Event},
        rates={e.value: proportion(having.get(e.value, 0), len(treated), confidence) for e in Event},
        verdict=Verdict.BASELINE,
    )
    tests: set[str] = set()
    if ctx.with_revenue:
        group.revenue_per_recipient = _revenue_per_recipient(treated, ctx.cap)
        group.revenue_lift, group.revenue_lift_note = revenue_difference(treated, holdout, confidence, ctx.cap)
        if ctx.cap is not None:
            group.revenue_per_recipient_raw = _revenue_per_recipient(treated, None)
            group.revenue_lift_raw, _ = revenue_difference(treated, holdout, confidence)
    if metric == "revenue":
        group.lift, group.lift_note = group.revenue_lift, group.revenue_lift_note
    else:
        group.lift = difference(treated, holdout, metric, confidence)
        group.relative_lift, group.relative_lift_note = relative(treated, holdout, metric, confidence, baseline)
    if group.lift is not None:
        tests.add("primary")
    for event in HARM_EVENTS:
        comparison = difference(treated, holdout, event, confidence)
        if comparison is None:
            continue
        tests.add(event.value)
        group.harm_lifts[event.value] = comparison
        if comparison.lower > 0:
            group.harm_reasons.append(f"{event.value} rate is significantly higher than the holdout's")
    group.harm = bool(group.harm_reasons)
    ctx.count(treated, holdout, tests)
    if scope is not Scope.HOLDOUT:
        group.power = power(metric, treated, holdout, ctx.cap)
        group.verdict, group.verdict_reason = _verdict(group, treated, holdout, ctx)
    group.summary = _summary(group, metric, confidence)
    return group


def _verdict(group: Group, treated: list[Recipient], holdout: list[Recipient], ctx: _Context) -> tuple[Verdict, str]:
    lift = group.lift
    if not holdout:
        return Verdict.NOT_ENOUGH_DATA, f"no holdout recipients ({group.baseline}) to compare with"
    if lift is None:
        return Verdict.NOT_ENOUGH_DATA, group.lift_note or "no comparison possible"
    if ctx.withheld:
        return Verdict.WITHHELD, ctx.withheld
    short = shortfall(ctx.metric, [(group.key, treated), ("holdout", holdout)])
    if short:
        return Verdict.NOT_ENOUGH_DATA, short
    if lift.lower > 0:
        return Verdict.WINS, f"the {ctx.confidence:.0%} interval lies above zero"
    if lift.upper < 0:
        return Verdict.LOSES, f"the {ctx.confidence:.0%} interval lies below zero"
    return Verdict.NOT_ENOUGH_DATA, "the interval includes zero"


def _pts(comparison: Comparison, confidence: float) -> str:
    return (f"{comparison.estimate * 100:+.2f} pts ({confidence:.0%} CI {comparison.lower * 100:+.2f} "
            f"to {comparison.upper * 100:+.2f})")


def _money(comparison: Comparison, confidence: float) -> str:
    return (f"{comparison.estimate:+.2f} per recipient ({confidence:.0%} CI {comparison.lower:+.2f} "
            f"to {comparison.upper:+.2f})")


def _summary(group: Group, metric: str, confidence: float) -> str:
    """One plain sentence a marketer can read without the table."""
    if group.scope is Scope.HOLDOUT:
        return f"baseline: {group.recipients} holdout recipients who were not messaged"
    name = f"{group.scope.value} {group.key}"
    if not group.holdout_recipients:
        text = f"{name}: not enough data: no holdout recipients ({group.baseline}) to compare with"
    elif group.lift is None:
        reason = group.lift_note or "no comparison possible"
        text = f"{name}: not enough data: {group.recipients} recipients vs {group.holdout_recipients} holdout; {reason}"
    else:
        change = _money(group.lift, confidence) if metric == "revenue" else _pts(group.lift, confidence)
        sizes = f"n = {group.lift.n} vs {group.lift.n_holdout} holdout"
        if group.verdict is Verdict.WITHHELD:
            text = f"{name}: verdict withheld ({group.verdict_reason}): {change}, {sizes}"
        elif group.verdict is Verdict.NOT_ENOUGH_DATA:
            text = f"{name}: not enough data on {metric}: {change}, {sizes}; {group.verdict_reason}"
        else:
            text = f"{name} {group.verdict.value} on {metric}: {change}, {sizes}"
    if group.harm:
        text += "; HARM: " + " and ".join(group.harm_reasons) + " - review before reuse"
    return text


def _trend(arms: dict[str, list[Recipient]], metric: str) -> list[TrendPoint]:
    points: list[TrendPoint] = []
    for arm, members in arms.items():
        daily: dict[str, float] = defaultdict(float)
        for recipient in members:
            if metric == "revenue":
                for day, amount in recipient.revenue_by_day.items():
                    daily[day] += amount
            elif metric in recipient.first_at:
                daily[recipient.first_at[metric][:10]] += 1
        cumulative = 0.0
        for day in sorted(daily):
            cumulative += daily[day]
            points.append(
                TrendPoint(
                    day=day,
                    arm=arm,
                    value=daily[day],
                    cumulative=cumulative,
                    recipients=len(members),
                    cumulative_per_recipient=cumulative / len(members),
                )
            )
    return points


# -- the report ---------------------------------------------------------------------------


def _check_winsorize(percentile: float | None) -> None:
    if percentile is not None and not 50.0 <= percentile < 100.0:
        raise UsageError(f"--winsorize takes a percentile from 50 to below 100 (e.g. 99), not {percentile:g}")


def _warnings(found: checks.Checks) -> list[str]:
    out = []
    for check in found.srm:
        if check.mismatch:
            out.append(f"SAMPLE RATIO MISMATCH: {check.summary}")
    if found.mismatch:
        out.append(
            f"The recorded recipients do not follow the campaign file (p < {found.srm_alpha:g}): sends were lost or "
            "duplicated, contacts were recorded twice, or the file was changed mid-campaign. Every comparison is "
            "suspect, so all verdicts are withheld until this is explained. Harm flags are still raised."
        )
    if found.peeking.early:
        out.append(found.peeking.note)
    return out


def build_report(
    campaign_id: str,
    recipients: list[Recipient],
    *,
    metric: str = DEFAULT_METRIC,
    confidence: float = stats.DEFAULT_CONFIDENCE,
    design: Design | None = None,
    now: datetime | None = None,
    winsorize: float | None = None,
) -> CampaignReport:
    """Compare the treated recipients (overall, per variant, per select rule and per
    lifecycle stage) with the holdout, variants of a rule with each other, and run the
    trust checks against ``design`` (the campaign file) at ``now``. ``winsorize`` caps
    revenue at that percentile. Pure: no database access."""
    if metric not in PRIMARY_METRICS:
        raise UsageError(
            f"metric '{metric}' cannot pick a winner: holdout contacts got no message, so only "
            f"{' or '.join(PRIMARY_METRICS)} can be compared with them"
        )
    _check_winsorize(winsorize)
    holdout = [r for r in recipients if r.holdout]
    treated = [r for r in recipients if not r.holdout]
    with_revenue = any(r.revenue_by_day for r in recipients)
    if metric == "revenue" and not with_revenue:
        raise UsageError(f"campaign '{campaign_id}' has no converted outcomes with a value")
    srm, not_checked = checks.sample_ratio(design, recipients)
    mismatch = any(check.mismatch for check in srm)
    capping = checks.winsorizing(recipients, winsorize) if winsorize is not None and with_revenue else None
    cap = capping.cap if capping is not None else None
    withheld = "sample ratio mismatch; see the checks" if mismatch else None
    ctx = _Context(metric, confidence, with_revenue, cap, withheld)

    def make(scope: Scope, key: str, members: list[Recipient], base: list[Recipient], label: str) -> Group:
        return _group(scope, key, members, base, label, ctx)

    holdout_row = make(Scope.HOLDOUT, "holdout", holdout, holdout, "the holdout itself")
    groups = [make(Scope.CAMPAIGN, campaign_id, treated, holdout, "whole holdout")]
    for variant, members in split_by(treated, lambda r: r.variant_id or "(no variant)").items():
        groups.append(make(Scope.VARIANT, variant, members, holdout, "whole holdout"))
    # holdout contacts carry the rule that matched them: a rule's row compares like with like
    holdout_by_rule = split_by(holdout, lambda r: r.rule_id)
    for rule, members in split_by(treated, lambda r: r.rule_id).items():
        if holdout_by_rule:
            groups.append(make(Scope.RULE, rule, members, holdout_by_rule.get(rule, []), f"holdout of rule {rule}"))
        else:
            groups.append(make(Scope.RULE, rule, members, holdout, "whole holdout"))
    holdout_by_stage = split_by(holdout, lambda r: r.stage)
    for stage, members in split_by(treated, lambda r: r.stage).items():
        base = holdout_by_stage.get(stage, [])
        groups.append(make(Scope.STAGE, stage, members, base, f"holdout in stage {stage}"))
    pairs = head_to_head(treated, metric=metric, confidence=confidence, design=design, cap=cap, withheld=withheld)
    primary, harm = ctx.tally()
    found = checks.Checks(
        srm=srm,
        srm_not_checked=not_checked,
        mismatch=mismatch,
        minimum=minimum_counts(metric),
        peeking=checks.peeking(design, now or clock.now()),
        winsorizing=capping,
        tests=checks.TestCount(primary=primary, harm=harm, head_to_head=tested(pairs)),
    )

    arms = {"holdout": holdout} if holdout else {}
    arms.update(split_by(treated, lambda r: r.variant_id or "(no variant)"))
    notes = [
        f"Primary metric: {metric}.",
        checks.tests_note(found.tests, confidence),
        "The MDE column is the smallest true difference each comparison would detect with 80% power "
        "(two-sided alpha 0.05) at the baseline's observed rate and these group sizes; a smaller real "
        "effect is likely to read 'not enough data'.",
        "Variant rows compare with the whole holdout; rule rows with the holdout contacts the same rule "
        "matched (when the sends record it); stage rows with the holdout in the same stage. If variants "
        "target different stages or segments, read the rule and stage rows, which compare like with like.",
        "Holdout contacts received no message, so delivered, opened and clicked are shown "
        "for the funnel only, never compared with the holdout.",
    ]
    if not holdout:
        notes.insert(0, "This campaign has no holdout recipients: no lift can be measured.")
    return CampaignReport(
        campaign_id=campaign_id,
        metric=metric,
        confidence=confidence,
        holdout=holdout_row,
        groups=groups,
        pairs=pairs,
        checks=found,
        warnings=_warnings(found),
        trend=_trend(arms, metric),
        notes=notes,
    )


def campaign_report(
    db: sqlite_utils.Database,
    campaign_id: str,
    *,
    metric: str = DEFAULT_METRIC,
    confidence: float = stats.DEFAULT_CONFIDENCE,
    design: Design | None = None,
    now: datetime | None = None,
    winsorize: float | None = None,
) -> CampaignReport:
    """Load the campaign's send records and outcomes from ``db`` and build its report
    (checked against ``design``, read at ``now``: default the clock's now)."""
    if metric not in PRIMARY_METRICS:
        build_report(campaign_id, [], metric=metric)  # raises the UsageError
    _check_winsorize(winsorize)
    return build_report(
        campaign_id, load_recipients(db, campaign_id), metric=metric, confidence=confidence, design=design,
        now=now or clock.now(), winsorize=winsorize,
    )


__all__ = [
    "FUNNEL",
    "PRIMARY_METRICS",
    "CampaignReport",
    "Comparison",
    "Group",
    "MinimumCounts",
    "Pair",
    "Power",
    "Proportion",
    "Recipient",
    "Scope",
    "TrendPoint",
    "Verdict",
    "build_report",
    "campaign_report",
    "load_recipients",
]
