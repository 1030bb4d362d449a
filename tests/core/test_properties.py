"""Random sequences of operations by random users never break the invariants."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta

import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copydesk import clock
from copydesk.errors import CopydeskError
from copydesk.hashing import content_hash
from copydesk.services import Desk
from tests.conftest import add_team
from tests.policies import NoRules

USERS = ["admin", "ana", "ben", "bea", "max", "cy"]
OPS = ["add", "edit", "submit", "approve", "reject", "retire", "waive"]
BRIEFS = ["boots-onboarding", "sms-active-restock", "push-loyal-points"]
FIELDS = {
    "boots-onboarding": lambda t: {"subject": f"Boots {t}", "body": f"Care tips {t}"},
    "sms-active-restock": lambda t: {"text": f"Ridgeline: daypack {t}"},
    "push-loyal-points": lambda t: {"title": f"Points {t}", "body": f"Spend {t}"},
}

_template: sqlite3.Connection | None = None


def _fresh_desk() -> Desk:
    """A copy of a prepared library (users are slow to create: scrypt)."""
    global _template
    if _template is None:
        from pathlib import Path

        from copydesk.models import Brief
        from copydesk.yamlio import load_model

        d = Desk.memory()
        d.policy = FlagTextPolicy()
        add_team(d)
        root = Path(__file__).resolve().parents[2] / "briefs"
        for b in BRIEFS:
            d.save_brief(load_model(root / f"{b}.yaml", Brief), actor="ana")
        _template = d.db.conn
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    _template.backup(conn)
    return Desk(sqlite_utils.Database(conn, execute_plugins=False))


class FlagTextPolicy(NoRules):
    """Block-flags the word 'guaranteed', so waivers and blocks take part."""

    def check(self, channel, fields, *, brief=None):
        from copydesk.models import Finding

        out = []
        for name, text in fields.items():
            i = text.find("guaranteed")
            if i >= 0:
                out.append(Finding(rule_id="claims.absolute", category="claims", severity="block",
                                   field=name, start=i, end=i + 10, match="guaranteed", message="absolute"))
        return out


def apply(desk: Desk, op: str, user: str, pick: int, text: str) -> None:
    variants = desk.list_variants()
    target = variants[pick % len(variants)].id if variants else None
    try:
        if op == "add" or target is None:
            brief = BRIEFS[pick % len(BRIEFS)]
            desk.add_variant(brief, FIELDS[brief](text), actor=user)
        elif op == "edit":
            v = desk.get_variant(target)
            field = next(iter(v.current.content.fields))
            desk.edit_variant(target, {field: f"{v.current.content.fields[field]} {text}"}, actor=user)
        elif op == "submit":
            desk.submit(target, actor=user)
        elif op == "approve":
            desk.approve(target, actor=user, review_by=clock.today() + timedelta(days=30))
        elif op == "reject":
            desk.reject(target, actor=user, comment="no")
        elif op == "retire":
            desk.retire(target, actor=user)
        elif op == "waive":
            desk.waive(target, "claims.absolute", actor=user, reason="false positive")
    except CopydeskError:
        pass  # refused operations are part of the property: they must leave no trace


def check_invariants(desk: Desk) -> None:
    approved = desk.approved_content()
    for item in approved:
        # 1, 2: what is served is exactly the approved text
        assert content_hash(item.channel, item.fields) == item.content_hash
        v = desk.get_variant(item.variant_id)
        assert v.status == "approved" and v.approved_hash == item.content_hash
    statuses = {v.id: v.status for v in desk.list_variants()}
    assert {a.variant_id for a in approved} == {k for k, s in statuses.items() if s == "approved"}
    exported = {r["variant_id"] for r in desk.export_records()}
    assert exported == {a.variant_id for a in approved}
    # 3: four eyes, per approval, over the authors of every revision up to the one approved
    for vid in statuses:
        revs = desk.revisions(vid)
        for r in desk.reviews(vid):
            if r.decision == "approved":
                authors = {x.author for x in revs if x.number <= r.revision}
                assert r.reviewer not in authors
                assert revs[r.revision - 1].content_hash == r.content_hash
    # 4: nothing in review or approved with an unwaived block finding
    from copydesk.services.variants import open_blocks

    for v in desk.list_variants():
        if v.status in ("in_review", "approved"):
            assert not open_blocks(desk.get_variant(v.id).current)
    # 5: the chain verifies
    ok, message = desk.verify_audit()
    assert ok, message


ops = st.lists(
    st.tuples(st.sampled_from(OPS), st.sampled_from(USERS), st.integers(0, 50),
              st.sampled_from(["a", "b", "guaranteed", "dry", "warm"])),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_operations_keep_invariants(sequence):
    desk = _fresh_desk()
    desk.policy = FlagTextPolicy()
    for op, user, pick, text in sequence:
        apply(desk, op, user, pick, text)
    check_invariants(desk)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.integers(0, 10_000), st.sampled_from(["edit", "delete", "swap", "insert"]))
def test_any_single_tampering_is_detected(sequence, seed, how):
    desk = _fresh_desk()
    desk.policy = FlagTextPolicy()
    for op, user, pick, text in sequence:
        apply(desk, op, user, pick, text)
    assert desk.verify_audit()[0]
    db = desk.db
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("DROP TRIGGER audit_events_no_delete")
    n = db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
    rng = random.Random(seed)
    seq = rng.randint(1, n)
    if how == "edit":
        column = rng.choice(["at", "actor", "action", "entity_id", "data"])
        db.execute(f"UPDATE audit_events SET {column} = {column} || 'x' WHERE seq = ?", [seq])
    elif how == "delete":
        db.execute("DELETE FROM audit_events WHERE seq = ?", [seq])
    elif how == "swap" and n >= 2:
        other = seq % n + 1
        a = db.execute("SELECT at, actor, action, entity, entity_id, data FROM audit_events WHERE seq = ?",
                       [seq]).fetchone()
        b = db.execute("SELECT at, actor, action, entity, entity_id, data FROM audit_events WHERE seq = ?",
                       [other]).fetchone()
        if a == b:
            return
        cols = "at = ?, actor = ?, action = ?, entity = ?, entity_id = ?, data = ?"
        db.execute(f"UPDATE audit_events SET {cols} WHERE seq = ?", [*b, seq])
        db.execute(f"UPDATE audit_events SET {cols} WHERE seq = ?", [*a, other])
    elif how == "insert":
        db.execute("INSERT INTO audit_events (seq, at, actor, action, entity, entity_id, data, prev_hash, hash) "
                   "SELECT MAX(seq) + 1, at, actor, action, entity, entity_id, data, hash, hash "
                   "FROM audit_events")
    else:
        return
    ok, message = desk.verify_audit()
    assert not ok, f"{how} of event {seq} went unnoticed"
