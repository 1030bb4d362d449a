"""One place for 'now', so tests can move time (e.g. to expire a review-by date)."""

from __future__ import annotations

from datetime import UTC, date, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current UTC time (or the frozen time set by :func:`freeze`)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def now_iso() -> str:
    """Current UTC time as ISO 8601 with microseconds."""
    return now().isoformat(timespec="microseconds")


def today() -> date:
    """Today's date in UTC."""
    return now().date()


def freeze(at: datetime | None) -> None:
    """Freeze the clock at ``at`` (``None`` unfreezes). For tests and demos."""
    global _frozen
    _frozen = at
