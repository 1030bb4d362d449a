"""Opening the SQLite library: WAL mode, a busy timeout, and write transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from copydesk.errors import CopydeskError

BUSY_TIMEOUT_MS = 10_000


def open_db(path: Path | str | None) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the library at ``path``; ``None`` = in memory."""
    from copydesk.migrations import migrate

    try:
        if path is None:
            db = sqlite_utils.Database(memory=True, execute_plugins=False)
        else:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            db = sqlite_utils.Database(conn, execute_plugins=False)
            if db.journal_mode != "wal":
                db.enable_wal()
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        where = str(path) if path is not None else "the in-memory library"
        raise CopydeskError(
            f"{where} is not a readable copydesk library ({exc}); restore it from a backup "
            "(nothing was changed)"
        ) from None
    except OSError as exc:
        raise CopydeskError(f"cannot open the library {path}: {exc.strerror or exc}") from None
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One immediate write transaction: concurrent writers queue on the busy timeout
    instead of failing half-way, and every check inside sees the committed state."""
    conn = db.conn
    if conn.in_transaction:
        raise CopydeskError("internal: nested write transaction")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise CopydeskError(f"the library is busy, try again ({exc})") from None
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
