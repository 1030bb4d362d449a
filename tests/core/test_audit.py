"""The audit chain detects any edited, deleted, inserted or reordered event, and the
state check reads every event shape the code writes (attacks: test_audit_tamper.py)."""

from __future__ import annotations

import json

import pytest

from copydesk import audit
from copydesk.audit_replay import Replay, approval_problem


def _work(desk):
    v = desk.add_variant("boots-onboarding", {"subject": "Boot care", "body": "Dry them slowly."}, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben", comment="fine")
    return v


def _unlock(desk):
    desk.db.execute("DROP TRIGGER audit_events_no_update")
    desk.db.execute("DROP TRIGGER audit_events_no_delete")


def test_chain_intact_after_work(desk):
    _work(desk)
    ok, message = desk.verify_audit()
    assert ok, message
    events = desk.audit_log()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_events_are_append_only_in_the_database(desk):
    _work(desk)
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        desk.db.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        desk.db.execute("DELETE FROM audit_events WHERE seq = 1")


@pytest.mark.parametrize("tamper,expect", [
    ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", "event 3 was altered"),
    ("UPDATE audit_events SET data = '{}' WHERE seq = 2", "event 2 was altered"),
    ("DELETE FROM audit_events WHERE seq = 4", "event 4 is missing"),
    ("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)", "head records"),
])
def test_tampering_is_detected(desk, tamper, expect):
    _work(desk)
    _unlock(desk)
    desk.db.execute(tamper)
    desk.db.conn.commit()
    ok, message = desk.verify_audit()
    assert not ok
    assert expect in message


def test_reordering_is_detected(desk):
    _work(desk)
    _unlock(desk)
    rows = desk.db.execute("SELECT * FROM audit_events WHERE seq IN (2, 3) ORDER BY seq").fetchall()
    desk.db.execute("DELETE FROM audit_events WHERE seq IN (2, 3)")
    # swap their contents but keep the sequence numbers in place
    for seq, row in zip((2, 3), reversed(rows), strict=True):
        desk.db.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?)", [seq, *row[1:]])
    ok, message = desk.verify_audit()
    assert not ok and "event 2" in message


def test_forged_event_with_recomputed_hash_breaks_the_link(desk):
    _work(desk)
    _unlock(desk)
    row = desk.db.execute("SELECT * FROM audit_events WHERE seq = 2").fetchone()
    event = dict(zip(["seq", "at", "actor", "action", "entity", "entity_id", "data", "prev_hash", "hash"], row,
                     strict=True))
    event["actor"] = "mallory"
    event["data"] = json.loads(event["data"])
    forged = audit.event_hash(event["prev_hash"], event)
    desk.db.execute("UPDATE audit_events SET actor = 'mallory', hash = ? WHERE seq = 2", [forged])
    ok, message = desk.verify_audit()
    assert not ok and "event 3 does not link" in message


def test_state_change_and_audit_event_commit_together(desk, monkeypatch):
    v = desk.add_variant("boots-onboarding", {"subject": "Boot care", "body": "Dry them slowly."}, actor="ana")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", boom)
    with pytest.raises(RuntimeError):
        desk.submit(v.id, actor="ana")
    assert desk.get_variant(v.id).status == "draft"


def test_events_lacking_data_keys_still_replay():
    """Events written by an older copydesk may lack data keys: the replay falls back
    (the revision after the current one, the approving event's own actor) and never fails."""
    replay = Replay()
    shapes = ["variant.add", "variant.submit", "variant.approve", "variant.edit", "variant.submit",
              "variant.reject", "finding.waive", "variant.retire", "user.add", "user.roles", "user.deactivate",
              "brief.add", "brief.update", "audit.protected", "some.future.action"]
    for seq, action in enumerate(shapes, start=1):
        entity_id = "ben" if action.startswith("user.") else "V1"
        replay.feed({"seq": seq, "at": "2026-01-01T00:00:00+00:00", "actor": "bea", "action": action,
                     "entity": action.split(".")[0], "entity_id": entity_id, "data": {}})
    v1 = replay.variants["V1"]
    assert (v1.status, v1.current, v1.approval) == ("retired", 2, None)
    assert not replay.users["ben"].active and replay.users["ben"].roles is None
    assert replay.briefs["V1"].version is None and not replay.problems


def test_an_approval_from_an_event_without_a_hash_binds_its_revision_and_approver():
    replay = Replay()
    for seq, (action, data) in enumerate([("variant.add", {"revision": 1}), ("variant.approve", {})], start=1):
        replay.feed({"seq": seq, "at": "2026-01-01T00:00:00+00:00", "actor": "ben", "action": action,
                     "entity": "variant", "entity_id": "V1", "data": data})
    state = replay.variants["V1"]
    assert approval_problem("V1", 1, "ab" * 32, "ben", "2027-01-01", state) is None
    assert "no event approves revision 2" in approval_problem("V1", 2, "ab" * 32, "ben", None, state)
    assert "approver is recorded as 'bea'" in approval_problem("V1", 1, "ab" * 32, "bea", None, state)


@pytest.mark.parametrize("tamper,expect", [
    ("UPDATE briefs SET data = replace(data, 'boot', 'shoe') WHERE id = 'boots-onboarding'",
     "brief 'boots-onboarding' differs"),
    ("UPDATE briefs SET version = 7 WHERE id = 'boots-onboarding'", "is at version 7"),
    ("UPDATE revisions SET author = 'bea' WHERE number = 1", "names 'bea' as its author"),
    ("UPDATE reviews SET comment = 'legal said yes'", "has no event"),
    ("DELETE FROM reviews", "is missing from the library"),
    ("UPDATE variants SET current_revision = 2", "its events leave it at 1"),
    ("DELETE FROM users WHERE name = 'max'", "user 'max' (added at event"),
])
def test_the_state_check_covers_briefs_revisions_reviews_and_users(desk, tamper, expect):
    _work(desk)
    desk.db.execute(tamper)
    desk.db.conn.commit()
    ok, message = desk.verify_audit()
    assert not ok and expect in message
