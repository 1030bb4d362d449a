"""Deterministic assignment: holdout and variant split by a stable hash.

A contact's bucket depends only on (campaign id, contact id, purpose), never on the
other contacts, the order of the audience or the run: the same contact always lands
in the same place. Holdout and split use different salts so that the split among
treated contacts is not skewed by the holdout cut.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

_SCALE = float(2**64)


def unit(campaign_id: str, contact_id: str, purpose: str) -> float:
    """A uniform number in [0, 1) fixed for (campaign, contact, purpose)."""
    digest = hashlib.blake2b(
        f"{campaign_id}\x1f{purpose}\x1f{contact_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / _SCALE


def in_holdout(campaign_id: str, contact_id: str, share: float) -> bool:
    """True when the contact belongs to the campaign's control group of ``share``."""
    return share > 0 and unit(campaign_id, contact_id, "holdout") < share


def cumulative(weights: Sequence[float]) -> list[float]:
    """Cumulative weights normalised to end at 1.0, for :func:`pick`."""
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("weights must not all be 0")
    cum = [w / total for w in accumulate(weights)]
    cum[-1] = 1.0
    return cum


def pick(u: float, cum: Sequence[float]) -> int:
    """Index of the slot that ``u`` (in [0, 1)) falls into; zero-weight slots never win."""
    return min(bisect_right(cum, u), len(cum) - 1)



def split_index(campaign_id: str, contact_id: str, rule_id: str, cum: Sequence[float]) -> int:
    """The slot of ``cum`` (from :func:`cumulative`) a treated contact of rule
    ``rule_id`` gets. The bucket is fixed per (campaign, contact, rule): when learnt
    weights move, only contacts near a boundary change variant, and with an even split
    (no outcomes yet) a learning rule assigns exactly like a plain one."""
    return pick(unit(campaign_id, contact_id, "split:" + rule_id), cum)
