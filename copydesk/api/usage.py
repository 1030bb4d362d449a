"""Auditing token use without writing an audit row per request.

The first request of a token on an endpoint in each UTC hour writes one ``token.use``
event (token id, endpoint, and how many requests this server served on that pair since
its previous record) and moves the token's ``last_used_at``. So the log shows every
token that was used, where, and in which hours, at most 24 rows a day per token and
endpoint, whatever the request rate: a row per request would grow the hash chain by
millions of rows a day and make each request wait on a write lock. Contact data is
never part of it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from copydesk.clock import now


class UseLog:
    """Which (token, endpoint) pairs were recorded in which hour, and the counts since."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[str, int]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def hour(at: datetime) -> str:
        """The UTC hour ``at`` falls in (``2026-11-29T09``)."""
        return at.strftime("%Y-%m-%dT%H")

    def use(self, token_id: str, endpoint: str, record: Callable[[int], None]) -> None:
        """Count one request; call ``record(since_last)`` when this pair has no record this
        hour. When ``record`` raises (the audit cannot be written), nothing is counted and
        the error propagates: the request is refused rather than served unaudited."""
        key = (token_id, endpoint)
        hour = self.hour(now())
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and seen[0] == hour:
                self._seen[key] = (hour, seen[1] + 1)
                return
            # rare (once an hour per pair): hold the lock so the pair is recorded once
            record(seen[1] if seen is not None else 0)
            self._seen[key] = (hour, 1)
