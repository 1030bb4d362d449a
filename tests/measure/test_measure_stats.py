"""The interval methods against published worked examples and hand computation,
and the coverage property: with no real difference, the lift interval covers
zero about 95% of the time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from copydesk.measure import stats


@pytest.mark.parametrize(
    ("successes", "n", "lower", "upper"),
    [
        # R. G. Newcombe (1998), Stat Med 17:857-872, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998a(successes: int, n: int, lower: float, upper: float) -> None:
    interval = stats.wilson(successes, n)
    assert interval.estimate == pytest.approx(successes / n)
    assert interval.lower == pytest.approx(lower, abs=5e-5)
    assert interval.upper == pytest.approx(upper, abs=5e-5)


def test_wilson_hand_computed_zero_successes() -> None:
    # 0/20: upper = z^2 / (n + z^2) = 3.841459 / 23.841459
    z2 = 1.959963985**2
    assert stats.wilson(0, 20).upper == pytest.approx(z2 / (20 + z2), rel=1e-9)


@pytest.mark.parametrize(
    ("a", "m", "b", "n", "lower", "upper"),
    [
        # R. G. Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (hybrid score)
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
    ],
)
def test_newcombe_matches_newcombe_1998b(a: int, m: int, b: int, n: int, lower: float, upper: float) -> None:
    interval = stats.newcombe_difference(a, m, b, n)
    assert interval.estimate == pytest.approx(a / m - b / n)
    assert interval.lower == pytest.approx(lower, abs=5e-5)
    assert interval.upper == pytest.approx(upper, abs=5e-5)


def test_katz_relative_lift_hand_computed() -> None:
    # 20/100 vs 10/100: RR = 2, SE(ln RR) = sqrt(1/20 - 1/100 + 1/10 - 1/100) = sqrt(0.13)
    # exp(ln 2 -/+ 1.959964 * 0.360555) = 0.98656, 4.05448 -> lift -1.34% to +305.4%
    interval = stats.relative_lift(20, 100, 10, 100)
    assert interval is not None
    assert interval.estimate == pytest.approx(1.0)
    assert interval.lower == pytest.approx(0.98656 - 1, abs=1e-5)
    assert interval.upper == pytest.approx(4.05448 - 1, abs=1e-5)
    assert not interval.excludes(0.0)


def test_katz_zero_cells() -> None:
    assert stats.relative_lift(5, 50, 0, 50) is None  # lift relative to zero is not a number
    interval = stats.relative_lift(0, 50, 5, 50)
    assert interval is not None
    assert interval.estimate == -1.0
    # Haldane-Anscombe: a = 0.5/51, b = 5.5/51, SE = sqrt(2 - 1/51 + 1/5.5 - 1/51)
    se = math.sqrt(1 / 0.5 - 1 / 51 + 1 / 5.5 - 1 / 51)
    expected_upper = math.exp(math.log(0.5 / 5.5) + 1.959963985 * se) - 1
    assert interval.upper == pytest.approx(expected_upper, rel=1e-6)
    assert interval.lower > -1.0


@pytest.mark.parametrize(
    ("df", "t975"),
    # NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2 (upper 0.025 point)
    [(1, 12.706), (2, 4.303), (5, 2.571), (6, 2.447), (10, 2.228), (30, 2.042), (100, 1.984)],
)
def test_t_quantile_matches_table(df: int, t975: float) -> None:
    assert stats.t_quantile(0.975, df) == pytest.approx(t975, abs=5e-4)
    assert stats.t_quantile(0.025, df) == pytest.approx(-t975, abs=5e-4)


def test_t_quantile_inverts_cdf_and_tends_to_normal() -> None:
    for df in (0.5, 1.7, 5.88, 40.0):
        for p in (0.6, 0.9, 0.99):
            assert stats.t_cdf(stats.t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)
    assert stats.t_quantile(0.975, 1e6) == pytest.approx(1.959964, abs=1e-5)
    # Cauchy (df = 1) in closed form: tan(pi (p - 1/2))
    assert stats.t_quantile(0.9, 1) == pytest.approx(math.tan(math.pi * 0.4), rel=1e-9)


def test_welch_hand_computed() -> None:
    # a: mean 12, variance 4; b: mean 5, variance 10.
    # SE^2 = 4/3 + 10/5 = 10/3; df = (10/3)^2 / ((4/3)^2/2 + 2^2/4) = (100/9) / (17/9) = 100/17
    result = stats.welch_difference([10, 12, 14], [1, 3, 5, 7, 9])
    assert result is not None
    assert result.df == pytest.approx(100 / 17)
    assert result.interval.estimate == pytest.approx(7.0)
    half = result.interval.upper - 7.0
    t = half / math.sqrt(10 / 3)
    assert 2.447 < t < 2.571  # between t(6) and t(5) from the table
    assert t == pytest.approx(stats.t_quantile(0.975, 100 / 17))
    assert result.interval.lower == pytest.approx(7.0 - half)


def test_welch_needs_two_values_and_spread() -> None:
    assert stats.welch_difference([1.0], [1.0, 2.0]) is None
    assert stats.welch_difference([0.0, 0.0], [0.0, 0.0]) is None


@given(
    n=st.integers(1, 5000),
    data=st.data(),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_is_inside_unit_interval_and_contains_estimate(n: int, data: st.DataObject, confidence: float) -> None:
    k = data.draw(st.integers(0, n))
    interval = stats.wilson(k, n, confidence=confidence)
    assert 0.0 <= interval.lower <= interval.estimate <= interval.upper <= 1.0


@given(a=st.integers(0, 300), m=st.integers(1, 300), b=st.integers(0, 300), n=st.integers(1, 300))
def test_newcombe_is_antisymmetric_and_bounded(a: int, m: int, b: int, n: int) -> None:
    a, b = min(a, m), min(b, n)
    forward = stats.newcombe_difference(a, m, b, n)
    backward = stats.newcombe_difference(b, n, a, m)
    assert -1.0 - 1e-12 <= forward.lower <= forward.estimate <= forward.upper <= 1.0 + 1e-12
    assert forward.lower == pytest.approx(-backward.upper, abs=1e-12)
    assert forward.upper == pytest.approx(-backward.lower, abs=1e-12)


SIMULATIONS = 600


def _coverage(hits: int) -> float:
    return hits / SIMULATIONS


def test_lift_interval_covers_zero_at_nominal_rate_when_nothing_differs() -> None:
    """Variant and holdout drawn from the same conversion rate: the absolute (Newcombe)
    and relative (Katz) intervals should cover zero in about 95% of campaigns. With 600
    campaigns the standard error of the coverage is 0.9 points, so 92.5%-97.5% is
    about +/- 2.8 standard errors."""
    rng = np.random.default_rng(20250301)
    absolute = relative = 0
    for _ in range(SIMULATIONS):
        rate = rng.uniform(0.01, 0.2)
        n_variant, n_holdout = int(rng.integers(500, 3000)), int(rng.integers(200, 1500))
        a, b = int(rng.binomial(n_variant, rate)), int(rng.binomial(n_holdout, rate))
        absolute += not stats.newcombe_difference(a, n_variant, b, n_holdout).excludes(0.0)
        rel = stats.relative_lift(a, n_variant, b, n_holdout)
        relative += rel is not None and not rel.excludes(0.0)
    assert 0.925 <= _coverage(absolute) <= 0.975
    assert 0.925 <= _coverage(relative) <= 0.975


def test_lift_interval_detects_a_real_difference() -> None:
    """The same simulation with a real 2-point lift: the interval must exclude zero
    most of the time (otherwise the coverage test could pass with huge intervals)."""
    rng = np.random.default_rng(7)
    detected = 0
    for _ in range(SIMULATIONS):
        a, b = int(rng.binomial(5000, 0.07)), int(rng.binomial(5000, 0.05))
        detected += stats.newcombe_difference(a, 5000, b, 5000).above
    assert _coverage(detected) > 0.9


def test_revenue_interval_covers_zero_at_nominal_rate_when_nothing_differs() -> None:
    """Revenue per recipient: mostly zeros and a skewed spend among converters, the
    same distribution in both arms; Welch's interval covers zero about 95% of the time."""
    rng = np.random.default_rng(99)
    covered = 0
    for _ in range(SIMULATIONS):
        samples = []
        for size in (1500, 800):
            converted = rng.random(size) < 0.08
            samples.append(np.where(converted, rng.lognormal(3.5, 0.6, size), 0.0).tolist())
        result = stats.welch_difference(samples[0], samples[1])
        assert result is not None
        covered += not result.interval.excludes(0.0)
    assert 0.925 <= _coverage(covered) <= 0.975


# --- trust checks: reference values from SciPy 1.17.1 and statsmodels 0.15.0 ------------
# (computed once outside the project, which does not depend on either: scipy.stats.chi2.sf,
# scipy.stats.chisquare, statsmodels proportions_ztest, scipy.stats.ttest_ind(equal_var=False),
# statsmodels multipletests(method="holm"), NormalIndPower, numpy.percentile)


@pytest.mark.parametrize(
    ("x", "df", "expected"),
    [
        (60.0888888889, 1, 9.066873946505738e-15),
        (3.84, 1, 0.05004352124870519),
        (10.0, 3, 0.01856613546304325),
        (250.0, 4, 6.509689997375721e-53),
        (0.5, 2, 0.7788007830714049),
        (1e-3, 5, 0.9999999983185123),
        (35.0, 7, 1.1184430509074334e-05),
    ],
)
def test_chi2_survival_matches_scipy(x: float, df: int, expected: float) -> None:
    assert stats.chi2_sf(x, df) == pytest.approx(expected, rel=1e-10)


def test_sample_ratio_mismatch_of_a_half_sized_holdout() -> None:
    # 96 of 2,000 held out (4.8%) against a configured 10%: scipy.stats.chisquare([96, 1904], [200, 1800])
    result = stats.goodness_of_fit([96, 1904], [0.1, 0.9])
    assert result.statistic == pytest.approx(60.08888888888889, rel=1e-12)
    assert result.p_value == pytest.approx(9.066873946556938e-15, rel=1e-9)
    assert result.df == 1
    three = stats.goodness_of_fit([3400, 3300, 3100], [1, 1, 1])  # an even three-way split
    assert (three.statistic, three.df) == (pytest.approx(14.285714285714286), 2)
    assert three.p_value == pytest.approx(0.0007904903231199663, rel=1e-9)


@pytest.mark.parametrize(
    ("counts", "z", "p"),
    [
        ((60, 1000, 20, 1000), 4.564354645876383, 5.01033195639047e-06),
        ((520, 20000, 428, 20000), 3.0240712129524963, 0.002493977257783555),
        ((5, 100, 4, 100), 0.34109634006443396, 0.7330310563999258),
    ],
)
def test_two_proportion_z_matches_statsmodels(counts: tuple[int, int, int, int], z: float, p: float) -> None:
    result = stats.two_proportion_z_test(*counts)
    assert result is not None
    assert result.statistic == pytest.approx(z, rel=1e-12)
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_z_test_without_variation_is_none() -> None:
    assert stats.two_proportion_z_test(0, 50, 0, 80) is None
    assert stats.two_proportion_z_test(50, 50, 80, 80) is None


def test_welch_p_value_matches_scipy() -> None:
    a = [0.0] * 90 + [30.0, 45.0, 12.5, 80.0, 22.0, 19.99, 5.0, 60.0, 33.0, 41.0]
    b = [0.0] * 95 + [30.0, 25.0, 12.5, 20.0, 10.0]
    result = stats.welch_difference(a, b)
    assert result is not None
    assert result.df == pytest.approx(125.10146286115216, rel=1e-10)
    assert result.interval.estimate / result.se == pytest.approx(1.8807381786838058, rel=1e-12)
    assert result.p_value == pytest.approx(0.06233238162912269, rel=1e-9)
    assert stats.t_two_sided_p(2.5, 7.3) == pytest.approx(0.03965023466560043, rel=1e-9)
    assert stats.t_two_sided_p(8.0, 150.5) == pytest.approx(3.0784484286757736e-13, rel=1e-8)


def test_holm_matches_statsmodels_and_keeps_the_order() -> None:
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005, 0.2])
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2])
    assert stats.holm([]) == []
    assert stats.holm([0.6, 0.7]) == [1.0, 1.0]  # capped at 1


def test_minimum_detectable_effect() -> None:
    # (z_0.975 + z_0.8) = 2.8015852181129683; statsmodels NormalIndPower gives 0.0375871036
    # (it adds the far tail, 1e-6 here)
    assert stats.mde_proportion(0.1, 1000, 1000) == pytest.approx(2.8015852181129683 * math.sqrt(0.09 * 0.002))
    assert stats.mde_proportion(0.1, 1000, 1000) == pytest.approx(0.03758710358915214, abs=2e-6)
    assert stats.mde_proportion(0.02, 5000, 500) == pytest.approx(0.01839682087116112, abs=2e-6)
    # Lehr's rule: equal groups of 16 p (1 - p) / d^2 detect d (the rule rounds 15.7 up to 16)
    n = round(16 * 0.05 * 0.95 / 0.01**2)
    assert stats.mde_proportion(0.05, n, n) == pytest.approx(0.01, rel=0.02)
    assert stats.mde_proportion(0.0, 100, 100) is None
    assert stats.mde_proportion(0.1, 0, 100) is None
    assert stats.mde_mean(4.0, 100, 100) == pytest.approx(2.8015852181129683 * math.sqrt(4.0 * 0.02))
    assert stats.mde_mean(0.0, 100, 100) is None


def test_percentile_matches_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0, 100.0, 7.5]
    for q in (0, 50, 90, 99, 100):
        assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert stats.percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        stats.percentile([], 50)


def test_relative_lift_when_everyone_converts_is_none() -> None:
    # the Katz standard error is 0: "+0% [+0%, +0%]" would claim certainty from no variation
    assert stats.relative_lift(50, 50, 80, 80) is None
    assert stats.relative_lift(50, 50, 70, 80) is not None
