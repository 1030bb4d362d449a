"""The append-only, hash-chained audit log.

Each event stores the hash of the previous one; ``audit_head`` holds the last
sequence number and hash, so deleting the newest event is caught too. Events are
written by :func:`append` inside the caller's transaction, so a state change and
its record commit or roll back together (invariant 5).

Two modes (docs/security.md says what each proves):

- **sha256** (the default): anyone who can write the library file can also recompute
  the chain; it proves the log is internally consistent, and with an anchor kept
  elsewhere (:func:`anchor`) that nothing up to the anchor changed since.
- **hmac-sha256**: once an admin keys the chain (:func:`start_keyed`, with
  ``COPYDESK_AUDIT_KEY`` set), every event from the ``audit.keyed`` event on is an
  HMAC under that key, so it cannot be recomputed without the key. The library
  remembers it is keyed (the event is in the chain): without the key, nothing can be
  written or verified.

The append-only triggers are a tripwire: a write finds them missing and refuses, until
an admin restores them (:func:`protect`), which is on the record. :func:`verify` also
replays the chain against the library's state and checks anchors (:mod:`copydesk.audit_verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from copydesk.clock import now_iso
from copydesk.errors import AuditIntegrityError
from copydesk.models import AuditEvent

GENESIS = "0" * 64
KEY_ENV = "COPYDESK_AUDIT_KEY"
MIN_KEY_LENGTH = 16
Mode = Literal["sha256", "hmac-sha256"]
PLAIN: Mode = "sha256"
KEYED: Mode = "hmac-sha256"
#: Events about the chain itself: entity ``audit``, id ``chain`` (indexed, so cheap to find).
CHAIN_ENTITY, CHAIN_ID = "audit", "chain"
KEYED_ACTION, PROTECTED_ACTION = "audit.keyed", "audit.protected"

#: The append-only triggers, exactly as migration m005 creates them.
TRIGGERS: dict[str, str] = {
    name: (f"CREATE TRIGGER {name} BEFORE {op} ON audit_events "
           "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
    for name, op in (("audit_events_no_update", "UPDATE"), ("audit_events_no_delete", "DELETE"))
}

_COLUMNS = "seq, at, actor, action, entity, entity_id, data, prev_hash, hash"


# -- hashing ----------------------------------------------------------------------

def _canonical(event: dict[str, Any]) -> bytes:
    body = {k: event[k] for k in ("seq", "at", "actor", "action", "entity", "entity_id", "data")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, event: dict[str, Any], key: bytes | None = None) -> str:
    """sha256 over the previous hash and the event's canonical JSON; with ``key``,
    HMAC-SHA256 under that key instead."""
    payload = prev_hash.encode() + _canonical(event)
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def env_key() -> bytes | None:
    """The chain key from ``COPYDESK_AUDIT_KEY`` (``None`` when unset or empty)."""
    value = os.environ.get(KEY_ENV, "")
    if not value:
        return None
    if len(value) < MIN_KEY_LENGTH:
        raise AuditIntegrityError(
            f"{KEY_ENV} is too short: use at least {MIN_KEY_LENGTH} random characters "
            "(e.g. python -c \"import secrets; print(secrets.token_hex(32))\")"
        )
    return value.encode()


def keyed_since(db: sqlite_utils.Database) -> int | None:
    """The sequence number of the ``audit.keyed`` event, or ``None`` for a plain chain."""
    row = db.execute(
        "SELECT MIN(seq) FROM audit_events WHERE entity = ? AND entity_id = ? AND action = ?",
        [CHAIN_ENTITY, CHAIN_ID, KEYED_ACTION],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _needs_key(since: int) -> AuditIntegrityError:
    return AuditIntegrityError(
        f"this library's audit chain is keyed (HMAC since event {since}): set {KEY_ENV} to write or verify it"
    )


def _not_keyed() -> AuditIntegrityError:
    return AuditIntegrityError(
        f"{KEY_ENV} is set but this library's audit chain is not keyed: a keyed chain rewritten without "
        f"its key, or one never keyed (an admin runs 'copydesk audit key --as ADMIN', or unset {KEY_ENV})"
    )


def chain_key(db: sqlite_utils.Database) -> tuple[bytes | None, int | None]:
    """(key, keyed since) for trusting what the chain says: the key is required once the
    chain is keyed, and a key for a chain that is not keyed is refused (a downgrade)."""
    since = keyed_since(db)
    key = env_key()
    if since is not None and key is None:
        raise _needs_key(since)
    if since is None and key is not None:
        raise _not_keyed()
    return key, since


def authentic(event: dict[str, Any], key: bytes | None, since: int | None) -> bool:
    """True when ``event``'s hash matches its content and stored ``prev_hash`` (under
    the key from event ``since`` on). Says nothing about its place in the chain."""
    use = key if since is not None and event["seq"] >= since else None
    return hmac.compare_digest(event_hash(event["prev_hash"], event, use), str(event["hash"]))


# -- triggers ---------------------------------------------------------------------

def _squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().lower()


def trigger_problems(db: sqlite_utils.Database) -> list[str]:
    """The append-only triggers that are missing or not what m005 created, and any
    other trigger on the log's tables (one could rewrite what is appended)."""
    found = {name: (table, sql or "") for name, table, sql in db.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND tbl_name IN ('audit_events', 'audit_head')"
    )}
    out = []
    for name, sql in TRIGGERS.items():
        if name not in found:
            out.append(f"the append-only trigger {name} is missing")
        elif _squash(found[name][1]) != _squash(sql):
            out.append(f"the append-only trigger {name} was replaced by one that does something else")
    out += [f"an unexpected trigger {name!r} is defined on {table}"
            for name, (table, _) in sorted(found.items()) if name not in TRIGGERS]
    return out


def _require_triggers(db: sqlite_utils.Database) -> None:
    problems = trigger_problems(db)
    if problems:
        raise AuditIntegrityError(
            f"the audit log is unprotected ({problems[0]}): nothing is written until an admin checks "
            "'copydesk audit verify' and runs 'copydesk audit protect --as ADMIN'"
        )


# -- writing ----------------------------------------------------------------------

def _head(db: sqlite_utils.Database) -> tuple[int, str] | None:
    row = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _write_key(db: sqlite_utils.Database, head: tuple[int, str] | None) -> bytes | None:
    """The key the next event is chained with; refuses a key the chain does not know,
    a keyed chain without the key, and a key that does not verify the newest event."""
    key, since = chain_key(db)
    if since is None:
        return None
    last = db.execute(f"SELECT {_COLUMNS} FROM audit_events WHERE seq = ?", [head[0] if head else 0]).fetchone()
    if last is None or not authentic(row_event(last), key, since):
        raise AuditIntegrityError(
            f"{KEY_ENV} does not verify the newest audit event: a wrong key, or the log was altered "
            "(run 'copydesk audit verify')"
        )
    return key


def _write(
    db: sqlite_utils.Database, key: bytes | None, head: tuple[int, str] | None, *,
    actor: str, action: str, entity: str, entity_id: str, data: dict[str, Any] | None,
) -> AuditEvent:
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    event: dict[str, Any] = {
        "seq": seq, "at": now_iso(), "actor": actor, "action": action, "entity": entity,
        "entity_id": entity_id, "data": data or {},
    }
    digest = event_hash(prev, event, key)
    db.execute(
        f"INSERT INTO audit_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, event["at"], actor, action, entity, entity_id,
         json.dumps(event["data"], sort_keys=True, ensure_ascii=False), prev, digest],
    )
    db.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        [seq, digest],
    )
    return AuditEvent(
        seq=seq, at=datetime.fromisoformat(event["at"]), actor=actor, action=action, entity=entity,
        entity_id=entity_id, data=event["data"], prev_hash=prev, hash=digest,
    )


def _in_transaction(db: sqlite_utils.Database) -> None:
    if not db.conn.in_transaction:
        raise RuntimeError("the audit log is written only inside the change's transaction")


def append(
    db: sqlite_utils.Database,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call inside the write transaction of the change it records.
    Refused (an :class:`AuditIntegrityError`, so the change rolls back) while the
    append-only triggers are missing, and in keyed mode without the right key."""
    _in_transaction(db)
    _require_triggers(db)
    head = _head(db)
    return _write(db, _write_key(db, head), head, actor=actor, action=action, entity=entity,
                  entity_id=entity_id, data=data)


def protect(db: sqlite_utils.Database, *, actor: str) -> list[str]:
    """Re-create missing (or replaced) append-only triggers, drop any other trigger on
    the log's tables, and record it as an ``audit.protected`` event by ``actor``. Returns
    what was done, e.g. ``["restored audit_events_no_delete"]`` (nothing: a no-op). The
    caller checks that ``actor`` is an admin, inside the same transaction."""
    _in_transaction(db)
    problems = trigger_problems(db)
    if not problems:
        return []
    found = {name: _squash(sql or "") for name, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_events', 'audit_head')"
    )}
    done = []
    for name in sorted(set(found) - set(TRIGGERS)):
        db.execute(f'DROP TRIGGER "{name.replace(chr(34), chr(34) * 2)}"')
        done.append(f"dropped {name!r}")
    for name, sql in TRIGGERS.items():
        if found.get(name) != _squash(sql):
            if name in found:
                db.execute(f"DROP TRIGGER {name}")
            db.execute(sql)
            done.append(f"restored {name}")
    head = _head(db)
    _write(db, _write_key(db, head), head, actor=actor, action=PROTECTED_ACTION, entity=CHAIN_ENTITY,
           entity_id=CHAIN_ID, data={"done": done, "found": problems})
    return done


def start_keyed(db: sqlite_utils.Database, *, actor: str) -> AuditEvent:
    """Key the chain with ``COPYDESK_AUDIT_KEY``: the ``audit.keyed`` event (itself an
    HMAC) and every later one need the key. The caller checks ``actor`` is an admin."""
    _in_transaction(db)
    _require_triggers(db)
    key = env_key()
    if key is None:
        raise AuditIntegrityError(f"set {KEY_ENV} to the key first (at least {MIN_KEY_LENGTH} random characters)")
    since = keyed_since(db)
    if since is not None:
        raise AuditIntegrityError(f"the audit chain is already keyed (since event {since}); keys are not rotated")
    head = _head(db)
    return _write(db, key, head, actor=actor, action=KEYED_ACTION, entity=CHAIN_ENTITY, entity_id=CHAIN_ID,
                  data={"mode": KEYED})


# -- reading ----------------------------------------------------------------------

def row_event(row: tuple[Any, ...]) -> dict[str, Any]:
    """An ``audit_events`` row (columns as :data:`_COLUMNS`) as an event dict."""
    seq, at, actor, action, entity, entity_id, data, prev_hash, digest = row
    try:
        parsed = json.loads(data)
    except (TypeError, ValueError):
        parsed = {"_unparseable": data}
    return {
        "seq": seq, "at": at, "actor": actor, "action": action, "entity": entity,
        "entity_id": entity_id, "data": parsed if isinstance(parsed, dict) else {"_value": parsed},
        "prev_hash": prev_hash, "hash": digest,
    }


def iter_events(
    db: sqlite_utils.Database, where: str = "", params: list[Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Events as dicts in stored order, optionally filtered by ``where`` (SQL)."""
    sql = f"SELECT {_COLUMNS} FROM audit_events" + (f" WHERE {where}" if where else "") + " ORDER BY seq"
    for row in db.execute(sql, params or []):
        yield row_event(row)


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
    sql = f"SELECT {_COLUMNS} FROM audit_events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    out = [AuditEvent.model_validate(row_event(r)) for r in db.execute(sql, params)]
    out.reverse()
    return out


def facets(db: sqlite_utils.Database) -> tuple[list[str], list[str]]:
    """Every actor and every action present in the log, sorted (for filters)."""
    actors = [r[0] for r in db.execute("SELECT DISTINCT actor FROM audit_events ORDER BY actor")]
    actions = [r[0] for r in db.execute("SELECT DISTINCT action FROM audit_events ORDER BY action")]
    return actors, actions


def shape_problem(db: sqlite_utils.Database) -> str | None:
    """A cheap check of the chain's outline: sequence numbers 1..N without gaps, ending
    at the head record. ``None`` when it holds (the hashes are not checked here)."""
    count, low, high = db.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_events").fetchone()
    head = _head(db)
    if count and (low != 1 or high != count):
        return f"events are missing: {count} events numbered {low} to {high}"
    if head is None:
        return "the audit head record is missing" if count else None
    if head[0] != count:
        return f"the chain ends at event {count} but the head records event {head[0]}"
    last = db.execute("SELECT hash FROM audit_events WHERE seq = ?", [count]).fetchone()
    if last is None or last[0] != head[1]:
        return f"the head record does not match event {count}"
    return None


# -- verification -----------------------------------------------------------------

def _event_problem(
    event: dict[str, Any], expected: int, prev: str, key: bytes | None, since: int | None,
) -> str | None:
    seq = event["seq"]
    if seq != expected:
        return f"event {expected} is missing or out of order (found {seq})"
    if event["prev_hash"] != prev:
        return f"event {seq} does not link to the event before it"
    if not authentic(event, key, since):
        why = "its HMAC does not match (altered, or a wrong key)" if since else "its hash does not match its content"
        return f"event {seq} was altered: {why}"
    return None


@dataclass
class Walk:
    """How far :func:`walk_chain` got: events that check out, the keyed event, the last
    good event, and the first problem (``None``: the chain is intact)."""

    count: int = 0
    since: int | None = None
    last: dict[str, Any] | None = None
    problem: str | None = None


def walk_chain(db: sqlite_utils.Database, feed: Callable[[dict[str, Any]], None]) -> Walk:
    """Walk every event once: sequence, links, hashes (keyed from the ``audit.keyed``
    event on); each event that checks out goes to ``feed``. Stops at the first bad one.
    Detects an edited, deleted, inserted or reordered event and a deleted newest event
    (the chain no longer ends at ``audit_head``), a keyed chain without its key, and a
    key for a chain that is not keyed (a downgrade)."""
    key = env_key()
    walk, prev = Walk(), GENESIS
    for event in iter_events(db):
        if walk.since is None and event["action"] == KEYED_ACTION and event["entity"] == CHAIN_ENTITY:
            walk.since = event["seq"]
            if key is None:
                walk.problem = str(_needs_key(walk.since))
                return walk
        walk.problem = _event_problem(event, walk.count + 1, prev, key, walk.since)
        if walk.problem is not None:
            return walk
        feed(event)
        prev, walk.last = event["hash"], event
        walk.count += 1
    walk.problem = shape_problem(db)
    if walk.problem is None and key is not None and walk.since is None:
        walk.problem = str(_not_keyed())
    return walk


def verify(db: sqlite_utils.Database) -> tuple[bool, str, int]:
    """Check the chain, its triggers and the state it explains (:mod:`copydesk.audit_verify`).
    Returns (ok, message, events checked): one line when intact, else every problem."""
    from copydesk.audit_verify import check

    result = check(db)
    return result.ok, result.summary(), result.count
