"""Allocation that learns: Thompson sampling weights for a rule's approved variants.

Each variant's conversion rate gets a Beta(1 + successes, 1 + failures) posterior from
the outcomes known before the allocation date. A variant's weight is the probability
that it has the highest rate, estimated by Monte Carlo, then floored at ``min_share``.

Everything here is a pure function of its inputs. The draws are seeded from (campaign,
rule, allocation date) and come from numpy's PCG64 *bit stream* through our own Beta
sampler: numpy guarantees that stream across versions, not its ``Generator.beta``, so
an upgrade cannot move a contact that was already decided for a date.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

#: Monte Carlo draws per posterior: P(best) is within about ±0.0035 (one standard error).
DRAWS = 20_000
METHOD = "thompson"

_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ArmCounts:
    """Recipients with the metric (``successes``) out of recipients (``trials``)."""

    successes: int = 0
    trials: int = 0

    def __post_init__(self) -> None:
        if self.successes < 0 or self.trials < self.successes:
            raise ValueError(f"counts must satisfy 0 <= successes <= trials, got {self.successes}/{self.trials}")

    @property
    def failures(self) -> int:
        return self.trials - self.successes


@dataclass(frozen=True)
class OutcomeCounts:
    """What a campaign's allocating rules learn from: per select rule (or ``fallback``),
    per variant, recipients with ``metric`` out of the rule's non-holdout recipients,
    counting only sends and outcomes known before ``as_of`` (the allocation date)."""

    as_of: date
    metric: str = "converted"
    by_rule: Mapping[str, Mapping[str, ArmCounts]] = field(default_factory=dict)

    def for_rule(self, rule_id: str) -> Mapping[str, ArmCounts]:
        """The counts of one rule's variants (empty when it has no recipients yet)."""
        return self.by_rule.get(rule_id, {})


@dataclass(frozen=True)
class Allocation:
    """The weights one rule splits its variants by on one day, and what they rest on."""

    campaign_id: str
    rule_id: str
    day: date
    metric: str
    min_share: float
    variant_ids: tuple[str, ...]
    counts: tuple[ArmCounts, ...]
    p_best: tuple[float, ...]
    weights: tuple[float, ...]
    method: str = METHOD
    draws: int = DRAWS
    note: str = ""

    def arms(self) -> list[dict[str, Any]]:
        """One JSON-friendly row per variant: counts, P(best) and weight."""
        return [
            {"variant_id": vid, "successes": c.successes, "trials": c.trials,
             "p_best": round(p, 4), "weight": round(w, 4)}
            for vid, c, p, w in zip(self.variant_ids, self.counts, self.p_best, self.weights, strict=True)
        ]

    def settings(self) -> dict[str, Any]:
        """The method and its inputs other than the counts, JSON-friendly."""
        return {"method": self.method, "metric": self.metric, "as_of": self.day.isoformat(),
                "min_share": self.min_share, "draws": self.draws}

    def describe(self) -> str:
        """One line: ``V1 12.0% (3/120, P(best) 0.08) · V2 ...``."""
        return " · ".join(
            f"{a['variant_id']} {a['weight']:.1%} ({a['successes']}/{a['trials']} {self.metric}, "
            f"P(best) {a['p_best']:.2f})"
            for a in self.arms()
        )


def allocation_seed(campaign_id: str, rule_id: str, day: date) -> int:
    """The Monte Carlo seed for one rule on one day: fixed by these three alone."""
    digest = hashlib.blake2b(
        f"{campaign_id}\x1f{rule_id}\x1f{day.isoformat()}".encode(), digest_size=16
    ).digest()
    return int.from_bytes(digest, "big")


class _Stream:
    """Uniform doubles in (0, 1) from PCG64's raw 64-bit output (stable across numpy
    versions, unlike the ``Generator`` distributions)."""

    def __init__(self, seed: int) -> None:
        self._bits = np.random.PCG64(seed)

    def uniform(self, n: int) -> _FloatArray:
        raw = self._bits.random_raw(n)
        # top 53 bits, centred in their interval: never exactly 0 or 1
        out: _FloatArray = ((raw >> np.uint64(11)).astype(np.float64) + 0.5) * (2.0**-53)
        return out

    def normal(self, n: int) -> _FloatArray:
        u1, u2 = self.uniform(n), self.uniform(n)
        out: _FloatArray = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)  # Box-Muller
        return out

    def gamma(self, shape: float, n: int) -> _FloatArray:
        """Gamma(shape, 1) draws for ``shape >= 1`` (Marsaglia and Tsang, 2000)."""
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        parts: list[_FloatArray] = []
        have = 0
        while have < n:
            m = (n - have) + (n - have) // 10 + 16  # acceptance is above 95% for shape >= 1
            x = self.normal(m)
            u = self.uniform(m)
            v = (1.0 + c * x) ** 3
            ok = v > 0
            safe_v = np.where(ok, v, 1.0)
            ok &= np.log(u) < 0.5 * x * x + d - d * safe_v + d * np.log(safe_v)
            accepted = d * safe_v[ok]
            parts.append(accepted)
            have += accepted.size
        return np.concatenate(parts)[:n]

    def beta(self, a: float, b: float, n: int) -> _FloatArray:
        x, y = self.gamma(a, n), self.gamma(b, n)
        out: _FloatArray = x / (x + y)
        return out


def probability_best(counts: Sequence[ArmCounts], *, seed: int, draws: int = DRAWS) -> list[float]:
    """P(variant has the highest rate) under Beta(1 + s, 1 + f) posteriors, by seeded
    Monte Carlo. Variants with identical counts get identical probabilities (the mean of
    their estimates): they are exchangeable, so with no outcomes the split is exactly even."""
    k = len(counts)
    if k == 0:
        return []
    if k == 1:
        return [1.0]
    if len(set(counts)) == 1:
        return [1.0 / k] * k
    stream = _Stream(seed)
    samples = np.stack([stream.beta(1.0 + c.successes, 1.0 + c.failures, draws) for c in counts])
    wins = np.bincount(np.argmax(samples, axis=0), minlength=k).astype(np.float64) / draws
    groups: dict[ArmCounts, list[int]] = {}
    for i, c in enumerate(counts):
        groups.setdefault(c, []).append(i)
    p = [0.0] * k
    for members in groups.values():
        mean = float(np.mean(wins[members]))
        for i in members:
            p[i] = mean
    return p


def floor_shares(p: Sequence[float], min_share: float) -> list[float]:
    """``p`` with every share at least ``min_share`` (at most ``1/len(p)``): floored
    variants get exactly ``min_share`` and the rest share what is left in proportion to
    ``p``, repeated until none falls below the floor. Sums to 1."""
    k = len(p)
    if k == 0:
        return []
    if not 0 <= min_share <= 1 / k + 1e-12:
        raise ValueError(f"min_share {min_share} is outside [0, 1/{k}]")
    floored: set[int] = set()
    while True:
        free = [i for i in range(k) if i not in floored]
        left = 1.0 - min_share * len(floored)
        mass = sum(p[i] for i in free)
        w = [min_share] * k
        for i in free:
            w[i] = left * p[i] / mass if mass > 0 else left / len(free)
        below = {i for i in free if w[i] < min_share - 1e-12}
        if not below:
            total = sum(w)
            return [x / total for x in w]
        floored |= below


def allocate(
    campaign_id: str,
    rule_id: str,
    variant_ids: Sequence[str],
    counts: Mapping[str, ArmCounts],
    *,
    day: date,
    min_share: float = 0.0,
    metric: str = "converted",
    draws: int = DRAWS,
) -> Allocation:
    """Thompson weights for ``variant_ids`` on ``day``. A variant without counts has
    none yet (Beta(1, 1)). ``min_share`` above ``1/len(variant_ids)`` is lowered to it,
    with a note: every variant cannot get more than an even share."""
    k = len(variant_ids)
    arms = tuple(counts.get(vid, ArmCounts()) for vid in variant_ids)
    note = ""
    floor = min_share
    if k and min_share > 1 / k:
        floor = 1 / k
        note = f"min_share {min_share:g} is more than 1/{k} for {k} variants: every variant gets 1/{k}"
    p = probability_best(arms, seed=allocation_seed(campaign_id, rule_id, day), draws=draws)
    weights = floor_shares(p, floor)
    if not any(c.trials for c in arms):
        note = "; ".join(filter(None, [note, "no outcomes yet: an even split"]))
    return Allocation(campaign_id, rule_id, day, metric, floor, tuple(variant_ids), arms,
                      tuple(p), tuple(weights), draws=draws, note=note)
