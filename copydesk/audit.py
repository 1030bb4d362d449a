"""The append-only, hash-chained audit log.

Each event stores the hash of the previous one; ``audit_head`` holds the last
sequence number and hash, so deleting the newest event is caught too. Events are
written by :func:`append` inside the caller's transaction, so a state change and
its record commit or roll back together (invariant 5).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlite_utils

from copydesk.clock import now_iso
from copydesk.models import AuditEvent

GENESIS = "0" * 64


def _canonical(event: dict[str, Any]) -> bytes:
    body = {k: event[k] for k in ("seq", "at", "actor", "action", "entity", "entity_id", "data")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """sha256 over the previous hash and the event's canonical JSON."""
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


def append(
    db: sqlite_utils.Database,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call inside the write transaction of the change it records."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit.append must run inside the change's transaction")
    head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    event: dict[str, Any] = {
        "seq": seq,
        "at": now_iso(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "data": data or {},
    }
    digest = event_hash(prev, event)
    db.execute(
        "INSERT INTO audit_events (seq, at, actor, action, entity, entity_id, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            seq,
            event["at"],
            actor,
            action,
            entity,
            entity_id,
            json.dumps(event["data"], sort_keys=True, ensure_ascii=False),
            prev,
            digest,
        ],
    )
    db.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        [seq, digest],
    )
    return AuditEvent(
        seq=seq,
        at=datetime.fromisoformat(event["at"]),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        data=event["data"],
        prev_hash=prev,
        hash=digest,
    )


def _row_event(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, at, actor, action, entity, entity_id, data, prev_hash, digest = row
    try:
        parsed = json.loads(data)
    except (TypeError, ValueError):
        parsed = {"_unparseable": data}
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "data": parsed,
        "prev_hash": prev_hash,
        "hash": digest,
    }


def verify(db: sqlite_utils.Database) -> tuple[bool, str, int]:
    """Check the whole chain. Returns (ok, message, events checked).

    Detects an edited event (its hash no longer matches), a deleted or inserted
    event (a gap in ``seq`` or a broken ``prev_hash`` link), reordered events, and a
    deleted newest event (the chain no longer ends at ``audit_head``).
    """
    prev = GENESIS
    expected_seq = 1
    count = 0
    rows = db.execute(
        "SELECT seq, at, actor, action, entity, entity_id, data, prev_hash, hash "
        "FROM audit_events ORDER BY rowid"
    )
    for row in rows:
        event = _row_event(row)
        seq = event["seq"]
        if seq != expected_seq:
            return False, f"event {expected_seq} is missing or out of order (found {seq})", count
        if event["prev_hash"] != prev:
            return False, f"event {seq} does not link to the event before it", count
        if event_hash(prev, event) != event["hash"]:
            return False, f"event {seq} was altered: its hash does not match its content", count
        prev = event["hash"]
        expected_seq += 1
        count += 1
    head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    if head is None and count:
        return False, "the audit head record is missing", count
    if head is not None and (head[0] != count or head[1] != prev):
        return False, f"the chain ends at event {count} but the head records event {head[0]}", count
    return True, f"audit chain intact: {count} events", count


def events(
    db: sqlite_utils.Database,
    *,
    entity_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Events in order, optionally filtered; ``limit`` keeps the newest N."""
    where, params = [], []
    if entity_id:
        where.append("entity_id = ?")
        params.append(entity_id)
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if action:
        where.append("action = ?")
        params.append(action)
    sql = "SELECT seq, at, actor, action, entity, entity_id, data, prev_hash, hash FROM audit_events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    out = [AuditEvent.model_validate(_row_event(r)) for r in db.execute(sql, params)]
    out.reverse()
    return out


def facets(db: sqlite_utils.Database) -> tuple[list[str], list[str]]:
    """Every actor and every action present in the log, sorted (for filters)."""
    actors = [r[0] for r in db.execute("SELECT DISTINCT actor FROM audit_events ORDER BY actor")]
    actions = [r[0] for r in db.execute("SELECT DISTINCT action FROM audit_events ORDER BY action")]
    return actors, actions
