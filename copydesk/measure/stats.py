"""The arithmetic of campaign measurement: intervals, tests, power and capping.

Every function names the published method it implements. Intervals are one 95%
(by default) statement about one comparison; the caller reports the sample sizes
they rest on. The tests (two-proportion z, Welch t, Pearson chi-square for sample
ratio mismatch), Holm's step-down adjustment, the minimum detectable effect and the
percentile used to winsorise revenue serve the report's trust checks. Nothing here
adjusts for peeking. All functions are pure and use only the standard library.
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
    the raw one (-100%). Returns ``None`` when the baseline ``b`` has no successes (a
    lift relative to zero is not a number) and when every member of both groups
    succeeded (the standard error is zero, so the "interval" would be a point).
    """
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    _check_confidence(confidence)
    if successes_b == 0 or (successes_a == n_a and successes_b == n_b):
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


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value ``P(|T| >= |t|)`` of Student's t with ``df`` degrees of
    freedom: ``I_{df/(df+t^2)}(df/2, 1/2)`` (Abramowitz and Stegun 26.7.1), computed
    directly so that small p-values keep their precision."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    return min(1.0, regularized_beta(df / 2.0, 0.5, df / (df + t * t)))


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
    se: float = 0.0

    @property
    def p_value(self) -> float:
        """Two-sided p-value of Welch's t test of equal means."""
        return t_two_sided_p(self.interval.estimate / self.se, self.df) if self.se > 0 else 1.0


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
    return WelchResult(
        Interval(diff, diff - half, diff + half, confidence), df, mean_a, mean_b, n_a, n_b, math.sqrt(se2)
    )


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


# --- tests, multiple comparisons, power, capping ----------------------------------------


@dataclass(frozen=True)
class Significance:
    """A test statistic and its p-value (``df`` for chi-square and t statistics)."""

    statistic: float
    p_value: float
    df: float | None = None


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value ``P(|Z| >= |z|)`` of the standard normal, by the complementary
    error function so that tails down to about 1e-300 keep their precision."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion_z_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> Significance | None:
    """Pooled two-proportion z test of ``p_a == p_b`` (the score test; equivalently
    Pearson's chi-square on the 2x2 table without continuity correction). Reference:
    A. Agresti (2013), *Categorical Data Analysis*, 3rd ed., section 3.1; as
    ``statsmodels.stats.proportion.proportions_ztest``.

    Returns ``None`` when the pooled rate is 0 or 1: with no variation there is no
    test."""
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if variance <= 0.0:
        return None
    z = (successes_a / n_a - successes_b / n_b) / math.sqrt(variance)
    return Significance(z, normal_two_sided_p(z))


def _gamma_series(a: float, x: float) -> float:
    """``P(a, x)`` by its series (Numerical Recipes, 3rd ed., section 6.2); for ``x < a + 1``."""
    term = total = 1.0 / a
    ap = a
    for _ in range(10_000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * 1e-16:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_continued_fraction(a: float, x: float) -> float:
    """``Q(a, x)`` by its continued fraction, modified Lentz (Numerical Recipes 6.2); for ``x >= a + 1``."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def regularized_gamma_q(a: float, x: float) -> float:
    """Upper regularized incomplete gamma ``Q(a, x) = Gamma(a, x) / Gamma(a)``
    (Abramowitz and Stegun 6.5.3), by series or continued fraction as in Numerical
    Recipes section 6.2."""
    if a <= 0:
        raise ValueError(f"a must be positive, got {a}")
    if x <= 0.0:
        return 1.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _gamma_series(a, x))
    return _gamma_continued_fraction(a, x)


def chi2_sf(x: float, df: float) -> float:
    """Survival function of the chi-square distribution: ``P(X >= x) = Q(df/2, x/2)``
    (Abramowitz and Stegun 26.4.19)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if df == 1.0:
        return math.erfc(math.sqrt(max(x, 0.0) / 2.0))  # exact, and precise far into the tail
    return regularized_gamma_q(df / 2.0, x / 2.0)


def goodness_of_fit(observed: Sequence[int], shares: Sequence[float]) -> Significance:
    """Pearson's chi-square goodness-of-fit test of ``observed`` counts against
    expected ``shares`` (normalised to sum to 1), with ``len - 1`` degrees of freedom:
    the sample-ratio-mismatch test. Reference: K. Pearson (1900), *Philosophical
    Magazine* 50:157-175; for its use in online experiments, A. Fabijan et al. (2019),
    "Diagnosing sample ratio mismatch in online controlled experiments", KDD."""
    if len(observed) != len(shares) or len(observed) < 2:
        raise ValueError("need at least two groups, one share per observed count")
    if any(count < 0 for count in observed) or any(share <= 0 for share in shares):
        raise ValueError("counts must be >= 0 and shares > 0")
    total = sum(observed)
    if total <= 0:
        raise ValueError("no observations")
    weight = sum(shares)
    statistic = 0.0
    for count, share in zip(observed, shares, strict=True):
        expected = total * share / weight
        statistic += (count - expected) ** 2 / expected
    df = float(len(observed) - 1)
    return Significance(statistic, chi2_sf(statistic, df), df)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: sorted ascending, the
    ``i``-th smallest is multiplied by ``m - i`` (``i`` from 0), made non-decreasing,
    capped at 1. Rejecting where the adjusted p-value is below alpha controls the
    family-wise error rate at alpha. Reference: S. Holm (1979), "A simple sequentially
    rejective multiple test procedure", *Scandinavian Journal of Statistics* 6:65-70."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _power_multiplier(alpha: float, power: float) -> float:
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError("alpha and power must be between 0 and 1")
    normal = NormalDist()
    return normal.inv_cdf(1.0 - alpha / 2.0) + normal.inv_cdf(power)


def mde_proportion(base_rate: float, n_a: int, n_b: int, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Minimum detectable effect (absolute difference in rates) of a two-sided test at
    ``alpha`` with ``power``, for groups of ``n_a`` and ``n_b`` around ``base_rate``:
    ``(z_{1-alpha/2} + z_power) * sqrt(p (1 - p) (1/n_a + 1/n_b))``, the normal
    approximation with both variances taken at the base rate (J. L. Fleiss, B. Levin,
    M. C. Paik (2003), *Statistical Methods for Rates and Proportions*, 3rd ed.,
    section 4.2; with equal groups it is Lehr's rule ``n = 16 p (1 - p) / d^2``).

    ``None`` when a group is empty or the base rate is 0 or 1 (no variance to size from).
    """
    if n_a <= 0 or n_b <= 0 or not 0.0 < base_rate < 1.0:
        return None
    return _power_multiplier(alpha, power) * math.sqrt(base_rate * (1.0 - base_rate) * (1.0 / n_a + 1.0 / n_b))


def mde_mean(variance: float, n_a: int, n_b: int, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Minimum detectable difference in means, as :func:`mde_proportion` with the
    base group's ``variance``: ``(z_{1-alpha/2} + z_power) * sqrt(var (1/n_a + 1/n_b))``.
    ``None`` when a group is empty or the variance is 0."""
    if n_a <= 0 or n_b <= 0 or variance <= 0.0:
        return None
    return _power_multiplier(alpha, power) * math.sqrt(variance * (1.0 / n_a + 1.0 / n_b))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between order
    statistics: Hyndman and Fan (1996) definition 7, the default of R's ``quantile``
    and NumPy's ``percentile``."""
    if not values:
        raise ValueError("no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be between 0 and 100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
