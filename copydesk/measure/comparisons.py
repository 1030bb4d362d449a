"""One comparison of two groups of recipients: its interval, test, power, and whether
it has enough data for a verdict.

Used for every row of the report (a group against its holdout) and for head-to-head
comparisons of variants. A figure that cannot be computed is ``None`` with a reason
next to it ("n/a: ..."), never a degenerate interval such as ``[0%, 100%]`` for an
empty group or ``+0% [+0%, +0%]`` when everyone converted.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel

from copydesk.measure import stats
from copydesk.measure.recipients import Recipient, count_with, revenues

#: A verdict needs at least this many recipients in each group compared...
MIN_RECIPIENTS = 100
#: ...and at least this many recipients with the primary event (for revenue: with
#: revenue) in the two groups together. Together, not each: a variant with 4
#: conversions against a holdout's 20 (of 1,000 each) is a clear loser, and the
#: interval methods stay valid with few events; the counts stop verdicts resting on a
#: handful of people.
MIN_EVENTS = 10
#: The power the minimum detectable effect is computed for, at two-sided alpha 0.05.
POWER = 0.8
ALPHA = 0.05


class Verdict(StrEnum):
    """The plain-language outcome of one comparison."""

    WINS = "wins"
    LOSES = "loses"
    BEATS = "beats"
    NOT_ENOUGH_DATA = "not enough data"
    WITHHELD = "withheld"
    BASELINE = "baseline"


class Proportion(BaseModel):
    """Recipients with the event, out of ``n``, with the Wilson interval; ``None``
    figures and a ``note`` when there are no recipients."""

    count: int
    n: int
    rate: float | None
    lower: float | None
    upper: float | None
    note: str = ""


class Comparison(BaseModel):
    """A difference between two groups: estimate, interval, method, the sample sizes
    it rests on (``n`` and ``n_holdout``, the baseline group), and the two-sided
    p-value of the matching test when there is one. ``df`` is Welch's degrees of freedom."""

    estimate: float
    lower: float
    upper: float
    n: int
    n_holdout: int
    method: str
    df: float | None = None
    p_value: float | None = None


class Power(BaseModel):
    """The minimum detectable effect: the smallest true difference this comparison
    would find with probability ``power`` (two-sided ``alpha``), for the observed base
    (holdout) rate or revenue variance and the two group sizes. ``mde`` is absolute (a
    rate difference, or currency per recipient); ``relative`` is ``mde / base``."""

    mde: float | None
    relative: float | None
    base: float | None
    alpha: float = ALPHA
    power: float = POWER
    note: str = ""


class MinimumCounts(BaseModel):
    """The rule a comparison must meet before it gets a verdict."""

    recipients: int = MIN_RECIPIENTS
    events: int = MIN_EVENTS
    rule: str = ""


def p_text(value: float | None) -> str:
    """A p-value for people: 3 decimals, 2 significant digits below 0.001, and a bound
    where double precision runs out (the report never prints "p = 0")."""
    if value is None:
        return "n/a"
    if value < 1e-300:
        return "< 1e-300"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def p_clause(value: float, name: str = "p") -> str:
    """``p = 0.012`` or, past double precision, ``p < 1e-300``."""
    text = p_text(value)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def minimum_counts(metric: str) -> MinimumCounts:
    """The minimum-count rule for ``metric``, with its wording."""
    what = "recipients with revenue" if metric == "revenue" else f"{metric} recipients"
    return MinimumCounts(
        rule=f"a verdict needs at least {MIN_RECIPIENTS} recipients in each group compared and at least "
        f"{MIN_EVENTS} {what} in the two groups together; below that the verdict is 'not enough data'"
    )


def proportion(count: int, n: int, confidence: float) -> Proportion:
    """``count`` of ``n`` with its Wilson interval, or n/a when ``n`` is 0."""
    if n == 0:
        return Proportion(count=0, n=0, rate=None, lower=None, upper=None, note="n/a: no recipients")
    interval = stats.wilson(count, n, confidence=confidence)
    return Proportion(count=count, n=n, rate=interval.estimate, lower=interval.lower, upper=interval.upper)


def event_count(recipients: Sequence[Recipient], metric: str) -> int:
    """Recipients with the metric's event (for revenue: with revenue above 0)."""
    if metric == "revenue":
        return sum(1 for r in recipients if r.revenue > 0)
    return count_with(recipients, metric)


def shortfall(metric: str, groups: Sequence[tuple[str, Sequence[Recipient]]]) -> str | None:
    """Why the named ``groups`` do not meet the minimum-count rule, or ``None`` when they do."""
    what = "with revenue" if metric == "revenue" else metric
    events = [event_count(members, metric) for _, members in groups]
    small = any(len(members) < MIN_RECIPIENTS for _, members in groups)
    if not small and sum(events) >= MIN_EVENTS:
        return None
    counts = "; ".join(f"{name} {len(members):,} recipients, {count:,} {what}"
                       for (name, members), count in zip(groups, events, strict=True))
    return (f"below the minimum for a verdict (at least {MIN_RECIPIENTS} recipients in each group and "
            f"{MIN_EVENTS} {what} in the two together): {counts}")


def difference(
    treated: Sequence[Recipient], base: Sequence[Recipient], event: str, confidence: float
) -> Comparison | None:
    """Difference of the event rates (Newcombe) with the pooled z test's p-value."""
    if not treated or not base:
        return None
    counts = (count_with(treated, event), len(treated), count_with(base, event), len(base))
    interval = stats.newcombe_difference(*counts, confidence=confidence)
    test = stats.two_proportion_z_test(*counts)
    return Comparison(
        estimate=interval.estimate, lower=interval.lower, upper=interval.upper, n=len(treated),
        n_holdout=len(base), method="Newcombe hybrid score (method 10); pooled z test",
        p_value=None if test is None else test.p_value,
    )


def relative(
    treated: Sequence[Recipient], base: Sequence[Recipient], event: str, confidence: float, base_name: str
) -> tuple[Comparison | None, str]:
    """Relative lift (Katz) and, when it is n/a, why."""
    if not treated or not base:
        return None, ""
    a, b = count_with(treated, event), count_with(base, event)
    interval = stats.relative_lift(a, len(treated), b, len(base), confidence=confidence)
    if interval is None:
        if b == 0:
            return None, f"n/a: {base_name} has no {event} recipients; a lift relative to zero is not a number"
        return None, f"n/a: every recipient of both groups {event}; no variation to measure a ratio from"
    comparison = Comparison(
        estimate=interval.estimate, lower=interval.lower, upper=interval.upper, n=len(treated),
        n_holdout=len(base), method="Katz log risk ratio, minus 1",
    )
    return comparison, ""


def revenue_difference(
    treated: Sequence[Recipient], base: Sequence[Recipient], confidence: float, cap: float | None = None
) -> tuple[Comparison | None, str]:
    """Difference in revenue per recipient (Welch t, capped at ``cap`` when given) and,
    when it is n/a, why."""
    if not treated or not base:
        return None, ""
    result = stats.welch_difference(revenues(treated, cap), revenues(base, cap), confidence=confidence)
    if result is None:
        if len(treated) < 2 or len(base) < 2:
            return None, "n/a: a group has fewer than 2 recipients"
        return None, "n/a: every recipient of both groups has the same revenue; no spread to measure"
    comparison = Comparison(
        estimate=result.interval.estimate, lower=result.interval.lower, upper=result.interval.upper,
        n=len(treated), n_holdout=len(base), method="Welch t", df=result.df, p_value=result.p_value,
    )
    return comparison, ""


def power(metric: str, treated: Sequence[Recipient], base: Sequence[Recipient], cap: float | None = None) -> Power:
    """The minimum detectable effect at 80% power for these group sizes and the base
    group's observed rate (or revenue variance)."""
    if not treated or not base:
        return Power(mde=None, relative=None, base=None, note="n/a: a group is empty")
    if metric == "revenue":
        mean, variance = stats.mean_and_variance(revenues(base, cap))
        mde = stats.mde_mean(variance, len(treated), len(base), alpha=ALPHA, power=POWER)
        if mde is None:
            return Power(mde=None, relative=None, base=mean, note="n/a: the baseline's revenue has no spread yet")
        return Power(mde=mde, relative=mde / mean if mean > 0 else None, base=mean)
    rate = count_with(base, metric) / len(base)
    mde = stats.mde_proportion(rate, len(treated), len(base), alpha=ALPHA, power=POWER)
    if mde is None:
        return Power(mde=None, relative=None, base=rate,
                     note=f"n/a: the baseline's {metric} rate is {rate:.0%}; no variance to size from")
    return Power(mde=mde, relative=mde / rate, base=rate)
