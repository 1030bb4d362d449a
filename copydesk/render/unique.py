"""One message per contact per run: repeats of a contact id are rejected.

The ids seen so far live in a private temporary SQLite database (``sqlite3.connect("")``:
on disk, a few MB of page cache, deleted on close), so memory stays flat for any audience
size. Cost, measured in ``benchmarks/render.py``: about 2 s per million contacts on one
core (a lookup and an insert per chunk of 1,000 ids).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import islice

from copydesk.render.audience import ID_FIELD, Record, Reject

CHUNK = 1000


class SeenContacts:
    """Contact ids already seen in this run, with the row each was first seen at."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")

    def first_rows(self, ids: list[str]) -> dict[str, int]:
        """The first row of each id in ``ids`` that was seen before."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self._db.execute(f"SELECT id, row FROM seen WHERE id IN ({marks})", ids).fetchall())

    def add(self, rows: dict[str, int]) -> None:
        """Remember ``id -> first row`` pairs."""
        self._db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", rows.items())

    def close(self) -> None:
        self._db.close()


def duplicate_reject(row: int, line: int | None, contact_id: str, first_row: int) -> Reject:
    """The reject of a contact id seen before, at ``first_row``."""
    return Reject(row, line, contact_id, "read",
                  f"duplicate contact_id: first seen at row {first_row}; one message per contact",
                  ID_FIELD, repr(contact_id))


def unique_contacts(items: Iterator[Record | Reject]) -> Iterator[Record | Reject]:
    """``items`` in order, with every repeat of a contact id turned into a reject that
    names the row where the contact first appeared."""
    seen = SeenContacts()
    try:
        while chunk := list(islice(items, CHUNK)):
            ids = [item.data[ID_FIELD] for item in chunk if isinstance(item, Record)]
            earlier = seen.first_rows(ids)
            new: dict[str, int] = {}
            for item in chunk:
                if isinstance(item, Reject):
                    yield item
                    continue
                cid = item.data[ID_FIELD]
                first = earlier.get(cid, new.get(cid))
                if first is None:
                    new[cid] = item.row
                    yield item
                else:
                    yield duplicate_reject(item.row, item.line, cid, first)
            seen.add(new)
    finally:
        seen.close()
