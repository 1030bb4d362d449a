"""Allocation over time: what a learning campaign's rules learnt from, and the weights
they split by, day by day. Pure functions of rows the services layer reads, so the
engine, the report and the simulation test count outcomes the same way.

**Counting.** The unit is the recipient, as in the report: one contact in one
campaign, in the arm of its first send. For an allocation date D, a variant's
``trials`` are the rule's non-holdout recipients first sent before D (00:00 UTC) and its
``successes`` those of them whose metric event was *known* before D: the event happened
(``at``) and was imported (``imported_at``) before D. Outcomes are append-only, so what
was known before D never changes afterwards.

**History: recomputed, not recorded.** The weights for each past send day are
recomputed from the outcomes known before that day, with the same function the engine
ran (:func:`copydesk.rules.allocate.allocate`, same seed). This needs no new table and
no change to how sends are recorded, and it cannot drift from the engine. It reproduces
the weights used exactly when each day's sends were recorded that day (the default:
``sends record`` stamps the render time) and the variants eligible that day are the
ones the rule sent. A send recorded later with an earlier ``--sent-at`` changes the
recomputed weights of the days after it; the weights actually used are in each row's
trace (``render --explain``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from copydesk.rules.allocate import METHOD, ArmCounts, OutcomeCounts, allocate
from copydesk.rules.campaign import Campaign

if TYPE_CHECKING:
    import altair as alt


@dataclass(frozen=True, slots=True)
class FirstSend:
    """A recipient: the first send of one contact in the campaign."""

    contact_id: str
    rule_id: str | None
    variant_id: str | None
    holdout: bool
    sent_at: datetime


@dataclass
class AllocationData:
    """What allocation learns from, for one campaign and metric: the recipients, when
    each one's metric first became known (``max(at, imported_at)`` of its earliest
    such event), and the non-holdout sends per (UTC day, rule, variant)."""

    campaign_id: str
    metric: str
    recipients: Sequence[FirstSend]
    known: Mapping[str, datetime]
    daily: Mapping[tuple[date, str, str], int] = field(default_factory=dict)


def start_of(day: date) -> datetime:
    """00:00 UTC of ``day``: what is known before it counts for allocating on it."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def count_outcomes(data: AllocationData, as_of: date) -> OutcomeCounts:
    """Per rule and variant, recipients with the metric known before ``as_of`` out of
    non-holdout recipients first sent before it (see the module docstring)."""
    cutoff = start_of(as_of)
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in data.recipients:
        if r.holdout or r.rule_id is None or r.variant_id is None or r.sent_at >= cutoff:
            continue
        cell = tally[r.rule_id][r.variant_id]
        cell[1] += 1
        known = data.known.get(r.contact_id)
        if known is not None and known < cutoff:
            cell[0] += 1
    by_rule = {rule: {vid: ArmCounts(s, n) for vid, (s, n) in arms.items()} for rule, arms in tally.items()}
    return OutcomeCounts(as_of, data.metric, by_rule)


class AllocationPoint(BaseModel):
    """One variant of one learning rule on one send day: its weight, what it rests
    on, and what was actually sent that day."""

    day: str
    rule_id: str
    variant_id: str
    weight: float
    p_best: float
    successes: int
    trials: int
    sent: int
    sent_share: float


class AllocationHistory(BaseModel):
    """The learning rules' weights on every day they sent, oldest first."""

    campaign_id: str
    metric: str
    method: str = METHOD
    min_share: dict[str, float]
    points: list[AllocationPoint]
    notes: list[str]


def _variants_on(day: date, rule_id: str, listed: Sequence[str] | None,
                 daily: Mapping[tuple[date, str, str], int]) -> list[str]:
    """The variants the rule sent on ``day``, in the engine's order (as listed, or by id)."""
    sent = {vid for (d, rule, vid), n in daily.items() if d == day and rule == rule_id and n}
    return [v for v in listed if v in sent] if listed is not None else sorted(sent)


def weights_history(campaign: Campaign, data: AllocationData) -> AllocationHistory:
    """Recompute, for each day each learning rule sent, the weights the engine split by
    (see the module docstring for why recomputed, and when that is exact)."""
    learning = [(rule_id, choice) for rule_id, choice in campaign.choices if choice.allocate is not None]
    days = sorted({d for (d, _, _) in data.daily})
    points: list[AllocationPoint] = []
    counted: dict[date, OutcomeCounts] = {}
    for day in days:
        for rule_id, choice in learning:
            variants = _variants_on(day, rule_id, choice.ids, data.daily)
            if not variants:
                continue
            counts = counted.setdefault(day, count_outcomes(data, day))
            a = allocate(campaign.id, rule_id, variants, counts.for_rule(rule_id), day=day,
                         min_share=choice.floor, metric=choice.learn_metric)
            sent = [data.daily.get((day, rule_id, vid), 0) for vid in variants]
            total = sum(sent)
            for vid, c, p, w, n in zip(variants, a.counts, a.p_best, a.weights, sent, strict=True):
                points.append(AllocationPoint(day=day.isoformat(), rule_id=rule_id, variant_id=vid, weight=w,
                                              p_best=p, successes=c.successes, trials=c.trials, sent=n,
                                              sent_share=n / total if total else 0.0))
    notes = [
        "weights recomputed from the outcomes known before each send day (00:00 UTC), with the campaign "
        "file as it is now and the variants each rule sent that day",
        "outcomes imported today steer tomorrow's split, not today's",
    ]
    if not learning:
        notes = ["no rule of this campaign learns its split (allocate: thompson)"]
    return AllocationHistory(campaign_id=campaign.id, metric=data.metric,
                             min_share={rule_id: choice.floor for rule_id, choice in learning},
                             points=points, notes=notes)


def allocation_rows(history: AllocationHistory) -> list[dict[str, Any]]:
    """One JSON/CSV-friendly row per day, rule and variant."""
    return [point.model_dump() for point in history.points]


def allocation_lines(history: AllocationHistory) -> list[str]:
    """Text for the report: one line per learning rule and send day, e.g.
    ``2026-06-02 welcome: V1 10.0% (3/410) · V2 80.0% (19/402) · V3 10.0% (5/398)``;
    the figures are weight (successes/trials)."""
    by_key: dict[tuple[str, str], list[AllocationPoint]] = defaultdict(list)
    for p in history.points:
        by_key[(p.day, p.rule_id)].append(p)
    return [
        f"{day} {rule}: " + " · ".join(f"{p.variant_id} {p.weight:.1%} ({p.successes}/{p.trials})" for p in pts)
        for (day, rule), pts in by_key.items()
    ]


def allocation_chart(history: AllocationHistory) -> alt.LayerChart | alt.FacetChart:
    """Weight per variant over time (steps), with the share actually sent that day
    (points); one panel per learning rule when there are several."""
    import altair as alt  # here: the engine reads this module, and altair is slow to import

    data = alt.InlineData(values=allocation_rows(history))
    base = alt.Chart().encode(
        x=alt.X("day:T", title=None),
        color=alt.Color("variant_id:N", title="variant"),
        tooltip=[
            "day:T", "rule_id:N", "variant_id:N",
            alt.Tooltip("weight:Q", format=".1%"), alt.Tooltip("p_best:Q", format=".2f"),
            "successes:Q", "trials:Q", "sent:Q", alt.Tooltip("sent_share:Q", format=".1%"),
        ],
    )
    axis = alt.Axis(format="%")
    lines = base.mark_line(interpolate="step-after").encode(
        y=alt.Y("weight:Q", axis=axis, scale=alt.Scale(domain=[0, 1]),
                title=f"share of treated recipients ({history.method} on {history.metric})"))
    sent = base.mark_point(filled=True, size=40, opacity=0.6).encode(y="sent_share:Q")
    layer = alt.LayerChart(data=data, layer=[lines, sent])
    if len({p.rule_id for p in history.points}) > 1:
        return layer.facet(row=alt.Row("rule_id:N", title=None))
    return layer

