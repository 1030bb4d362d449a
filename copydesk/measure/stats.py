"""Confidence intervals for campaign measurement.

Every function names the published method it implements. Nothing here tests
hypotheses or adjusts for peeking: each interval is one 95% (by default)
statement about one comparison, and the caller reports the sample sizes it
rests on. All functions are pure and use only the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    lower: float
    upper: float
    confidence: float = DEFAULT_CONFIDENCE

    def excludes(self, value: float = 0.0) -> bool:
        """True when ``value`` lies outside the closed interval."""
        return value < self.lower or value > self.upper

    @property
    def above(self) -> bool:
        """The whole interval is above zero."""
        return self.lower > 0.0

    @property
    def below(self) -> bool:
        """The whole interval is below zero."""
        return self.upper < 0.0


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def _check_counts(successes: int, n: int) -> None:
    if n <= 0:
        raise ValueError(f"sample size must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and {n}, got {successes}")


def z_value(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Two-sided standard normal quantile: 1.959964 for 95%."""
    _check_confidence(confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(successes: int, n: int, *, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Reference: E. B. Wilson (1927), "Probable inference, the law of succession,
    and statistical inference", JASA 22:209-212; method 3 in R. G. Newcombe
    (1998), "Two-sided confidence intervals for the single proportion:
    comparison of seven methods", Statistics in Medicine 17:857-872.

    Unlike the Wald interval it never leaves [0, 1] and behaves well for
    proportions near 0, the usual case for conversion rates.
    """
    _check_counts(successes, n)
    z = z_value(confidence)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, lower, upper, confidence)


def newcombe_difference(
    successes_a: int,
    n_a: int,
    successes_b: int,
    n_b: int,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """Interval for the difference of two independent proportions ``p_a - p_b``.

    Newcombe's hybrid score interval (method 10), built from the two Wilson
    intervals. Reference: R. G. Newcombe (1998), "Interval estimation for the
    difference between independent proportions: comparison of eleven methods",
    Statistics in Medicine 17:873-890.
    """
    a = wilson(successes_a, n_a, confidence=confidence)
    b = wilson(successes_b, n_b, confidence=confidence)
    diff = a.estimate - b.estimate
    delta = math.sqrt((a.estimate - a.lower) ** 2 + (b.upper - b.estimate) ** 2)
    epsilon = math.sqrt((a.upper - a.estimate) ** 2 + (b.estimate - b.lower) ** 2)
    return Interval(diff, diff - delta, diff + epsilon, confidence)


def relative_lift(
    successes_a: int,
    n_a: int,
    successes_b: int,
    n_b: int,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval | None:
    """Relative lift ``p_a / p_b - 1`` with the Katz log interval for the risk ratio.

    Reference: D. Katz, J. Baptista, S. P. Azen, M. C. Pike (1978), "Obtaining
    confidence intervals for the risk ratio in cohort studies", Biometrics
    34:469-474: ``SE(ln RR) = sqrt(1/a - 1/n_a + 1/b - 1/n_b)`` and the interval
    is ``exp(ln RR +/- z SE)``, here minus 1.

    When group ``a`` has zero successes the standard error is undefined; the
    interval then uses the Haldane-Anscombe correction (0.5 added to every
    cell of the 2x2 table, so 1 to each group size) while the estimate stays
    the raw one (-100%). Returns ``None`` when the baseline ``b`` has no successes: a
    lift relative to zero is not a number.
    """
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    _check_confidence(confidence)
    if successes_b == 0:
        return None
    estimate = (successes_a / n_a) / (successes_b / n_b) - 1.0
    a, na, b, nb = float(successes_a), float(n_a), float(successes_b), float(n_b)
    if successes_a == 0:
        a, na, b, nb = a + 0.5, na + 1.0, b + 0.5, nb + 1.0
    log_rr = math.log((a / na) / (b / nb))
    se = math.sqrt(max(0.0, 1 / a - 1 / na + 1 / b - 1 / nb))
    z = z_value(confidence)
    return Interval(estimate, math.exp(log_rr - z * se) - 1.0, math.exp(log_rr + z * se) - 1.0, confidence)


# --- Student's t quantile -------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function, evaluated with the
    modified Lentz method (Press et al., Numerical Recipes, 3rd ed., section 6.4)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = tiny if abs(d) < tiny else d
    d = 1.0 / d
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` (Abramowitz and Stegun 26.5.8,
    evaluated by continued fraction as in Numerical Recipes section 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t with ``df`` (possibly
    fractional) degrees of freedom, via Abramowitz and Stegun 26.7.1 / 26.5.27:
    ``P(T <= t) = 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2`` for ``t >= 0``."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t: the ``t`` with ``t_cdf(t, df) == p``.

    Inverts :func:`t_cdf` by bisection to about 1e-12, so it is exact to the
    precision of the incomplete beta function and works for fractional ``df``
    (Welch-Satterthwaite). Check values (e.g. NIST/SEMATECH e-Handbook of
    Statistical Methods, table 1.3.6.7.2): ``t_quantile(0.975, 10) = 2.228``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if df > 1e7:
        return NormalDist().inv_cdf(p)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class WelchResult:
    """Welch's interval for ``mean_a - mean_b`` and the Welch-Satterthwaite degrees of freedom."""

    interval: Interval
    df: float
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int


def mean_and_variance(values: Sequence[float]) -> tuple[float, float]:
    """Sample mean and unbiased sample variance (n - 1 denominator), by Welford's method."""
    n = 0
    mean = 0.0
    m2 = 0.0
    for x in values:
        n += 1
        delta = x - mean
        mean += delta / n
        m2 += delta * (x - mean)
    if n == 0:
        raise ValueError("no values")
    return mean, (m2 / (n - 1) if n > 1 else 0.0)


def welch_summary(
    mean_a: float,
    var_a: float,
    n_a: int,
    mean_b: float,
    var_b: float,
    n_b: int,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> WelchResult | None:
    """Welch's unequal-variance t interval for ``mean_a - mean_b`` from summary statistics.

    Reference: B. L. Welch (1947), "The generalization of 'Student's' problem
    when several different population variances are involved", Biometrika
    34:28-35; F. E. Satterthwaite (1946), Biometrics Bulletin 2:110-114, for
    ``df = (va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1))``.

    Returns ``None`` when either group has fewer than two values or both
    variances are zero (no spread, so no interval).
    """
    _check_confidence(confidence)
    if n_a < 2 or n_b < 2:
        return None
    se_a, se_b = var_a / n_a, var_b / n_b
    se2 = se_a + se_b
    if se2 <= 0.0:
        return None
    df = se2 * se2 / (se_a * se_a / (n_a - 1) + se_b * se_b / (n_b - 1))
    t = t_quantile(0.5 + confidence / 2.0, df)
    diff = mean_a - mean_b
    half = t * math.sqrt(se2)
    return WelchResult(Interval(diff, diff - half, diff + half, confidence), df, mean_a, mean_b, n_a, n_b)


def welch_difference(
    a: Sequence[float], b: Sequence[float], *, confidence: float = DEFAULT_CONFIDENCE
) -> WelchResult | None:
    """Welch's t interval for the difference in means of two samples (see
    :func:`welch_summary` for the method and references)."""
    if len(a) < 2 or len(b) < 2:
        return None
    mean_a, var_a = mean_and_variance(a)
    mean_b, var_b = mean_and_variance(b)
    return welch_summary(mean_a, var_a, len(a), mean_b, var_b, len(b), confidence=confidence)
