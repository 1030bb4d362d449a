"""The review-by rule, in one place.

An approval with review-by date D is valid through D itself and *expired* from D + 1:
an expired approval is not sent or exported until a reviewer approves it again. Python
code asks :func:`is_expired`; SQL over ``variants`` uses :func:`unexpired_sql` (one
fragment, negated for the expired set), so the boundary day cannot drift between them.
"""

from __future__ import annotations

from datetime import date, timedelta

from copydesk.errors import InputError


def is_expired(review_by: date | None, today: date) -> bool:
    """True when an approval with ``review_by`` has lapsed on ``today``."""
    return review_by is not None and review_by < today


def unexpired_sql(table: str = "v") -> str:
    """SQL true for a row of ``variants`` (aliased ``table``) whose approval has not
    lapsed; takes one parameter, today's ISO date."""
    return f"({table}.review_by IS NULL OR {table}.review_by >= ?)"


def expired_sql(table: str = "v") -> str:
    """SQL true for a row whose review-by date has passed (one parameter: today)."""
    return f"(NOT {unexpired_sql(table)})"


def new_review_by(review_by: date | None, today: date, *, default_days: int, max_days: int) -> date:
    """The review-by date of a new approval: ``review_by`` when given, else ``today`` plus
    ``default_days``. It must lie in the future (an approval that lapses today would be
    expired tomorrow morning) and no more than ``max_days`` ahead (``max_review_days``:
    no approval is forever; content is re-read at least that often)."""
    chosen = review_by if review_by is not None else today + timedelta(days=default_days)
    if chosen <= today:
        raise InputError(f"review-by date {chosen} must be in the future", field="review_by")
    latest = today + timedelta(days=max_days)
    if chosen > latest:
        raise InputError(
            f"review-by date {chosen} is more than {max_days} days ahead (max_review_days in "
            f"copydesk.yaml): choose {latest} or earlier",
            field="review_by",
        )
    return chosen
