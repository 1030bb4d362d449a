"""Checks every reader applies to values that come from outside (files, forms, arguments).

One home for the limits behind the fail-closed rules (docs/security.md): text must be
valid Unicode without lone surrogates, NUL or other control characters; nested data has a
depth limit; timestamps must be convertible to UTC and lie in a sane range. Readers turn a
failed check into a per-row reject or a one-line :class:`~copydesk.errors.InputError`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from copydesk import clock
from copydesk.errors import InputError

#: Deepest nesting of lists and objects a JSON row (or a YAML file) may have.
MAX_DEPTH = 32

#: Timestamps before this are not sends or outcomes of this product; they are typos or attacks.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

#: How far after "now" a timestamp may be (clock skew between systems, time zones).
FUTURE_SLACK = timedelta(days=1)

# C0 and C1 controls except tab, newline and CR of a CRLF; lone surrogates (what
# surrogateescape makes of invalid UTF-8). A bare CR can hide text on a terminal.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")


def bad_character(text: str) -> str | None:
    """Why ``text`` is not acceptable text (the first offending character), or ``None``."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    char = found.group()[0]
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate (invalid UTF-8 or a broken \\u escape)"
    elif code == 0:
        kind = "a NUL character"
    else:
        kind = "a control character"
    return f"contains {kind}, U+{code:04X}, at position {found.start()}"


def check_text(value: str, field: str) -> str:
    """``value`` unchanged, or an :class:`InputError` naming ``field`` when it holds a lone
    surrogate, NUL or a control character other than tab and newline."""
    problem = bad_character(value)
    if problem:
        raise InputError(problem, field=field)
    return value


def has_surrogates(text: str) -> bool:
    """True when ``text`` cannot be encoded as UTF-8 (it holds a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """``text`` safe to write as UTF-8 anywhere: lone surrogates become ``\\udcff`` escapes."""
    if not has_surrogates(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when lists/dicts in ``value`` nest more than ``limit`` levels (iterative: a
    hostile value cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def unreadable_value(value: Any) -> str | None:
    """Why a decoded row value (any nesting) cannot be used, or ``None``: lone surrogates
    in keys or text, numbers that are not finite, date-times outside what UTC can hold."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_surrogates(item):
                return "not valid UTF-8 text (a lone surrogate)"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"not a finite number ({item})"
        elif isinstance(item, datetime):
            try:
                to_utc(item)
            except ValueError as exc:
                return str(exc)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def to_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive means UTC already); ``ValueError`` when
    the conversion leaves the range datetime can hold (``9999-12-31T23:59:59-23:59``)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"'{moment.isoformat()}' is outside the range of dates that can be used") from None


def sane_moment(moment: datetime | date, *, now: datetime | None = None) -> datetime:
    """``moment`` in UTC when it lies between :data:`EARLIEST` and a day after ``now``
    (default: :func:`copydesk.clock.now`); otherwise ``ValueError`` saying which bound."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    utc = to_utc(moment)
    if utc < EARLIEST:
        raise ValueError(f"'{moment.isoformat()}' is before {EARLIEST.date().isoformat()}")
    latest = (now or clock.now()) + FUTURE_SLACK
    if utc > latest:
        raise ValueError(f"'{moment.isoformat()}' is in the future (later than {latest.isoformat(timespec='seconds')})")
    return utc


def json_object(raw: bytes) -> dict[str, Any] | str:
    """One JSON Lines line as an object, or why it cannot be read (invalid UTF-8, invalid
    JSON, an integer too long to convert, nesting beyond :data:`MAX_DEPTH`, not an
    object). Every JSONL reader uses this, so a hostile line is a reject, never a crash."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8 text"
    try:
        obj = json.loads(text)
    except RecursionError:
        return f"invalid JSON: nested more than {MAX_DEPTH} levels deep"
    except ValueError as exc:  # includes integers too long to convert
        return f"invalid JSON: {exc}"
    if not isinstance(obj, dict):
        return "a line must be a JSON object"
    if too_deep(obj):
        return f"invalid JSON: nested more than {MAX_DEPTH} levels deep"
    return obj
