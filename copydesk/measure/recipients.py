"""Recipients: the unit every figure of the report counts.

A recipient is one contact in one campaign, in the arm of its first send record (a
variant, or the holdout), with what it did afterwards: which events (and how many of
each), when each first happened, and its revenue (the sum of ``value`` on its
``converted`` events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from copydesk.errors import NotFoundError
from copydesk.measure.outcomes import SENDS, Event
from copydesk.measure.tables import OUTCOMES


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


def count_with(recipients: Sequence[Recipient], event: str) -> int:
    """Recipients with at least one ``event``."""
    return sum(1 for r in recipients if r.events.get(event))


def tally(recipients: Iterable[Recipient]) -> tuple[dict[str, int], dict[str, int]]:
    """In one pass: events per event name (repeats counted) and recipients with each event."""
    events: dict[str, int] = defaultdict(int)
    having: dict[str, int] = defaultdict(int)
    for recipient in recipients:
        for event, count in recipient.events.items():
            if count:
                events[event] += count
                having[event] += 1
    return events, having


def revenues(recipients: Sequence[Recipient], cap: float | None = None) -> list[float]:
    """Each recipient's revenue, zeros included; capped at ``cap`` when given (winsorised)."""
    if cap is None:
        return [r.revenue for r in recipients]
    return [min(r.revenue, cap) for r in recipients]


def split_by(recipients: Iterable[Recipient], key: Callable[[Recipient], str | None]) -> dict[str, list[Recipient]]:
    """Recipients grouped by ``key`` (sorted by key; ``None`` keys left out)."""
    groups: dict[str, list[Recipient]] = defaultdict(list)
    for recipient in recipients:
        value = key(recipient)
        if value is not None:
            groups[value].append(recipient)
    return dict(sorted(groups.items()))
