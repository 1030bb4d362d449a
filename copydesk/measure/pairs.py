"""Head-to-head: which variant of a rule did better than another?

Variants are compared only within the rule whose split assigned them: those recipients
matched the same conditions and were split at random, so a difference between
variants is caused by the copy. (Variants of different rules reach different people.)
Every pair of a rule's variants is compared on the primary metric; the p-values of all
pairs that meet the minimum counts are adjusted together by Holm's method, and a
variant ``beats`` another only when its Holm-adjusted p-value is below 1 - confidence
(0.05). The interval beside it is the unadjusted 95% interval of the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from pydantic import BaseModel

from copydesk.measure import stats
from copydesk.measure.comparisons import (
    Comparison,
    Verdict,
    difference,
    event_count,
    p_clause,
    revenue_difference,
    shortfall,
)
from copydesk.measure.design import Design
from copydesk.measure.recipients import Recipient, revenues, split_by

NO_RULE = "(no rule)"
NO_VARIANT = "(no variant)"


class Pair(BaseModel):
    """Two variants of one rule, the one that did better on the primary metric first."""

    rule: str
    first: str
    second: str
    n_first: int
    n_second: int
    value_first: float
    value_second: float
    difference: Comparison | None
    difference_note: str = ""
    p_value: float | None = None
    p_holm: float | None = None
    verdict: Verdict
    verdict_reason: str
    note: str = ""
    summary: str = ""


def _value(members: Sequence[Recipient], metric: str, cap: float | None) -> float:
    if metric == "revenue":
        return sum(revenues(members, cap)) / len(members)
    return event_count(members, metric) / len(members)


def _compare(
    rule: str, a: tuple[str, list[Recipient]], b: tuple[str, list[Recipient]], metric: str, confidence: float,
    cap: float | None,
) -> Pair:
    (name_a, members_a), (name_b, members_b) = a, b
    value_a, value_b = _value(members_a, metric, cap), _value(members_b, metric, cap)
    if value_b > value_a:
        (name_a, members_a, value_a), (name_b, members_b, value_b) = (name_b, members_b, value_b), (
            name_a, members_a, value_a)
    if metric == "revenue":
        compared, note = revenue_difference(members_a, members_b, confidence, cap)
    else:
        compared, note = difference(members_a, members_b, metric, confidence), ""
        if compared is not None and compared.p_value is None:
            note = f"n/a: no variation in {metric} in either variant"
    return Pair(
        rule=rule, first=name_a, second=name_b, n_first=len(members_a), n_second=len(members_b),
        value_first=value_a, value_second=value_b, difference=compared, difference_note=note,
        p_value=None if compared is None else compared.p_value,
        verdict=Verdict.NOT_ENOUGH_DATA, verdict_reason="",
    )


def _pct(value: float) -> str:
    return f"{value * 100:+.2f} pts"


def _summary(pair: Pair, metric: str, family: int, confidence: float) -> str:
    where = f"rule {pair.rule}" if pair.rule != NO_RULE else "recipients with no rule recorded"
    sizes = f"n = {pair.n_first:,} vs {pair.n_second:,}"
    if pair.difference is None:
        return f"{where}: {pair.first} vs {pair.second}: {pair.difference_note or 'no comparison'}, {sizes}"
    d = pair.difference
    if metric == "revenue":
        change = f"{d.estimate:+.2f} per recipient ({confidence:.0%} CI {d.lower:+.2f} to {d.upper:+.2f})"
    else:
        change = f"{_pct(d.estimate)} ({confidence:.0%} CI {d.lower * 100:+.2f} to {d.upper * 100:+.2f})"
    p = "" if pair.p_holm is None else f"; {p_clause(pair.p_holm, 'Holm-adjusted p')} over {family} test(s)"
    if pair.verdict is Verdict.BEATS:
        text = f"{where}: {pair.first} beats {pair.second} on {metric}: {change}, {sizes}{p}"
    elif pair.verdict is Verdict.WITHHELD:
        text = f"{where}: {pair.first} vs {pair.second}: verdict withheld ({pair.verdict_reason}): {change}, {sizes}"
    else:
        text = (f"{where}: {pair.first} vs {pair.second}: not enough data on {metric}: {change}, {sizes}{p}; "
                f"{pair.verdict_reason}")
    if pair.note:
        text += f" ({pair.note})"
    return text


def head_to_head(
    treated: Sequence[Recipient], *, metric: str, confidence: float, design: Design | None = None,
    cap: float | None = None, withheld: str | None = None,
) -> list[Pair]:
    """Every pair of variants within each rule, Holm-adjusted across all pairs that meet
    the minimum counts. ``withheld`` (a reason) withholds every verdict."""
    pairs: list[Pair] = []
    for rule, members in split_by(treated, lambda r: r.rule_id or NO_RULE).items():
        variants = split_by(members, lambda r: r.variant_id or NO_VARIANT)
        learnt = design is not None and rule in design.splits and design.splits[rule].learnt
        for a, b in combinations(sorted(variants.items()), 2):
            pair = _compare(rule, a, b, metric, confidence, cap)
            if learnt:
                pair.note = ("this rule learns its split: the variants were not sent in a fixed ratio over the "
                             "same days, so the difference can mix in changes over time")
            elif rule == NO_RULE:
                pair.note = "no rule recorded: these variants may not have been split at random"
            short = shortfall(metric, [(pair.first, variants[pair.first]), (pair.second, variants[pair.second])])
            pair.verdict_reason = short or ""
            pairs.append(pair)
    family = [i for i, pair in enumerate(pairs) if pair.p_value is not None and not pair.verdict_reason]
    adjusted = stats.holm([pairs[i].p_value or 0.0 for i in family])
    alpha = 1.0 - confidence
    for i, p_holm in zip(family, adjusted, strict=True):
        pair = pairs[i]
        pair.p_holm = p_holm
        if withheld:
            pair.verdict, pair.verdict_reason = Verdict.WITHHELD, withheld
        elif p_holm < alpha:
            pair.verdict, pair.verdict_reason = Verdict.BEATS, f"{p_clause(p_holm, 'Holm-adjusted p')} < {alpha:g}"
        else:
            pair.verdict_reason = f"{p_clause(p_holm, 'Holm-adjusted p')} is not below {alpha:g}"
    for pair in pairs:
        if not pair.verdict_reason:
            pair.verdict_reason = pair.difference_note or "no test possible"
        pair.summary = _summary(pair, metric, len(family), confidence)
    return pairs


def tested(pairs: Sequence[Pair]) -> int:
    """How many pairs were in the Holm family (tested for a verdict)."""
    return sum(1 for pair in pairs if pair.p_holm is not None)
