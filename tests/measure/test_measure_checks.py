"""Trust checks on their own: sample ratio (holdout and splits), the design read from a
campaign file, peeking, winsorising, head-to-head on revenue."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from copydesk.measure import checks, stats
from copydesk.measure.design import Design, SplitPlan, design_of
from copydesk.measure.pairs import head_to_head
from copydesk.measure.recipients import Recipient
from copydesk.rules.campaign import parse_campaign

CAMPAIGN = """\
id: spring
channel: email
template: email/default
holdout: 0.1
ends_at: 2025-03-15
select:
  - id: fixed
    variants: {ids: [V1, V2, V3], weights: [2, 1, 0]}
  - id: learning
    variants: {brief: b, allocate: thompson, min_share: 0.1}
fallback: {brief: generic}
"""


def test_the_design_is_read_from_the_campaign_file() -> None:
    design = design_of(parse_campaign(CAMPAIGN, "spring.yaml"), "spring.yaml")
    assert design.holdout_share == 0.1
    assert design.ends_at == datetime(2025, 3, 15, tzinfo=UTC)
    assert design.splits["fixed"].weights == {"V1": 2, "V2": 1}  # weight 0 is never sent
    assert design.splits["learning"].learnt
    assert design.splits["fallback"].weights is None and not design.splits["fallback"].learnt


def test_srm_false_alarms_are_rare_and_a_half_sized_holdout_is_always_caught() -> None:
    rng = np.random.default_rng(2024)
    healthy = rng.binomial(10_000, 0.1, size=3000)
    alarms = sum(stats.goodness_of_fit([int(h), 10_000 - int(h)], [0.1, 0.9]).p_value < checks.SRM_ALPHA
                 for h in healthy)
    assert alarms <= 10  # expected 3 in 3,000 at p < 0.001
    broken = rng.binomial(2000, 0.048, size=500)
    assert all(stats.goodness_of_fit([int(h), 2000 - int(h)], [0.1, 0.9]).p_value < checks.SRM_ALPHA for h in broken)


def test_split_checks() -> None:
    fixed = SplitPlan("fixed", "ids V1, V2", {"V1": 2.0, "V2": 1.0})
    ok = checks.split_check(fixed, {"V1": 668, "V2": 332})
    assert isinstance(ok, checks.SrmCheck) and not ok.mismatch
    assert ok.expected_share == pytest.approx({"V1": 2 / 3, "V2": 1 / 3})
    bad = checks.split_check(fixed, {"V1": 500, "V2": 500})
    assert isinstance(bad, checks.SrmCheck) and bad.mismatch
    assert "which its ids do not list" in str(checks.split_check(fixed, {"V1": 5, "V9": 5}))
    assert "never sent" in str(checks.split_check(fixed, {"V1": 50}))
    assert "learns its split" in str(checks.split_check(SplitPlan("l", "brief b", learnt=True), {"A": 9, "B": 1}))
    assert checks.split_check(SplitPlan("b", "brief b"), {"A": 100}) is None  # one variant: nothing to check
    assert "too few recipients" in str(checks.split_check(SplitPlan("b", "brief b"), {"A": 6, "B": 2}))


def test_a_holdout_where_the_file_has_none_is_a_mismatch() -> None:
    found = checks.holdout_check(40, 960, 0.0)
    assert isinstance(found, checks.SrmCheck) and found.mismatch
    assert isinstance(checks.holdout_check(0, 1000, 0.0), str)


def test_without_a_campaign_file_nothing_is_checked_and_it_says_so() -> None:
    found, skipped = checks.sample_ratio(None, [Recipient("c1", True)])
    assert found == [] and "no campaign file" in skipped[0]
    note = checks.peeking(None, datetime(2025, 3, 1, tzinfo=UTC))
    assert not note.early and "no planned end" in note.note


def test_head_to_head_on_revenue_uses_welch_and_holm() -> None:
    def arm(name: str, n: int, paying: int, value: float) -> list[Recipient]:
        out = []
        for i in range(n):
            r = Recipient(f"{name}{i}", False, name, "r1")
            if i < paying:
                r.revenue = value + (i % 7)
                r.events["converted"] = 1
            out.append(r)
        return out

    treated = arm("A", 400, 60, 40.0) + arm("B", 400, 20, 40.0) + arm("C", 400, 58, 40.0)
    pairs = {(p.first, p.second): p for p in head_to_head(treated, metric="revenue", confidence=0.95)}
    assert set(pairs) == {("A", "B"), ("C", "B"), ("A", "C")}
    ab = pairs[("A", "B")]
    assert ab.difference is not None and ab.difference.method == "Welch t" and ab.difference.df
    assert ab.verdict.value == "beats"
    p_values = [pairs[k].p_value for k in sorted(pairs)]
    assert [pairs[k].p_holm for k in sorted(pairs)] == pytest.approx(stats.holm([p or 0.0 for p in p_values]))
    assert pairs[("A", "C")].verdict.value == "not enough data"


def test_learning_rules_pairs_carry_a_caution() -> None:
    treated = [Recipient(f"{v}{i}", False, v, "learning") for v in ("A", "B") for i in range(200)]
    design = Design("s", "s.yaml", "converted", 0.1, {"learning": SplitPlan("learning", "brief b", learnt=True)})
    [pair] = head_to_head(treated, metric="converted", confidence=0.95, design=design)
    assert "learns its split" in pair.note


def test_winsorizing_pools_all_arms() -> None:
    rs = [Recipient(f"c{i}", i % 2 == 0, revenue=float(i)) for i in range(1, 101)]
    capping = checks.winsorizing(rs, 95)
    assert capping.cap == pytest.approx(float(np.percentile(np.arange(1, 101), 95)))
    assert capping.capped == 5
    assert checks.winsorizing([Recipient("c", False)], 99).cap is None
