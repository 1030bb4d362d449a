"""Tampering with the library behind copydesk's back is caught (issue 10, audit chain).

One test per attack class: the chain wiped, the newest event deleted with the head
rewound, the append-only triggers dropped or replaced, an approval set by SQL (with
recomputed hashes), a rollback only an anchor can see, a chain recomputed without the
key. Plus a property: after random valid work, any single SQL change to a state row is
reported by ``audit verify``.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copydesk import audit, clock
from copydesk.errors import AuditIntegrityError, CopydeskError, PermissionDenied
from copydesk.hashing import content_hash
from copydesk.models import Brief, Finding
from copydesk.services import Desk, audit_admin
from copydesk.services import campaigns as campaign_service
from copydesk.workspace import Workspace
from copydesk.yamlio import load_model
from tests.conftest import add_team

REPO = Path(__file__).resolve().parents[2]
KEY = "k" * 8 + "0123456789abcdef"
BOOTS = {"subject": "Boot care", "body": "Dry them slowly."}
COLUMNS = ["seq", "at", "actor", "action", "entity", "entity_id", "data", "prev_hash", "hash"]


@pytest.fixture
def ws(bare_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    return bare_ws


def approved(desk: Desk, brief: str = "boots-onboarding", fields: dict[str, str] | None = None) -> str:
    v = desk.add_variant(brief, fields or BOOTS, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben", comment="fine")
    return v.id


def in_review(desk: Desk, fields: dict[str, str] | None = None) -> str:
    v = desk.add_variant("boots-onboarding", fields or {"subject": "Waiting", "body": "Not approved."}, actor="ana")
    desk.submit(v.id, actor="ana")
    return v.id


def unlock(db: sqlite_utils.Database) -> None:
    for name in audit.TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")


def relock(db: sqlite_utils.Database) -> None:
    """What a careful attacker does last: the triggers back, exactly as they were."""
    for sql in audit.TRIGGERS.values():
        db.execute(sql)


def rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, r, strict=True)) for r in db.execute("SELECT * FROM audit_events ORDER BY seq")]


def rechain(db: sqlite_utils.Database, events: list[dict[str, Any]], key: bytes | None = None) -> None:
    """Rewrite the whole chain as ``events`` with valid sha256 (or ``key``) hashes: what
    anyone who can write the file can do without the key."""
    db.execute("DELETE FROM audit_events")
    prev = audit.GENESIS
    for seq, e in enumerate(events, start=1):
        e = {**e, "seq": seq, "data": e["data"] if isinstance(e["data"], dict) else json.loads(e["data"])}
        digest = audit.event_hash(prev, e, key)
        db.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?)",
                   [seq, e["at"], e["actor"], e["action"], e["entity"], e["entity_id"],
                    json.dumps(e["data"], sort_keys=True, ensure_ascii=False), prev, digest])
        prev = digest
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", [len(events), prev])


def flip_to_approved(desk: Desk, vid: str, *, by: str = "ben") -> None:
    """An insider approves by SQL, with every hash the library checks recomputed."""
    row = desk.db.execute("SELECT current_revision FROM variants WHERE id = ?", [vid]).fetchone()
    channel, fields = desk.db.execute(
        "SELECT channel, fields FROM revisions WHERE variant_id = ? AND number = ?", [vid, row[0]]
    ).fetchone()
    digest = content_hash(channel, json.loads(fields))
    desk.db.execute(
        "UPDATE variants SET status = 'approved', approved_revision = ?, approved_hash = ?, approved_by = ?, "
        "approved_at = ?, review_by = ? WHERE id = ?",
        [row[0], digest, by, clock.now_iso(), (clock.today() + timedelta(days=30)).isoformat(), vid],
    )
    desk.db.conn.commit()


def problems(desk: Desk) -> str:
    ok, message = desk.verify_audit()
    assert not ok, message
    return message


# -- 1. the whole chain deleted ------------------------------------------------------

def test_a_wiped_chain_with_state_left_is_broken(desk: Desk, ws: Workspace, cli: Any) -> None:
    vid = approved(desk)
    unlock(desk.db)
    desk.db.execute("DELETE FROM audit_events")
    desk.db.execute("DELETE FROM audit_head")
    relock(desk.db)
    desk.db.conn.commit()
    assert "the audit chain is empty, yet the library holds 6 users" in problems(desk)
    assert vid not in {a.variant_id for a in desk.approved_content()}
    r = cli("audit", "verify")
    assert r.code == 1 and "history was deleted" in r.err and "intact" not in r.out


def test_an_empty_library_with_an_empty_chain_is_intact() -> None:
    desk = Desk.memory()
    ok, message = desk.verify_audit()
    assert ok and "0 events" in message


# -- 2. the newest event deleted, the head rewound -----------------------------------

def test_deleting_the_newest_event_and_rewinding_the_head_is_caught(desk: Desk) -> None:
    vid = approved(desk)
    unlock(desk.db)
    newest = rows(desk.db)[-1]
    assert newest["action"] == "variant.approve"
    desk.db.execute("DELETE FROM audit_events WHERE seq = ?", [newest["seq"]])
    desk.db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", [newest["seq"] - 1, newest["prev_hash"]])
    desk.db.conn.commit()
    message = problems(desk)
    assert f"variant {vid} is approved in the library but no event approves revision 1" in message
    assert "the append-only trigger audit_events_no_update is missing" in message
    assert desk.approved_content() == []
    relock(desk.db)  # the triggers back do not make it right
    assert f"variant {vid} is approved in the library but no event approves revision 1" in problems(desk)


def test_a_rollback_of_events_and_state_together_needs_an_anchor(desk: Desk, ws: Workspace, cli: Any,
                                                                 tmp_path: Path) -> None:
    vid = approved(desk)
    desk.retire(vid, actor="ben", reason="withdrawn by legal")
    assert cli("audit", "anchor", "--out", str(tmp_path / "anchor.json")).code == 0
    # the insider undoes the retirement: the event, the head and the state, triggers restored
    unlock(desk.db)
    newest = rows(desk.db)[-1]
    assert newest["action"] == "variant.retire"
    desk.db.execute("DELETE FROM audit_events WHERE seq = ?", [newest["seq"]])
    desk.db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", [newest["seq"] - 1, newest["prev_hash"]])
    desk.db.execute("UPDATE variants SET status = 'approved' WHERE id = ?", [vid])
    relock(desk.db)
    desk.db.conn.commit()
    assert desk.verify_audit()[0]  # what the database alone cannot show (docs/security.md)...
    r = cli("audit", "verify", "--anchor", str(tmp_path / "anchor.json"))
    assert r.code == 1, r  # ...an anchor kept elsewhere can
    assert f"the anchor records event {newest['seq']}" in r.err and "rolled back" in r.err


# -- 3. the append-only triggers dropped or replaced ---------------------------------

def test_dropped_triggers_are_reported_and_writes_refused_until_an_admin_restores_them(
    desk: Desk, ws: Workspace, cli: Any
) -> None:
    vid = in_review(desk)
    desk.db.execute("DROP TRIGGER audit_events_no_delete")
    desk.db.conn.commit()
    assert "the append-only trigger audit_events_no_delete is missing" in problems(desk)
    before = desk.db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
    with pytest.raises(AuditIntegrityError, match="unprotected"):
        desk.approve(vid, actor="ben")
    assert desk.get_variant(vid).status == "in_review"
    assert desk.db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0] == before
    # reopening does not heal it either
    again = Desk.open(ws)
    assert not again.verify_audit()[0]
    again.close()
    r = cli("audit", "protect", "--as", "ben")
    assert r.code == 1 and "may not manage users" in r.err
    r = cli("audit", "protect", "--as", "admin")
    assert r.code == 0 and "restored audit_events_no_delete" in r.out
    [event] = desk.audit_log(action=audit.PROTECTED_ACTION)
    assert event.actor == "admin" and event.data["done"] == ["restored audit_events_no_delete"]
    r = cli("audit", "verify")
    assert r.code == 0 and f"missing or altered before event {event.seq}: admin restored them" in r.out
    desk.approve(vid, actor="ben")
    assert cli("audit", "protect", "--as", "admin").out.startswith("the append-only triggers are in place")


def test_a_trigger_replaced_by_one_that_allows_deletes_is_reported(desk: Desk) -> None:
    approved(desk)
    desk.db.execute("DROP TRIGGER audit_events_no_delete")
    desk.db.execute("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT 1; END")
    desk.db.conn.commit()
    assert "audit_events_no_delete was replaced" in problems(desk)
    with pytest.raises(AuditIntegrityError, match="unprotected"):
        approved(desk)
    with pytest.raises(PermissionDenied):
        audit_admin.protect(desk, actor="ana")
    desk.db.execute("CREATE TRIGGER sneaky AFTER INSERT ON audit_events BEGIN SELECT 1; END")
    desk.db.conn.commit()
    assert "an unexpected trigger 'sneaky' is defined on audit_events" in problems(desk)
    assert audit_admin.protect(desk, actor="admin") == ["dropped 'sneaky'", "restored audit_events_no_delete"]
    assert desk.verify_audit()[0]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        desk.db.execute("DELETE FROM audit_events WHERE seq = 1")


# -- 4. an approval set by SQL is neither exported nor rendered -----------------------

def test_an_approval_set_by_sql_is_not_exported_and_verify_names_it(desk: Desk, ws: Workspace, cli: Any,
                                                                    tmp_path: Path) -> None:
    good = approved(desk)
    forged = in_review(desk)
    flip_to_approved(desk, forged)
    assert {a.variant_id for a in desk.approved_content()} == {good}
    out = tmp_path / "lib.json"
    r = cli("library", "export", "--format", "json", "--out", str(out), "--as", "max")
    assert r.code == 0, r
    assert [rec["variant_id"] for rec in json.loads(out.read_text())] == [good]
    digest = desk.get_variant(forged).current.content_hash
    message = problems(desk)
    assert f"variant {forged} is approved in the library but no event approves revision 1 (hash {digest[:12]}" \
        in message
    assert f"a review of variant {forged}" not in message  # no review row was forged here
    r = cli("audit", "verify")
    assert r.code == 1 and f"variant {forged} is approved in the library" in r.err


def test_an_approval_set_by_sql_is_not_rendered(desk: Desk, bare_ws: Workspace, tmp_path: Path) -> None:
    for name in ("templates", "campaigns", "audiences"):
        shutil.copytree(REPO / name, bare_ws.root / name)
    approved(desk, "spring-generic", {"subject": "Spring on the fells", "body": "New season, new trails."})
    forged = in_review(desk, {"subject": "Forged", "body": "Nobody approved this."})
    cf = campaign_service.open_campaign(bare_ws, "spring-boots")
    out = tmp_path / "messages.jsonl"
    audience = bare_ws.audiences_dir / "sample-contacts.csv"

    def rendered_variants() -> set[str]:
        campaign_service.render(desk, cf, audience, out)
        return {json.loads(line).get("variant_id") for line in out.read_text(encoding="utf-8").splitlines()}

    assert forged not in rendered_variants()
    flip_to_approved(desk, forged)
    assert forged not in rendered_variants()
    # the same variant approved properly is rendered: the check above can fail
    desk.db.execute("UPDATE variants SET status = 'in_review', approved_revision = NULL, approved_hash = NULL, "
                    "approved_by = NULL, approved_at = NULL, review_by = NULL WHERE id = ?", [forged])
    desk.db.conn.commit()
    desk.approve(forged, actor="ben")
    assert forged in rendered_variants()


def test_approved_text_rewritten_with_recomputed_hashes_is_dropped(desk: Desk) -> None:
    vid = approved(desk)
    fields = {"subject": "Boot care", "body": "Guaranteed dry feet forever."}
    digest = content_hash("email", fields)
    desk.db.execute("UPDATE revisions SET fields = ?, content_hash = ? WHERE variant_id = ? AND number = 1",
                    [json.dumps(fields), digest, vid])
    desk.db.execute("UPDATE variants SET approved_hash = ? WHERE id = ?", [digest, vid])
    desk.db.conn.commit()
    assert desk.approved_content() == []
    message = problems(desk)
    assert f"revision 1 of variant {vid} has hash {digest[:12]}" in message


def test_a_review_by_date_extended_by_sql_is_dropped(desk: Desk) -> None:
    vid = approved(desk)
    later = (clock.today() + timedelta(days=3000)).isoformat()
    desk.db.execute("UPDATE variants SET review_by = ? WHERE id = ?", [later, vid])
    desk.db.conn.commit()
    assert desk.approved_content() == []
    assert f"variant {vid} is approved in the library but its review-by date is {later}" in problems(desk)


def test_an_un_retired_variant_is_dropped(desk: Desk) -> None:
    vid = approved(desk)
    desk.retire(vid, actor="ben")
    desk.db.execute("UPDATE variants SET status = 'approved' WHERE id = ?", [vid])
    desk.db.conn.commit()
    assert desk.approved_content() == []
    assert "variant.retire) left it retired" in problems(desk)


def test_a_withdrawn_approval_restored_by_deleting_the_edit_event_stops_export(desk: Desk) -> None:
    vid = approved(desk)
    before = desk.db.execute("SELECT approved_revision, approved_hash, approved_by, approved_at, review_by "
                             "FROM variants WHERE id = ?", [vid]).fetchone()
    desk.edit_variant(vid, {"body": "Dry them slowly, away from the fire."}, actor="ana")
    approved(desk)  # later work, so the edit is not the newest event
    unlock(desk.db)
    [edit] = [e for e in rows(desk.db) if e["action"] == "variant.edit"]
    desk.db.execute("DELETE FROM audit_events WHERE seq = ?", [edit["seq"]])
    desk.db.execute("UPDATE variants SET status = 'approved', current_revision = 1, approved_revision = ?, "
                    "approved_hash = ?, approved_by = ?, approved_at = ?, review_by = ? WHERE id = ?", [*before, vid])
    desk.db.execute("DELETE FROM revisions WHERE variant_id = ? AND number = 2", [vid])
    relock(desk.db)
    desk.db.conn.commit()
    with pytest.raises(AuditIntegrityError, match="events are missing"):
        desk.approved_content()
    assert f"event {edit['seq']} is missing" in problems(desk)


def test_a_user_made_admin_by_sql_is_reported_with_markup_escaped(desk: Desk, ws: Workspace, cli: Any) -> None:
    desk.db.execute("UPDATE users SET roles = '[\"admin\", \"reviewer\"]' WHERE name = 'ben'")
    desk.db.execute("INSERT INTO users (name, password_hash, roles, active, created_at) "
                    "VALUES ('m[/]', 'x', '[\"admin\"]', 1, '2026-01-01')")
    desk.db.conn.commit()
    r = cli("audit", "verify")
    assert r.code == 1, r
    assert "user 'ben' has roles ['admin', 'reviewer'] in the library, but their events give ['reviewer']" in r.err
    assert "user 'm[/]' has no user.add event" in r.err


# -- 5. anchors ------------------------------------------------------------------------

def test_an_anchor_passes_while_the_chain_grows_and_fails_after_a_rewrite(desk: Desk, ws: Workspace, cli: Any,
                                                                          tmp_path: Path) -> None:
    approved(desk)
    path = tmp_path / "anchor.json"
    r = cli("audit", "anchor", "--out", str(path))
    assert r.code == 0, r
    pinned = json.loads(path.read_text())
    assert json.loads(r.out) == pinned and set(pinned) == {"seq", "hash", "at", "mode"} and pinned["mode"] == "sha256"
    approved(desk)
    r = cli("audit", "verify", "--anchor", str(path))
    assert r.code == 0 and f"still holds the anchored event {pinned['seq']}" in r.out
    # a full rewrite of history (every hash recomputed) passes the chain check, not the anchor
    unlock(desk.db)
    events = rows(desk.db)
    events[1]["actor"] = "mallory"
    rechain(desk.db, events)
    relock(desk.db)
    desk.db.conn.commit()
    r = cli("audit", "verify", "--anchor", str(path))
    assert r.code == 1 and f"event {pinned['seq']} is not the one anchored" in r.err


def test_a_broken_chain_is_not_anchored_and_a_bad_anchor_file_is_one_line(desk: Desk, ws: Workspace, cli: Any,
                                                                         tmp_path: Path) -> None:
    vid = in_review(desk)
    flip_to_approved(desk, vid)
    r = cli("audit", "anchor")
    assert r.code == 1 and "not anchored" in r.err
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": 1, "hash": "nope", "at": "x", "mode": "sha256"}')
    r = cli("audit", "verify", "--anchor", str(bad))
    assert r.code == 1 and str(bad) in r.err and "Traceback" not in r.err


# -- 6. the keyed chain ----------------------------------------------------------------

@pytest.fixture
def keyed(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    audit_admin.key(desk, actor="admin")
    return desk


def test_a_keyed_chain_verifies_with_its_key_and_says_so(keyed: Desk) -> None:
    approved(keyed)
    ok, message = keyed.verify_audit()
    since = audit.keyed_since(keyed.db)
    assert ok and f"HMAC-keyed since event {since}" in message
    assert audit_admin.anchor(keyed).mode == "hmac-sha256"
    with pytest.raises(AuditIntegrityError, match="already keyed"):
        audit_admin.key(keyed, actor="admin")


def test_without_its_key_a_keyed_library_is_neither_written_nor_verified(
    keyed: Desk, ws: Workspace, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vid = approved(keyed)
    monkeypatch.delenv(audit.KEY_ENV)
    with pytest.raises(AuditIntegrityError, match="keyed .*set COPYDESK_AUDIT_KEY"):
        keyed.retire(vid, actor="ben")
    with pytest.raises(AuditIntegrityError, match="set COPYDESK_AUDIT_KEY"):
        keyed.approved_content()
    r = cli("audit", "verify")
    assert r.code == 1 and "set COPYDESK_AUDIT_KEY to write or verify it" in r.err
    r = cli("library", "export", "--format", "json", "--out", "x.json", "--as", "max")
    assert r.code == 1 and len(r.err.strip().splitlines()) == 1
    monkeypatch.setenv(audit.KEY_ENV, "x" * 32)
    with pytest.raises(AuditIntegrityError, match="does not verify the newest audit event"):
        keyed.retire(vid, actor="ben")
    assert "HMAC does not match" in problems(keyed)
    monkeypatch.setenv(audit.KEY_ENV, "short")
    with pytest.raises(AuditIntegrityError, match="too short"):
        keyed.retire(vid, actor="ben")


def forge_approval(d: Desk, vid: str) -> None:
    """Flip ``vid`` to approved with a review row, and append a matching approve event
    hashed with plain sha256: all an insider without the key can compute. The triggers
    stay in place (they only stop updates and deletes)."""
    flip_to_approved(d, vid)
    digest, review_by, at = d.db.execute(
        "SELECT approved_hash, review_by, approved_at FROM variants WHERE id = ?", [vid]
    ).fetchone()
    d.db.execute("INSERT INTO reviews (variant_id, revision, content_hash, decision, reviewer, comment, "
                 "review_by, at) VALUES (?, 1, ?, 'approved', 'ben', '', ?, ?)", [vid, digest, review_by, at])
    seq, prev = d.db.execute("SELECT seq, hash FROM audit_head").fetchone()
    event = {"seq": seq + 1, "at": at, "actor": "ben", "action": "variant.approve", "entity": "variant",
             "entity_id": vid, "data": {"revision": 1, "content_hash": digest, "comment": "",
                                        "review_by": review_by, "reapproval": False}}
    new = audit.event_hash(prev, event)
    d.db.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?)",
                 [seq + 1, at, "ben", "variant.approve", "variant", vid, json.dumps(event["data"], sort_keys=True),
                  prev, new])
    d.db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", [seq + 1, new])
    d.db.conn.commit()


def test_a_forged_event_with_a_recomputed_hash_is_caught_only_in_keyed_mode(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # plain mode: an appended forgery cannot be told from the real thing (docs/security.md)
    plain = in_review(desk)
    forge_approval(desk, plain)
    assert desk.verify_audit()[0]
    assert plain in {a.variant_id for a in desk.approved_content()}
    # keyed mode: the same forgery, made without the key, is caught and not served
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    audit_admin.key(desk, actor="admin")
    forged = in_review(desk)
    forge_approval(desk, forged)
    message = problems(desk)
    assert "HMAC does not match" in message
    assert forged not in {a.variant_id for a in desk.approved_content()}
    assert plain in {a.variant_id for a in desk.approved_content()}


def test_a_keyed_chain_rewritten_as_plain_is_refused_with_the_key(keyed: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    vid = in_review(keyed)
    flip_to_approved(keyed, vid)
    unlock(keyed.db)
    events = [e for e in rows(keyed.db) if e["action"] != audit.KEYED_ACTION]
    events.append({"at": clock.now_iso(), "actor": "ben", "action": "variant.approve", "entity": "variant",
                   "entity_id": vid, "data": {"revision": 1, "content_hash": keyed.get_variant(vid).approved_hash,
                                              "review_by": keyed.get_variant(vid).review_by.isoformat()}})
    rechain(keyed.db, events)
    relock(keyed.db)
    keyed.db.conn.commit()
    assert "is set but this library's audit chain is not keyed" in problems(keyed)
    with pytest.raises(AuditIntegrityError, match="not keyed"):
        keyed.approved_content()
    with pytest.raises(AuditIntegrityError, match="not keyed"):
        approved(keyed)


def test_keying_needs_an_admin_and_the_key(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuditIntegrityError, match="set COPYDESK_AUDIT_KEY"):
        audit_admin.key(desk, actor="admin")
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    with pytest.raises(AuditIntegrityError, match="not keyed"):
        approved(desk)  # a key the library does not know is not silently ignored
    with pytest.raises(PermissionDenied):
        audit_admin.key(desk, actor="ben")
    assert audit.keyed_since(desk.db) is None


def test_in_keyed_mode_an_altered_withdrawal_drops_the_approval(keyed: Desk) -> None:
    vid = approved(keyed)
    before = keyed.db.execute("SELECT approved_revision, approved_hash, approved_by, approved_at, review_by "
                              "FROM variants WHERE id = ?", [vid]).fetchone()
    keyed.edit_variant(vid, {"body": "Dry them slowly, away from the fire."}, actor="ana")
    unlock(keyed.db)
    # the withdrawal relabelled as a harmless submit: without the key, its HMAC cannot follow
    keyed.db.execute("UPDATE audit_events SET action = 'variant.submit' WHERE action = 'variant.edit'")
    keyed.db.execute("UPDATE variants SET status = 'approved', approved_revision = ?, approved_hash = ?, "
                    "approved_by = ?, approved_at = ?, review_by = ? WHERE id = ?", [*before, vid])
    relock(keyed.db)
    keyed.db.conn.commit()
    assert keyed.approved_content() == []
    assert "HMAC does not match" in problems(keyed)


# -- 7. property: any single change to a state row is reported -----------------------

USERS = ["ana", "ben", "bea", "cy", "admin"]
BRIEFS = ["boots-onboarding", "sms-active-restock"]
FIELDS = {
    "boots-onboarding": lambda t: {"subject": f"Boots {t}", "body": f"Care tips {t}"},
    "sms-active-restock": lambda t: {"text": f"Ridgeline: daypack {t}"},
}
_template: sqlite3.Connection | None = None


class FlagPolicy:
    """Block-flags 'guaranteed', so waivers take part."""

    def check(self, channel: Any, fields: dict[str, str], *, brief: Any = None) -> list[Finding]:
        return [Finding(rule_id="claims.absolute", category="claims", severity="block", field=name,
                        start=text.find("guaranteed"), end=text.find("guaranteed") + 10, match="guaranteed",
                        message="absolute") for name, text in fields.items() if "guaranteed" in text]

    def check_brief(self, *args: Any, **kwargs: Any) -> list[Finding]:
        return []  # briefs hold no personal data here

    def check_text(self, *args: Any, **kwargs: Any) -> list[Finding]:
        return []


def fresh_desk() -> Desk:
    global _template
    if _template is None:
        d = Desk.memory()
        d.policy = FlagPolicy()  # type: ignore[assignment]
        add_team(d)
        for b in BRIEFS:
            d.save_brief(load_model(REPO / "briefs" / f"{b}.yaml", Brief), actor="ana")
        _template = d.db.conn
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    _template.backup(conn)
    desk = Desk(sqlite_utils.Database(conn, execute_plugins=False))
    desk.policy = FlagPolicy()  # type: ignore[assignment]
    return desk


def act(desk: Desk, op: str, user: str, pick: int, word: str) -> None:
    ids = [r[0] for r in desk.db.execute("SELECT id FROM variants ORDER BY id")]
    target = ids[pick % len(ids)] if ids else None
    try:
        if op == "add" or target is None:
            brief = BRIEFS[pick % len(BRIEFS)]
            desk.add_variant(brief, FIELDS[brief](word), actor="ana" if user == "admin" else user)
        elif op == "edit":
            fields = desk.get_variant(target).current.content.fields
            name = next(iter(fields))
            desk.edit_variant(target, {name: f"{fields[name]} {word}"}, actor=user)
        elif op == "submit":
            desk.submit(target, actor=user)
        elif op == "approve":
            desk.approve(target, actor=user)
        elif op == "reject":
            desk.reject(target, actor=user, comment="no")
        elif op == "retire":
            desk.retire(target, actor=user)
        elif op == "waive":
            desk.waive(target, "claims.absolute", actor=user, reason="a false positive")
    except CopydeskError:
        pass


TAMPERS = ["status", "approved_hash", "approved_revision", "review_by", "waiver", "roles", "active"]


def tamper(db: sqlite_utils.Database, how: str, rng: random.Random) -> bool:
    """One SQL change to a state row that really changes it; False when there is nothing to change."""
    variants = db.execute("SELECT id, status, approved_hash, approved_revision, review_by, current_revision "
                          "FROM variants ORDER BY id").fetchall()
    vid, status, digest, rev, review_by, current = rng.choice(variants)
    if how == "status":
        new = rng.choice([s for s in ("draft", "in_review", "approved", "rejected", "retired") if s != status])
        db.execute("UPDATE variants SET status = ? WHERE id = ?", [new, vid])
    elif how == "approved_hash":
        revs = [r[0] for r in db.execute("SELECT content_hash FROM revisions WHERE variant_id = ?", [vid])]
        choices = [h for h in [*revs, "f" * 64] if h != digest]
        db.execute("UPDATE variants SET approved_hash = ? WHERE id = ?", [rng.choice(choices), vid])
    elif how == "approved_revision":
        choices = [n for n in range(1, current + 2) if n != rev]
        db.execute("UPDATE variants SET approved_revision = ? WHERE id = ?", [rng.choice(choices), vid])
    elif how == "review_by":
        new = (clock.today() + timedelta(days=rng.randint(1, 4000))).isoformat()
        if new == review_by:
            return False
        db.execute("UPDATE variants SET review_by = ? WHERE id = ?", [new, vid])
    elif how == "waiver":
        db.execute("INSERT INTO waivers (variant_id, revision, rule_id, field, start, \"end\", reason, by, at) "
                   "VALUES (?, ?, 'claims.absolute', 'body', 0, 10, 'mine', 'ben', ?)", [vid, current, clock.now_iso()])
    else:
        name, roles, active = rng.choice(db.execute("SELECT name, roles, active FROM users").fetchall())
        if how == "roles":
            new_roles = sorted(rng.sample(["admin", "copywriter", "reviewer", "marketer"], rng.randint(1, 4)))
            if new_roles == sorted(json.loads(roles)):
                return False
            db.execute("UPDATE users SET roles = ? WHERE name = ?", [json.dumps(new_roles), name])
        else:
            db.execute("UPDATE users SET active = ? WHERE name = ?", [1 - active, name])
    return True


work = st.lists(
    st.tuples(st.sampled_from(["add", "edit", "submit", "submit", "approve", "approve", "reject", "retire", "waive"]),
              st.sampled_from(USERS), st.integers(0, 50), st.sampled_from(["a", "guaranteed", "dry"])),
    min_size=1, max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work, st.sampled_from(TAMPERS), st.integers(0, 10_000))
def test_any_single_change_to_a_state_row_is_reported(sequence: list[Any], how: str, seed: int) -> None:
    desk = fresh_desk()
    act(desk, "add", "ana", 0, "first")
    for step in sequence:
        act(desk, *step)
    ok, message = desk.verify_audit()
    assert ok, message
    if not tamper(desk.db, how, random.Random(seed)):
        return
    ok, message = desk.verify_audit()
    assert not ok, f"{how} went unnoticed"
