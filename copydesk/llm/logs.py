"""Every prompt and response of generation, stored and searchable (``copydesk llm logs``).

Like simonw/llm's logs: one row per request, with the exact messages sent, the reply,
the model, tokens, time and cost. The messages were screened for personal data right
before sending (:class:`copydesk.llm.privacy.MessageGuard`), so the log holds nothing
the model was not allowed to see. Rows of a run share ``run_id`` (also in each draft's
provenance); a saved draft's rows carry its variant id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from copydesk.clock import now_iso
from copydesk.db import write_transaction
from copydesk.llm.logs_schema import LOGS, ensure

DEFAULT_LIMIT = 20


@dataclass
class LogEntry:
    """One request and what came back."""

    run_id: str
    messages: list[dict[str, str]]
    response: str | None
    model: str | None = None
    endpoint_kind: str | None = None
    actor: str | None = None
    brief_id: str | None = None
    variant_number: int | None = None
    variant_id: str | None = None
    purpose: str = "generate"
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost: float | None = None
    error: str | None = None
    at: str = field(default_factory=now_iso)
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain data (``--json``)."""
        return {k: getattr(self, k) for k in (
            "id", "at", "run_id", "actor", "brief_id", "variant_number", "variant_id", "purpose",
            "model", "endpoint_kind", "messages", "response", "finish_reason", "prompt_tokens",
            "completion_tokens", "latency_s", "cost", "error")}


_COLUMNS = ("id", "at", "run_id", "actor", "brief_id", "variant_number", "variant_id", "purpose",
            "model", "endpoint_kind", "messages", "response", "finish_reason", "prompt_tokens",
            "completion_tokens", "latency_s", "cost", "error")


class LogStore:
    """The ``llm_logs`` table of one library."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        ensure(db)

    def write(self, entry: LogEntry) -> int:
        """Store ``entry``; returns its id."""
        row = entry.as_dict()
        row.pop("id")
        row["messages"] = json.dumps(entry.messages, ensure_ascii=False)
        cols = list(row)
        with write_transaction(self.db):
            cur = self.db.execute(
                f"INSERT INTO {LOGS} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [row[c] for c in cols],
            )
            entry.id = int(cur.lastrowid or 0)
        return entry.id

    def link(self, run_id: str, variant_number: int, variant_id: str) -> None:
        """Name the saved variant on its draft's rows."""
        with write_transaction(self.db):
            self.db.execute(
                f"UPDATE {LOGS} SET variant_id = ? WHERE run_id = ? AND variant_number = ?",
                [variant_id, run_id, variant_number],
            )

    def query(
        self, *, brief_id: str | None = None, variant_id: str | None = None,
        search: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> list[LogEntry]:
        """The newest ``limit`` entries, newest first; ``search`` is a case-insensitive
        substring of the messages or the response."""
        where: list[str] = []
        params: list[Any] = []
        if brief_id:
            where.append("brief_id = ?")
            params.append(brief_id)
        if variant_id:
            where.append("variant_id = ?")
            params.append(variant_id)
        if search:
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(messages LIKE ? ESCAPE '\\' OR response LIKE ? ESCAPE '\\')")
            params += [like, like]
        sql = f"SELECT {', '.join(_COLUMNS)} FROM {LOGS}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY id DESC LIMIT {max(int(limit), 0)}"
        out = []
        for row in self.db.execute(sql, params).fetchall():
            data = dict(zip(_COLUMNS, row, strict=True))
            data["messages"] = json.loads(data["messages"])
            out.append(LogEntry(**data))
        return out
