"""Outcome records: import what happened after a send, row by row.

A file (CSV with a header, or JSON Lines) holds one event per row:
``contact_id, campaign_id, event, at, value``. Each row is validated on its
own; a bad row goes to the rejects list naming file, line and field, and the
good rows are imported (invariant 8). Import is idempotent on the natural key
``(contact_id, campaign_id, event, at)``: importing a file twice counts nothing
twice.

Rows with text that is not valid UTF-8, NUL or control characters, JSON nested too
deeply, or an ``at`` outside 2000-01-01 .. a day after now are rejected the same way;
only whole-file problems (missing file, unknown type, bad header) stop an import.

Rows that cannot be true are rejected too, since one of them can swing a report: an
outcome dated before the contact's first send record in the campaign, a negative
``value`` or one above ``max_value`` (default :data:`MAX_VALUE`), and a ``delivered``,
``opened`` or ``clicked`` event for a holdout contact, who was sent nothing.
Conversions, unsubscribes and complaints of holdout contacts are the baseline and are
kept.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from copydesk import clock
from copydesk.errors import InputError
from copydesk.inputs import (
    bad_character,
    has_surrogates,
    json_object,
    printable,
    sane_moment,
    to_utc,
)
from copydesk.measure.tables import OUTCOMES

SENDS = "sends"


class Event(StrEnum):
    """What a contact did (or what happened to the message) after a send."""

    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"


#: The funnel, in order.
FUNNEL = (Event.DELIVERED, Event.OPENED, Event.CLICKED, Event.CONVERTED)

COLUMNS = ("contact_id", "campaign_id", "event", "at", "value")
REQUIRED_COLUMNS = ("contact_id", "campaign_id", "event", "at")

#: Events that only a message can cause: a holdout contact, sent nothing, cannot have them.
MESSAGE_EVENTS = frozenset({Event.DELIVERED, Event.OPENED, Event.CLICKED})

#: The largest ``value`` (revenue of one conversion) accepted unless the import says
#: otherwise: one mistyped 1e12 would make revenue per recipient hundreds of millions.
MAX_VALUE = 1_000_000.0


def parse_datetime(value: object) -> datetime:
    """Parse an ISO 8601 date or datetime into an aware UTC datetime.

    A datetime without an offset is taken as UTC (like the send records). One that
    UTC cannot hold (``9999-12-31T23:59:59-23:59``) is a ``ValueError`` like any other
    unreadable value.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"'{printable(value)[:64]}' is not an ISO 8601 datetime (e.g. 2025-03-01T09:30:00Z)"
            ) from None
    else:
        raise ValueError(f"{printable(repr(value))[:64]} is not an ISO 8601 datetime string")
    return to_utc(parsed)


class Outcome(BaseModel):
    """One outcome row. ``value`` is revenue and belongs only on ``converted`` events."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    contact_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    event: Event
    at: datetime
    value: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("contact_id", "campaign_id")
    @classmethod
    def _text(cls, value: str) -> str:
        problem = bad_character(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("at", mode="before")
    @classmethod
    def _iso(cls, value: object, info: ValidationInfo) -> datetime:
        # before 2000 or in the future: a typo or a forged row, never a real outcome
        now = info.context.get("now") if isinstance(info.context, dict) else None
        return sane_moment(parse_datetime(value), now=now)

    @field_validator("value", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value

    @field_validator("value")
    @classmethod
    def _plausible(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        if value < 0:
            raise ValueError(
                f"negative revenue ({value:g}): a refund is not a conversion; import the order's net value"
            )
        context = info.context if isinstance(info.context, dict) else {}
        limit = float(context.get("max_value") or MAX_VALUE)
        if value > limit:
            raise ValueError(
                f"revenue {value:g} is more than the largest accepted ({limit:,.0f}); if it is real, "
                "import again with a higher --max-value"
            )
        return value

    @model_validator(mode="after")
    def _value_on_conversions(self) -> Outcome:
        if self.value is not None and self.event is not Event.CONVERTED:
            raise ValueError("value (revenue) is only allowed on 'converted' events")
        return self

    @property
    def at_text(self) -> str:
        """``at`` as stored: ISO 8601 in UTC with a ``+00:00`` offset."""
        return self.at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Reject:
    """One row that was not imported, and why."""

    source: str
    line: int
    field: str | None
    reason: str
    row: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}: "
        if self.field:
            where += f"field '{self.field}': "
        return printable(where + self.reason)


@dataclass
class ImportResult:
    """What one import did: rows read, newly stored, already present, rejected."""

    source: str
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)


def _validation_reject(exc: ValidationError) -> tuple[str | None, str]:
    error = exc.errors()[0]
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else None
    if name is None and "value (revenue)" in error["msg"]:
        name = "value"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown field; expected {', '.join(COLUMNS)}"
    return name, message


def _csv_header(reader: Any, source: str) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"unreadable header: {exc}", source=source, line=1) from None
    if header is None:
        raise InputError("empty file; expected a header row", source=source, line=1)
    header = [name.strip() for name in header]
    for name in header:
        if name not in COLUMNS:
            raise InputError(
                f"unknown column; expected {', '.join(COLUMNS)}",
                source=source,
                line=1,
                field=printable(name),
            )
    for name in REQUIRED_COLUMNS:
        if name not in header:
            raise InputError("required column is missing", source=source, line=1, field=name)
    return header


def _read_csv(path: Path, source: str) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    # surrogateescape: a row that is not UTF-8 is rejected on its own, not the whole file
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        header = _csv_header(reader, source)
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, Reject(source, line, None, f"malformed CSV: {exc}", "")
                continue
            line = reader.line_num
            if not cells or all(not cell.strip() for cell in cells):
                continue
            if any(has_surrogates(cell) for cell in cells):
                yield line, Reject(source, line, None, "not valid UTF-8 text", printable(",".join(cells)))
                continue
            if len(cells) != len(header):
                yield (
                    line,
                    Reject(
                        source,
                        line,
                        None,
                        f"row has {len(cells)} fields, the header has {len(header)}",
                        ",".join(cells),
                    ),
                )
                continue
            yield line, dict(zip(header, cells, strict=True))


def _read_jsonl(path: Path, source: str) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, start=1):
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a byte-order mark some editors write
            if not raw.strip():
                continue
            data = json_object(raw)
            if isinstance(data, str):
                shown = printable(raw.decode("utf-8", "backslashreplace").rstrip())[:1000]
                yield line, Reject(source, line, None, data, shown)
                continue
            yield line, data


def read_rows(path: Path, *, source: str | None = None) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    """Yield ``(line, raw row)`` or ``(line, Reject)`` from a ``.csv`` or ``.jsonl`` file."""
    name = printable(source or str(path))
    if not path.is_file():
        raise InputError("file not found", source=name)
    try:
        path.open("rb").close()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, name)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path, name)
    raise InputError("unknown file type; use .csv or .jsonl", source=name)


@dataclass(frozen=True, slots=True)
class Sent:
    """A contact's first send record in a campaign: when, and whether it was held out."""

    at: datetime | None
    holdout: bool


def _stored_moment(text: object) -> datetime | None:
    # a send stored before send times were validated may be unreadable: then no date check
    try:
        return to_utc(datetime.fromisoformat(str(text)))
    except (TypeError, ValueError, OverflowError):
        return None


class _SendIndex:
    """The contacts each campaign has send records for, each with its first send (the
    report's arm: see :mod:`copydesk.measure.report`), loaded once per campaign."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._by_campaign: dict[str, dict[str, Sent]] = {}

    def contacts(self, campaign_id: str) -> dict[str, Sent]:
        if campaign_id not in self._by_campaign:
            rows = self._db.execute(
                f"SELECT contact_id, sent_at, holdout FROM {SENDS} WHERE campaign_id = ? ORDER BY sent_at, id",
                [campaign_id],
            )
            first: dict[str, Sent] = {}
            for contact_id, sent_at, holdout in rows:
                if contact_id not in first:
                    first[contact_id] = Sent(_stored_moment(sent_at), bool(holdout))
            self._by_campaign[campaign_id] = first
        return self._by_campaign[campaign_id]


def _impossible(outcome: Outcome, sent: Sent) -> tuple[str, str] | None:
    """The field and reason when ``outcome`` cannot have happened after ``sent``."""
    if sent.at is not None and outcome.at < sent.at:
        return "at", (
            f"{outcome.at_text} is before this contact's send record in campaign '{outcome.campaign_id}' "
            f"({sent.at.isoformat()}): an outcome cannot come before its send"
        )
    if sent.holdout and outcome.event in MESSAGE_EVENTS:
        return "event", (
            f"'{outcome.event.value}' for a holdout contact, who was sent nothing in campaign "
            f"'{outcome.campaign_id}' (their conversions, unsubscribes and complaints are kept)"
        )
    return None


def _raw(row: dict[str, Any]) -> str:
    return printable(json.dumps(row, ensure_ascii=False, default=str))


def import_outcomes(
    db: sqlite_utils.Database,
    path: Path,
    *,
    source: str | None = None,
    now: datetime | None = None,
    max_value: float = MAX_VALUE,
) -> ImportResult:
    """Import the outcome file at ``path`` into ``db`` in one transaction.

    Bad rows are returned in ``result.rejects`` (file, line, field, reason);
    every good row is stored. Rows that cannot be true (before the contact's send,
    revenue below 0 or above ``max_value``, message events of holdout contacts) are
    bad rows. A row already stored (same contact, campaign,
    event and time) counts as a duplicate; the same key with a different
    ``value`` is rejected, since stored outcomes are never silently changed.
    Raises :class:`InputError` only for whole-file problems (missing file,
    unknown type, bad header).
    """
    name = source or str(path)
    result = ImportResult(source=name)
    moment = now or clock.now()
    imported_at = moment.astimezone(UTC).isoformat()
    sends = _SendIndex(db)
    rows = read_rows(path, source=name)
    with db.atomic():
        for line, raw in rows:
            result.read += 1
            if isinstance(raw, Reject):
                result.rejects.append(raw)
                continue
            try:
                outcome = Outcome.model_validate(raw, context={"now": moment, "max_value": max_value})
            except ValidationError as exc:
                field_name, reason = _validation_reject(exc)
                result.rejects.append(Reject(name, line, field_name, reason, _raw(raw)))
                continue
            contacts = sends.contacts(outcome.campaign_id)
            if not contacts:
                result.rejects.append(
                    Reject(
                        name,
                        line,
                        "campaign_id",
                        f"unknown campaign '{outcome.campaign_id}' (no send records)",
                        _raw(raw),
                    )
                )
                continue
            sent = contacts.get(outcome.contact_id)
            if sent is None:
                result.rejects.append(
                    Reject(
                        name,
                        line,
                        "contact_id",
                        f"no send record for contact '{outcome.contact_id}' in campaign '{outcome.campaign_id}'",
                        _raw(raw),
                    )
                )
                continue
            impossible = _impossible(outcome, sent)
            if impossible is not None:
                result.rejects.append(Reject(name, line, impossible[0], impossible[1], _raw(raw)))
                continue
            conflict = _store(db, outcome, name, imported_at)
            if conflict is None:
                result.imported += 1
            elif conflict == "duplicate":
                result.duplicates += 1
            else:
                result.rejects.append(Reject(name, line, "value", conflict, _raw(raw)))
    return result


def _store(db: sqlite_utils.Database, outcome: Outcome, source: str, imported_at: str) -> str | None:
    """Insert one outcome; ``None`` when stored, ``"duplicate"`` when already
    present with the same value, else the reason it conflicts."""
    key = [outcome.contact_id, outcome.campaign_id, outcome.event.value, outcome.at_text]
    cursor = db.execute(
        f"INSERT OR IGNORE INTO {OUTCOMES} "
        "(contact_id, campaign_id, event, at, value, source, imported_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [*key, outcome.value, source, imported_at],
    )
    if cursor.rowcount == 1:
        return None
    existing = db.execute(
        f"SELECT value FROM {OUTCOMES} WHERE contact_id = ? AND campaign_id = ? AND event = ? AND at = ?",
        key,
    ).fetchone()[0]
    same = (existing is None and outcome.value is None) or (
        existing is not None
        and outcome.value is not None
        and math.isclose(existing, outcome.value, rel_tol=1e-12, abs_tol=1e-12)
    )
    if same:
        return "duplicate"
    return (
        f"this contact, campaign, event and time were already imported with value "
        f"{existing!r}; stored outcomes are not changed"
    )


def write_rejects(rejects: list[Reject], path: Path) -> None:
    """Write rejects as CSV: ``source, line, field, reason, row``."""
    try:
        handle = path.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the rejects file: {exc.strerror or exc}", source=printable(str(path))) from None
    with handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "line", "field", "reason", "row"])
        for reject in rejects:
            writer.writerow([printable(reject.source), reject.line, printable(reject.field or ""),
                             printable(reject.reason), printable(reject.row)])
