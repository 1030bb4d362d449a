"""Helpers for measurement tests: the core's ``sends`` schema and a campaign builder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils


def create_sends(db: sqlite_utils.Database) -> None:
    """The core's ``sends`` table, exactly as the brief describes it."""
    db.execute(
        "CREATE TABLE sends (id INTEGER PRIMARY KEY, contact_id TEXT, campaign_id TEXT, "
        "channel TEXT, variant_id TEXT NULL, content_hash TEXT NULL, rule_id TEXT NULL, "
        "stage TEXT NULL, holdout INTEGER, sent_at TEXT)"
    )


@dataclass
class Arm:
    """``size`` recipients of one arm, with how many had each event."""

    name: str
    size: int
    converted: int = 0
    unsubscribed: int = 0
    complained: int = 0
    opened: int = 0
    delivered: int | None = None
    stage: str | None = None
    rule: str | None = None
    value: float | None = None

    @property
    def holdout(self) -> bool:
        return self.name == "holdout"


def add_campaign(db: sqlite_utils.Database, campaign_id: str, arms: Iterable[Arm], *, day: str = "2025-03-01") -> None:
    """Send records for each arm, and outcome rows for the first ``k`` contacts of
    each event (conversions on the next day, everything else the same day)."""
    sends = []
    outcomes = []
    for arm in arms:
        prefix = f"{arm.name}-{arm.stage or 'x'}"
        for i in range(arm.size):
            contact = f"{prefix}-{i}"
            sends.append(
                {
                    "contact_id": contact,
                    "campaign_id": campaign_id,
                    "channel": "email",
                    "variant_id": None if arm.holdout else arm.name,
                    "rule_id": None if arm.holdout else arm.rule,
                    "stage": arm.stage,
                    "holdout": int(arm.holdout),
                    "sent_at": f"{day}T08:00:00+00:00",
                }
            )
            delivered = arm.delivered if arm.delivered is not None else (0 if arm.holdout else arm.size)
            events = {
                "delivered": delivered,
                "opened": arm.opened,
                "converted": arm.converted,
                "unsubscribed": arm.unsubscribed,
                "complained": arm.complained,
            }
            for event, count in events.items():
                if i < count:
                    outcomes.append(
                        {
                            "contact_id": contact,
                            "campaign_id": campaign_id,
                            "event": event,
                            "at": f"{day}T{10 + (i % 2)}:00:00+00:00"
                            if event != "converted"
                            else f"2025-03-0{2 + i % 3}T12:00:00+00:00",
                            "value": arm.value if event == "converted" else None,
                            "source": "fixture",
                            "imported_at": "2025-03-09T00:00:00+00:00",
                        }
                    )
    db.table("sends").insert_all(sends)
    if outcomes:
        db.table("outcomes").insert_all(outcomes)
