"""The ``llm_logs`` table: its own append-only migration set.

A separate sqlite-utils migration set (``copydesk-llm-logs``, recorded in the same
``_sqlite_migrations`` table as the core's), applied by :func:`ensure` before the log
is read or written, so the core list in :mod:`copydesk.migrations` stays untouched.
Never edit a migration that has shipped; add a new one.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

LOGS = "llm_logs"

log_migrations = Migrations("copydesk-llm-logs")


@log_migrations()
def m001_llm_logs(db: sqlite_utils.Database) -> None:
    # One row per request sent to a model: the exact messages (already screened for
    # personal data before sending) and the reply, or the error when none came back.
    db.table(LOGS).create(
        {
            "id": int,
            "at": str,
            "run_id": str,
            "actor": str,
            "brief_id": str,
            "variant_number": int,
            "variant_id": str,
            "purpose": str,
            "model": str,
            "endpoint_kind": str,
            "messages": str,
            "response": str,
            "finish_reason": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "latency_s": float,
            "cost": float,
            "error": str,
        },
        pk="id",
        not_null={"at", "run_id", "messages"},
    )
    db.table(LOGS).create_index(["brief_id", "id"])
    db.table(LOGS).create_index(["run_id"])


def ensure(db: sqlite_utils.Database) -> None:
    """Create or upgrade the log table (each migration in its own transaction)."""
    if log_migrations.pending(db):
        log_migrations.apply(db)
