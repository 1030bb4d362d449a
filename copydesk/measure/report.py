"""The campaign results report: did personalization beat the holdout?

The unit is the recipient: one contact in one campaign, assigned to the arm of
its first send record (a variant, or the holdout). A rate is the share of
recipients with at least one such event. Every lift compares a group of
treated recipients with holdout recipients and carries its interval, the
sample sizes it rests on, and the unsubscribe and complaint rates next to it.

Verdicts are deliberately plain: ``not enough data`` until the interval for
the campaign's primary metric excludes zero, then ``wins`` or ``loses``. A
``harm`` flag is raised when the unsubscribe or complaint rate is
significantly higher than the holdout's, whatever the primary metric says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import sqlite_utils
from pydantic import BaseModel

from copydesk.errors import NotFoundError, UsageError
from copydesk.measure import stats
from copydesk.measure.outcomes import FUNNEL, SENDS, Event
from copydesk.measure.tables import OUTCOMES

#: Metrics a campaign may be judged on. Holdout contacts got no message, so
#: delivered/opened/clicked cannot be compared with them; opens never pick a winner.
PRIMARY_METRICS = ("converted", "revenue")
DEFAULT_METRIC = "converted"
HARM_EVENTS = (Event.UNSUBSCRIBED, Event.COMPLAINED)


class Verdict(StrEnum):
    """The plain-language outcome of one comparison with the holdout."""

    WINS = "wins"
    LOSES = "loses"
    NOT_ENOUGH_DATA = "not enough data"
    BASELINE = "baseline"


class Scope(StrEnum):
    """What a report row groups recipients by."""

    HOLDOUT = "holdout"
    CAMPAIGN = "campaign"
    VARIANT = "variant"
    RULE = "rule"
    STAGE = "stage"


@dataclass
class Recipient:
    """One contact in one campaign, with its arm and what it did."""

    contact_id: str
    holdout: bool
    variant_id: str | None = None
    rule_id: str | None = None
    stage: str | None = None
    events: dict[str, int] = field(default_factory=dict)
    first_at: dict[str, str] = field(default_factory=dict)
    revenue: float = 0.0
    revenue_by_day: dict[str, float] = field(default_factory=dict)


class Proportion(BaseModel):
    """Recipients with the event, out of ``n``, with the Wilson interval."""

    count: int
    n: int
    rate: float
    lower: float
    upper: float


class Comparison(BaseModel):
    """A difference from the holdout, its interval, method and sample sizes."""

    estimate: float
    lower: float
    upper: float
    n: int
    n_holdout: int
    method: str


class Group(BaseModel):
    """One row of the report: a group of recipients compared with a baseline."""

    scope: Scope
    key: str
    baseline: str
    recipients: int
    holdout_recipients: int
    events: dict[str, int]
    rates: dict[str, Proportion]
    revenue_per_recipient: float | None = None
    lift: Comparison | None = None
    relative_lift: Comparison | None = None
    revenue_lift: Comparison | None = None
    harm_lifts: dict[str, Comparison] = {}
    verdict: Verdict
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
    """Results of one campaign against its holdout."""

    campaign_id: str
    metric: str
    confidence: float
    holdout: Group
    groups: list[Group]
    trend: list[TrendPoint]
    notes: list[str]

    def flagged(self) -> list[Group]:
        """Rows that lose or harm, for review."""
        return [group for group in self.groups if group.flagged]


def load_recipients(db: sqlite_utils.Database, campaign_id: str) -> list[Recipient]:
    """The campaign's recipients (first send per contact) with their outcomes."""
    recipients: dict[str, Recipient] = {}
    rows = db.execute(
        f"SELECT contact_id, holdout, variant_id, rule_id, stage FROM {SENDS} "
        "WHERE campaign_id = ? ORDER BY sent_at, id",
        [campaign_id],
    )
    for contact_id, holdout, variant_id, rule_id, stage in rows:
        if contact_id not in recipients:
            recipients[contact_id] = Recipient(contact_id, bool(holdout), variant_id, rule_id, stage)
    if not recipients:
        raise NotFoundError(f"no send records for campaign '{campaign_id}'")
    if not db.table(OUTCOMES).exists():
        return list(recipients.values())
    grouped = db.execute(
        f"SELECT contact_id, event, COUNT(*), MIN(at), TOTAL(value) FROM {OUTCOMES} "
        "WHERE campaign_id = ? GROUP BY contact_id, event",
        [campaign_id],
    )
    for contact_id, event, count, first_at, total in grouped:
        recipient = recipients.get(contact_id)
        if recipient is None:
            continue
        recipient.events[event] = count
        recipient.first_at[event] = first_at
        if event == Event.CONVERTED:
            recipient.revenue = total
    daily = db.execute(
        f"SELECT contact_id, substr(at, 1, 10), TOTAL(value) FROM {OUTCOMES} "
        "WHERE campaign_id = ? AND event = ? AND value IS NOT NULL GROUP BY 1, 2",
        [campaign_id, Event.CONVERTED.value],
    )
    for contact_id, day, total in daily:
        if contact_id in recipients:
            recipients[contact_id].revenue_by_day[day] = total
    return list(recipients.values())


def _proportion(count: int, n: int, confidence: float) -> Proportion:
    if n == 0:
        return Proportion(count=0, n=0, rate=0.0, lower=0.0, upper=1.0)
    interval = stats.wilson(count, n, confidence=confidence)
    return Proportion(count=count, n=n, rate=interval.estimate, lower=interval.lower, upper=interval.upper)


def _has(recipients: list[Recipient], event: str) -> int:
    return sum(1 for r in recipients if r.events.get(event))


def _event_counts(treated: list[Recipient], holdout: list[Recipient], event: str) -> tuple[int, int, int, int]:
    """Recipients with ``event`` and all recipients, treated then holdout."""
    return _has(treated, event), len(treated), _has(holdout, event), len(holdout)


def _comparison(
    interval: stats.Interval, treated: list[Recipient], holdout: list[Recipient], method: str
) -> Comparison:
    """``interval`` as a report comparison, with the sample sizes it rests on."""
    return Comparison(
        estimate=interval.estimate,
        lower=interval.lower,
        upper=interval.upper,
        n=len(treated),
        n_holdout=len(holdout),
        method=method,
    )


def _difference(treated: list[Recipient], holdout: list[Recipient], event: str, confidence: float) -> Comparison | None:
    if not treated or not holdout:
        return None
    interval = stats.newcombe_difference(*_event_counts(treated, holdout, event), confidence=confidence)
    return _comparison(interval, treated, holdout, "Newcombe hybrid score (method 10)")


def _relative(treated: list[Recipient], holdout: list[Recipient], event: str, confidence: float) -> Comparison | None:
    if not treated or not holdout:
        return None
    interval = stats.relative_lift(*_event_counts(treated, holdout, event), confidence=confidence)
    if interval is None:
        return None
    return _comparison(interval, treated, holdout, "Katz log risk ratio, minus 1")


def _revenue(treated: list[Recipient], holdout: list[Recipient], confidence: float) -> Comparison | None:
    result = stats.welch_difference([r.revenue for r in treated], [r.revenue for r in holdout], confidence=confidence)
    if result is None:
        return None
    return _comparison(result.interval, treated, holdout, f"Welch t, {result.df:.1f} degrees of freedom")


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _pts(comparison: Comparison) -> str:
    return (
        f"{comparison.estimate * 100:+.2f} pts (95% CI {comparison.lower * 100:+.2f} to {comparison.upper * 100:+.2f})"
    )


def _money(comparison: Comparison) -> str:
    return f"{comparison.estimate:+.2f} per recipient (95% CI {comparison.lower:+.2f} to {comparison.upper:+.2f})"


def _group(
    scope: Scope,
    key: str,
    treated: list[Recipient],
    holdout: list[Recipient],
    baseline: str,
    metric: str,
    confidence: float,
    with_revenue: bool,
) -> Group:
    if scope is Scope.HOLDOUT:
        holdout = []  # the baseline row is not compared with itself
    events: dict[str, int] = {e.value: sum(r.events.get(e, 0) for r in treated) for e in Event}
    rates = {e.value: _proportion(_has(treated, e), len(treated), confidence) for e in Event}
    revenue_lift = _revenue(treated, holdout, confidence) if with_revenue else None
    if metric == "revenue":
        lift, relative = revenue_lift, None
    else:
        lift = _difference(treated, holdout, metric, confidence)
        relative = _relative(treated, holdout, metric, confidence)
    harm_lifts: dict[str, Comparison] = {}
    harm_reasons: list[str] = []
    for event in HARM_EVENTS:
        comparison = _difference(treated, holdout, event, confidence)
        if comparison is None:
            continue
        harm_lifts[event.value] = comparison
        if comparison.lower > 0:
            harm_reasons.append(f"{event.value} rate is significantly higher than the holdout's")
    if scope is Scope.HOLDOUT:
        verdict = Verdict.BASELINE
    elif lift is None or not (lift.lower > 0 or lift.upper < 0):
        verdict = Verdict.NOT_ENOUGH_DATA
    else:
        verdict = Verdict.WINS if lift.lower > 0 else Verdict.LOSES
    group = Group(
        scope=scope,
        key=key,
        baseline=baseline,
        recipients=len(treated),
        holdout_recipients=len(treated) if scope is Scope.HOLDOUT else len(holdout),
        events=events,
        rates=rates,
        revenue_per_recipient=(sum(r.revenue for r in treated) / len(treated) if with_revenue and treated else None),
        lift=lift,
        relative_lift=relative,
        revenue_lift=revenue_lift,
        harm_lifts=harm_lifts,
        verdict=verdict,
        harm=bool(harm_reasons),
        harm_reasons=harm_reasons,
    )
    group.summary = _summary(group, metric)
    return group


def _summary(group: Group, metric: str) -> str:
    """One plain sentence a marketer can read without the table."""
    if group.scope is Scope.HOLDOUT:
        return f"baseline: {group.recipients} holdout recipients who were not messaged"
    name = f"{group.scope.value} {group.key}"
    if not group.holdout_recipients:
        text = f"{name}: not enough data: no holdout recipients ({group.baseline}) to compare with"
    elif group.lift is None:
        text = f"{name}: not enough data: {group.recipients} recipients vs {group.holdout_recipients} holdout"
    else:
        change = _money(group.lift) if metric == "revenue" else _pts(group.lift)
        sizes = f"n = {group.lift.n} vs {group.lift.n_holdout} holdout"
        if group.verdict is Verdict.NOT_ENOUGH_DATA:
            text = f"{name}: not enough data on {metric}: {change}, {sizes}; the interval includes zero"
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


def _split(recipients: Iterable[Recipient], key: Callable[[Recipient], str | None]) -> dict[str, list[Recipient]]:
    groups: dict[str, list[Recipient]] = defaultdict(list)
    for recipient in recipients:
        value = key(recipient)
        if value is not None:
            groups[value].append(recipient)
    return dict(sorted(groups.items()))


def build_report(
    campaign_id: str,
    recipients: list[Recipient],
    *,
    metric: str = DEFAULT_METRIC,
    confidence: float = stats.DEFAULT_CONFIDENCE,
) -> CampaignReport:
    """Compare the treated recipients (overall, per variant, per select rule and per
    lifecycle stage) with the holdout. Pure: no database access."""
    if metric not in PRIMARY_METRICS:
        raise UsageError(
            f"metric '{metric}' cannot pick a winner: holdout contacts got no message, so only "
            f"{' or '.join(PRIMARY_METRICS)} can be compared with them"
        )
    holdout = [r for r in recipients if r.holdout]
    treated = [r for r in recipients if not r.holdout]
    with_revenue = any(r.revenue_by_day for r in recipients)
    if metric == "revenue" and not with_revenue:
        raise UsageError(f"campaign '{campaign_id}' has no converted outcomes with a value")

    def make(scope: Scope, key: str, members: list[Recipient], base: list[Recipient], label: str) -> Group:
        return _group(scope, key, members, base, label, metric, confidence, with_revenue)

    holdout_row = make(Scope.HOLDOUT, "holdout", holdout, holdout, "the holdout itself")
    groups = [make(Scope.CAMPAIGN, campaign_id, treated, holdout, "whole holdout")]
    for variant, members in _split(treated, lambda r: r.variant_id or "(no variant)").items():
        groups.append(make(Scope.VARIANT, variant, members, holdout, "whole holdout"))
    for rule, members in _split(treated, lambda r: r.rule_id).items():
        groups.append(make(Scope.RULE, rule, members, holdout, "whole holdout"))
    holdout_by_stage = _split(holdout, lambda r: r.stage)
    for stage, members in _split(treated, lambda r: r.stage).items():
        base = holdout_by_stage.get(stage, [])
        groups.append(make(Scope.STAGE, stage, members, base, f"holdout in stage {stage}"))

    arms = {"holdout": holdout} if holdout else {}
    arms.update(_split(treated, lambda r: r.variant_id or "(no variant)"))
    notes = [
        f"Primary metric: {metric}. Intervals are {confidence:.0%} and not adjusted for "
        f"multiple comparisons: across {len(groups)} rows, expect about "
        f"{(1 - confidence) * len(groups):.1f} 'wins' or 'loses' by chance even when "
        "nothing differs.",
        "Variant and rule rows compare with the whole holdout; if variants target different "
        "stages or segments, read the stage rows, which compare like with like.",
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
        trend=_trend(arms, metric),
        notes=notes,
    )


def campaign_report(
    db: sqlite_utils.Database,
    campaign_id: str,
    *,
    metric: str = DEFAULT_METRIC,
    confidence: float = stats.DEFAULT_CONFIDENCE,
) -> CampaignReport:
    """Load the campaign's send records and outcomes from ``db`` and build its report."""
    if metric not in PRIMARY_METRICS:
        build_report(campaign_id, [], metric=metric)  # raises the UsageError
    return build_report(campaign_id, load_recipients(db, campaign_id), metric=metric, confidence=confidence)


__all__ = [
    "FUNNEL",
    "PRIMARY_METRICS",
    "CampaignReport",
    "Comparison",
    "Group",
    "Proportion",
    "Recipient",
    "Scope",
    "TrendPoint",
    "Verdict",
    "build_report",
    "campaign_report",
    "load_recipients",
]
