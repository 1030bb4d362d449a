"""Typed contact values: coercion of text cells and comparison-friendly normalisation.

CSV cells arrive as text; the rule engine compares typed values. ``coerce_text`` turns
a cell into ``int``/``float``/``bool``/``date``/``datetime``/``list`` when it looks
unambiguously like one, and leaves everything else as text. Identifiers that look like
numbers but carry a leading zero or a ``+`` (phone numbers, postcodes, ids) stay text.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})

#: Columns that are always kept as text, whatever they look like.
TEXT_COLUMNS = frozenset({"contact_id", "id", "phone", "postcode", "zip"})


def coerce_text(text: str) -> Any:
    """Return the typed value of one text cell (see the module docstring).

    Lists are written as a JSON array (``["hiking", "camping"]``) or with ``|`` between
    items (``hiking|camping``). An empty cell is ``None`` (the field is missing).
    """
    s = text.strip()
    if not s:
        return None
    first = s[0]
    if first.isdigit() or first == "-":
        return _numeric_or_date(s)
    low = s.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    if first == "[" and s.endswith("]"):
        try:
            parsed = json.loads(s)
        except ValueError:
            return s
        return parsed if isinstance(parsed, list) else s
    if "|" in s:
        return _split_list(s)
    return s


def _numeric_or_date(s: str) -> Any:
    """A cell starting with a digit or '-': number, date, date-time, list, or the text."""
    if _INT.fullmatch(s):
        return int(s)
    if _FLOAT.fullmatch(s):
        return float(s)
    if len(s) == 10 and _DATE.fullmatch(s):
        try:
            return date.fromisoformat(s)
        except ValueError:
            return s
    if _DATETIME.fullmatch(s):
        try:
            return datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            return s
    if "|" in s:
        return _split_list(s)
    return s


def _split_list(s: str) -> list[Any]:
    return [coerce_text(part) for part in s.split("|") if part.strip()]


def coerce_iso(text: str) -> Any:
    """Return a ``date``/``datetime`` for an ISO date string, else the text unchanged.

    JSON has numbers and booleans of its own, so JSONL string values only get this."""
    if len(text) >= 10 and text[:4].isdigit() and text[4:5] == "-":
        if len(text) == 10 and _DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return text
        if _DATETIME.fullmatch(text):
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return text
    return text


def as_day(value: Any) -> date | None:
    """The calendar day of a ``date``/``datetime`` value (``None`` for anything else)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def align(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Bring two values to comparable types where that is unambiguous.

    Dates compare with datetimes by day; text compared with a typed value is coerced
    like a CSV cell (so a quoted ``"3"`` in a rule matches the number 3)."""
    if type(actual) is type(expected):
        return actual, expected
    if isinstance(expected, str) and not isinstance(actual, str):
        expected = coerce_text(expected)
    elif isinstance(actual, str) and not isinstance(expected, str):
        actual = coerce_text(actual)
    if isinstance(actual, datetime) and not isinstance(expected, datetime):
        if isinstance(expected, date):
            actual = actual.date()
    elif isinstance(expected, datetime) and not isinstance(actual, datetime):
        if isinstance(actual, date):
            expected = expected.date()
    elif (
        isinstance(actual, datetime)
        and isinstance(expected, datetime)
        and (actual.tzinfo is None) != (expected.tzinfo is None)
    ):
        actual, expected = as_utc(actual), as_utc(expected)
    return actual, expected


def same(actual: Any, expected: Any) -> bool:
    """Equality that never treats ``True`` as ``1``."""
    actual, expected = align(actual, expected)
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False
    return bool(actual == expected)
