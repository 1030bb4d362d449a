"""What one server holds between requests: the workspace, one library connection per
worker thread, the cached approved library and compiled campaigns, the rate limiter and
the token-use log.

Caches are keyed by what they depend on, so the API always answers from the library
as approved *now*: the approved set by the UTC day and SQLite's ``data_version`` (it
changes whenever another connection commits: an approval, a retire, an edit, a send
recorded, outcomes imported, even a change written outside copydesk), a compiled
campaign also by its file's and its template files' size and mtime. Checking the key
is one PRAGMA and a few ``stat`` calls per request."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from copydesk.api.limits import RateLimiter
from copydesk.api.settings import ApiSettings
from copydesk.api.usage import UseLog
from copydesk.db import BUSY_TIMEOUT_MS
from copydesk.export.dialect import Untranslatable
from copydesk.models import ApprovedContent
from copydesk.services.desk import Desk
from copydesk.workspace import Workspace


@dataclass(frozen=True)
class Library:
    """The approved library as of one key: what the rule engine may send, and the same
    items as export records (``/v1/content``)."""

    key: tuple[Any, ...]
    approved: list[ApprovedContent]
    records: list[dict[str, Any]]
    #: dialect -> (records in it, what it could not express), filled on first ask
    dialects: dict[str, tuple[list[dict[str, Any]], list[Untranslatable]]] = field(default_factory=dict)


class ServerState:
    """Shared by every request of one server."""

    def __init__(self, workspace: Workspace, settings: ApiSettings) -> None:
        self.workspace = workspace
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_per_second, settings.burst)
        #: invalid tokens per client address (a token cannot be guessed, but trying costs us a query)
        self.failures = RateLimiter(settings.auth_failures_per_second, settings.auth_failure_burst)
        self.uses = UseLog()
        self._local = threading.local()
        self._desks: list[Desk] = []
        self._lock = threading.Lock()
        # opened (and migrated) once here, so the probe below sees the tables
        self._desks.append(Desk.open(workspace))
        self._probe = sqlite3.connect(str(workspace.db_path), timeout=BUSY_TIMEOUT_MS / 1000,
                                      check_same_thread=False)
        self._probe_lock = threading.Lock()
        self._library: Library | None = None
        self._library_lock = threading.Lock()
        #: compiled campaigns by name (see copydesk.api.decisions), built under build_lock
        self.cache: dict[str, Any] = {}
        self.build_lock = threading.Lock()
        #: when each compiled campaign's files were last checked (time.monotonic)
        self.checked: dict[str, float] = {}

    def desk(self) -> Desk:
        """This thread's library connection (SQLite connections are not shared across threads)."""
        desk: Desk | None = getattr(self._local, "desk", None)
        if desk is None:
            desk = Desk.open(self.workspace)
            self._local.desk = desk
            with self._lock:
                self._desks.append(desk)
        return desk

    def data_version(self) -> int:
        """SQLite's counter of commits by other connections (any process)."""
        with self._probe_lock:
            return int(self._probe.execute("PRAGMA data_version").fetchone()[0])

    def library(self, day: date) -> Library:
        """The approved library for ``day``, recomputed only when the library changed."""
        key = (day, self.data_version())
        found = self._library
        if found is not None and found.key == key:
            return found
        with self._library_lock:
            found = self._library
            if found is not None and found.key == key:
                return found
            desk = self.desk()
            approved = desk.approved_content(day)
            records = desk.export_records(day)
            found = self._library = Library(key, approved, records)
            return found

    def records(self, day: date, dialect: str) -> tuple[list[dict[str, Any]], list[Untranslatable]]:
        """The approved library's records for ``day`` in ``dialect`` (``copydesk``: as exported
        plain), and the placeholders the dialect could not express (those variants are left out)."""
        library = self.library(day)
        if dialect == "copydesk":
            return library.records, []
        found = library.dialects.get(dialect)
        if found is None:
            with self._library_lock:
                found = library.dialects.get(dialect)
                if found is None:
                    found = library.dialects[dialect] = self.desk().dialect_records(dialect, day)
        return found

    def close(self) -> None:
        """Close every connection this server opened."""
        with self._lock:
            for desk in self._desks:
                desk.close()
            self._desks.clear()
        self._probe.close()
