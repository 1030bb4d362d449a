"""The judge's verdict cache: one SQLite file beside the library (``store/judge-cache.db``).

A verdict is stored under ``(rule id, rule version, sha256 of the judged text, model
label, sha256 of the prompt)``: the same text judged by the same rule and model is
asked once. Bumping a rule's ``version``, editing its question or examples, or
changing the model asks again. Only usable verdicts are stored; an endpoint error or an
unusable answer is asked again next time.

The cache is derived data, not part of the library: it lives in its own file (so the
library's schema, audit and backups are untouched), and deleting the file only costs
requests. Its schema is its own append-only migration set (``copydesk-judge-cache``),
the pattern of :mod:`copydesk.migrations`. A cache that cannot be opened or written
never stops a check: it is switched off and :attr:`JudgeCache.problem` says why.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from copydesk import clock

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_MS = 10_000
TABLE = "judge_verdicts"
KEY = ("rule_id", "version", "text_sha256", "model", "prompt_sha256")
MIGRATION_SET = "copydesk-judge-cache"


def m001_judge_verdicts(db: sqlite_utils.Database) -> None:
    """The verdicts table, keyed by :data:`KEY`."""
    db.table(TABLE).create(
        {
            "rule_id": str,
            "version": int,
            "text_sha256": str,
            "model": str,
            "prompt_sha256": str,
            "violation": int,
            "quote": str,
            "reason": str,
            "at": str,
        },
        pk=KEY,
        not_null={*KEY, "violation", "quote", "reason", "at"},
    )


@functools.cache
def migrations() -> Migrations:
    """The cache file's append-only migrations. Never edit one that has shipped; add one.
    (Built on first use: importing sqlite-utils is not free, and a policy without judge
    rules never opens the cache.)"""
    from sqlite_utils.migrations import Migrations

    steps = Migrations(MIGRATION_SET)
    steps()(m001_judge_verdicts)
    return steps


@dataclass(frozen=True)
class VerdictKey:
    """What a cached verdict is stored under."""

    rule_id: str
    version: int
    text_sha256: str
    model: str
    prompt_sha256: str

    def row(self) -> list[str | int]:
        return [self.rule_id, self.version, self.text_sha256, self.model, self.prompt_sha256]


@dataclass(frozen=True)
class Verdict:
    """A usable judge answer: ``quote`` is an exact span of the judged text when
    ``violation`` is true."""

    violation: bool
    quote: str
    reason: str


class JudgeCache:
    """Verdicts by :class:`VerdictKey`, in ``path`` (``None``: in memory, for one process).

    The file is opened on first use, so a policy without judge rules never creates it.
    Safe to share between threads; several processes share the file through WAL."""

    def __init__(self, path: Path | str | None) -> None:
        self.path = Path(path) if path is not None else None
        #: Why the cache is switched off (``None`` while it works).
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection | None:
        if self._conn is not None or self.problem is not None:
            return self._conn
        import sqlite_utils

        try:
            if self.path is None:
                conn = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            db = sqlite_utils.Database(conn, execute_plugins=False)
            if self.path is not None and db.journal_mode != "wal":
                db.enable_wal()
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # a cache may lose its last verdicts on a power cut (never its consistency):
            # no fsync per stored verdict
            db.execute("PRAGMA synchronous = NORMAL")
            migrations().apply(db)
        except (sqlite3.Error, OSError) as exc:
            self._off(f"cannot open {self.path}: {exc}")
            return None
        self._conn = conn
        return conn

    def _off(self, why: str) -> None:
        # The cache only saves requests: a broken one is switched off, never fatal.
        self.problem = f"verdict cache off ({why}); every judgement is asked again"
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, key: VerdictKey) -> Verdict | None:
        """The stored verdict for ``key``, or ``None``."""
        with self._lock:
            conn = self._open()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    f"SELECT violation, quote, reason FROM {TABLE} WHERE rule_id = ? AND version = ? "
                    "AND text_sha256 = ? AND model = ? AND prompt_sha256 = ?",
                    key.row(),
                ).fetchone()
            except sqlite3.Error as exc:
                self._off(f"cannot read {self.path or 'memory'}: {exc}")
                return None
        if row is None:
            return None
        return Verdict(bool(row[0]), str(row[1]), str(row[2]))

    def put(self, key: VerdictKey, verdict: Verdict) -> None:
        """Store ``verdict`` under ``key`` (replacing any earlier one)."""
        with self._lock:
            conn = self._open()
            if conn is None:
                return
            try:
                conn.execute(
                    f"INSERT OR REPLACE INTO {TABLE} ({', '.join(KEY)}, violation, quote, reason, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [*key.row(), int(verdict.violation), verdict.quote, verdict.reason, clock.now_iso()],
                )
                conn.commit()
            except sqlite3.Error as exc:
                self._off(f"cannot write {self.path or 'memory'}: {exc}")

    def __len__(self) -> int:
        with self._lock:
            conn = self._open()
            if conn is None:
                return 0
            return int(conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])

    def close(self) -> None:
        """Close the file (it is reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
