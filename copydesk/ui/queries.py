"""Read-only queries the app needs that the service layer does not offer (yet).

Plain functions of the database: counts for pagination, the review queue by brief,
and guardrail findings over time. They never write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from copydesk.services.desk import Desk


@dataclass(frozen=True)
class LibraryFilter:
    """The Library page's filters (empty strings mean 'any')."""

    text: str = ""
    status: str = ""
    stage: str = ""
    channel: str = ""
    segment: str = ""
    brief_id: str = ""
    expiring_within_days: int | None = None

    def list_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Desk.list_variants`."""
        return {
            "status": self.status or None,
            "stage": self.stage or None,
            "channel": self.channel or None,
            "segment": self.segment or None,
            "brief_id": self.brief_id or None,
            "expiring_within_days": self.expiring_within_days,
        }


def count_variants(desk: Desk, f: LibraryFilter, ids: list[str] | None = None) -> int:
    """How many variants :meth:`Desk.list_variants` would return for ``f`` (and ``ids``)."""
    return desk.count_variants(**f.list_kwargs(), ids=ids)


def distinct_segments(db: sqlite_utils.Database) -> list[str]:
    """Every segment name used by a brief or a variant."""
    rows = db.execute(
        "SELECT segment FROM briefs UNION SELECT segment FROM variants WHERE segment IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows if r[0]]


@dataclass(frozen=True)
class QueueEntry:
    """One brief with variants waiting for review."""

    brief_id: str
    title: str
    channel: str
    stage: str
    waiting: int


def review_queue(db: sqlite_utils.Database) -> list[QueueEntry]:
    """Briefs with variants in review, the longest-waiting first."""
    rows = db.execute(
        "SELECT v.brief_id, COALESCE(b.title, ''), v.channel, v.stage, COUNT(*), MIN(v.updated_at) "
        "FROM variants v LEFT JOIN briefs b ON b.id = v.brief_id WHERE v.status = 'in_review' "
        "GROUP BY v.brief_id ORDER BY MIN(v.updated_at), v.brief_id"
    ).fetchall()
    return [QueueEntry(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def findings_by_day(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Guardrail findings on new revisions per day, category and severity."""
    rows = db.execute(
        "SELECT substr(r.created_at, 1, 10) AS day, json_extract(j.value, '$.category') AS category, "
        "json_extract(j.value, '$.severity') AS severity, COUNT(*) "
        "FROM revisions r, json_each(r.findings) j "
        "GROUP BY day, category, severity ORDER BY day, category, severity"
    ).fetchall()
    return [{"day": r[0], "category": r[1], "severity": r[2], "findings": int(r[3])} for r in rows]


def audit_actions(db: sqlite_utils.Database) -> list[str]:
    """Every action name present in the audit log."""
    return [r[0] for r in db.execute("SELECT DISTINCT action FROM audit_events ORDER BY action")]


def audit_actors(db: sqlite_utils.Database) -> list[str]:
    """Every actor present in the audit log."""
    return [r[0] for r in db.execute("SELECT DISTINCT actor FROM audit_events ORDER BY actor")]
