"""The library schema for outcomes: what happened after a send.

``migrate_outcomes`` is one named migration for the core's append-only list.
Each outcome is linked to the send records by ``(campaign_id, contact_id)``;
the importer refuses outcomes with no such send.
"""

from __future__ import annotations

import sqlite_utils

OUTCOMES = "outcomes"

#: The natural key: importing the same row twice stores it once.
NATURAL_KEY = ("contact_id", "campaign_id", "event", "at")


def migrate_outcomes(db: sqlite_utils.Database) -> None:
    """Create the ``outcomes`` table: one row per recorded event for a contact in a
    campaign, unique on ``(contact_id, campaign_id, event, at)``; ``at`` is stored as
    an ISO 8601 UTC datetime, ``value`` (revenue) only on ``converted`` events."""
    table = db.table(OUTCOMES)
    table.create(
        {
            "id": int,
            "contact_id": str,
            "campaign_id": str,
            "event": str,
            "at": str,
            "value": float,
            "source": str,
            "imported_at": str,
        },
        pk="id",
        not_null={"contact_id", "campaign_id", "event", "at", "imported_at"},
    )
    table.create_index(list(NATURAL_KEY), index_name="outcomes_natural_key", unique=True)
    table.create_index(["campaign_id", "event"], index_name="outcomes_campaign_event")
