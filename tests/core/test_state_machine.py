"""A hypothesis state machine over the Desk service layer.

Random users, half the time one holding several roles (the people four eyes must stop),
add, edit, submit, approve, reject, waive and retire variants while the days pass.
After every step: nobody approved or waived a revision they authored or edited,
the approved library holds only approved, unexpired text whose re-hash is the
approval hash, nothing else is exported, and the audit chain verifies. A refused
operation leaves no trace.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from copydesk import clock
from copydesk.errors import CopydeskError
from copydesk.hashing import content_hash
from copydesk.services import Desk
from copydesk.services.variants import open_blocks
from copydesk.vocab import Role
from tests.conftest import PASSWORD
from tests.core.test_properties import BRIEFS, FIELDS, FlagTextPolicy, _fresh_desk

#: added to the team of tests.conftest.add_team (which has cy, copywriter+reviewer)
EXTRA_USERS = {
    "cole": [Role.COPYWRITER, Role.REVIEWER],
    "rita": [Role.REVIEWER, Role.MARKETER],
    "ada": [Role.ADMIN, Role.COPYWRITER],
    "kim": [Role.COPYWRITER, Role.REVIEWER, Role.MARKETER],
}
MULTI_ROLE = ["cy", *EXTRA_USERS]
EVERYONE = ["admin", "ana", "ben", "bea", "max", *MULTI_ROLE]
START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)

_template: sqlite3.Connection | None = None


def fresh_desk() -> Desk:
    """A copy of the property tests' prepared library, plus the multi-role users."""
    global _template
    if _template is None:
        d = _fresh_desk()
        for name, roles in EXTRA_USERS.items():
            d.add_user(name, roles, PASSWORD, actor="admin")
        _template = d.db.conn
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    _template.backup(conn)
    return Desk(sqlite_utils.Database(conn, execute_plugins=False))


# half of the picks are a multi-role user
users = st.one_of(st.sampled_from(MULTI_ROLE), st.sampled_from(EVERYONE))
picks = st.integers(min_value=0, max_value=40)
words = st.sampled_from(["a", "b", "dry", "warm", "guaranteed"])


class DeskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        clock.freeze(START)
        self.desk = fresh_desk()
        self.desk.policy = FlagTextPolicy()
        self.n_variants = 0

    def teardown(self) -> None:
        self.desk.close()
        clock.freeze(None)

    # -- helpers -----------------------------------------------------------------
    def _target(self, pick: int, *statuses: str) -> str:
        """Mostly a variant in one of ``statuses`` (so transitions get somewhere), every
        fifth pick any variant (so refused transitions are exercised too)."""
        fitting = [v.id for v in self.desk.list_variants() if v.status in statuses]
        if fitting and pick % 5:
            return fitting[-1 - pick % len(fitting)]
        return f"V{pick % self.n_variants + 1}"

    def _authors(self, vid: str) -> list[str]:
        """Everyone who wrote a revision of ``vid``, from the revisions themselves."""
        return sorted({r.author for r in self.desk.revisions(vid)})

    def _snapshot(self) -> tuple[Any, ...]:
        db = self.desk.db
        return tuple(
            db.execute(sql).fetchall()
            for sql in (
                "SELECT COUNT(*), MAX(hash) FROM audit_events",
                "SELECT * FROM variants ORDER BY id",
                "SELECT COUNT(*) FROM revisions",
                "SELECT COUNT(*) FROM reviews",
                "SELECT COUNT(*) FROM waivers",
            )
        )

    def _attempt(self, op: Any, *args: Any, **kwargs: Any) -> bool:
        """Run ``op``; a refusal must leave the library and the audit log untouched."""
        before = self._snapshot()
        try:
            op(*args, **kwargs)
        except CopydeskError:
            assert self._snapshot() == before, f"refused {op.__name__} left a trace"
            return False
        return True

    # -- rules -------------------------------------------------------------------
    @initialize(writer=users, editor=users, brief=st.sampled_from(BRIEFS), word=words)
    def start_with_a_variant(self, writer: str, editor: str, brief: str, word: str) -> None:
        """Each run starts with a variant that two (random) people may have worked on."""
        self.add(writer, brief, word)
        if self.n_variants:
            self.edit(editor, 0, "b")

    @rule(user=users, brief=st.sampled_from(BRIEFS), word=words)
    def add(self, user: str, brief: str, word: str) -> None:
        if self._attempt(self.desk.add_variant, brief, FIELDS[brief](word), actor=user):
            self.n_variants += 1

    @precondition(lambda self: self.n_variants > 0)
    @rule(user=users, pick=picks, word=words)
    def edit(self, user: str, pick: int, word: str) -> None:
        vid = self._target(pick, "draft", "rejected", "in_review", "approved")
        fields = self.desk.get_variant(vid).current.content.fields
        name = sorted(fields)[pick % len(fields)]
        self._attempt(self.desk.edit_variant, vid, {name: f"{fields[name]} {word}"}, actor=user)

    @precondition(lambda self: self.n_variants > 0)
    @rule(user=users, pick=picks)
    def submit(self, user: str, pick: int) -> None:
        self._attempt(self.desk.submit, self._target(pick, "draft", "rejected"), actor=user)

    @precondition(lambda self: self.n_variants > 0)
    @rule(user=users, pick=picks, days=st.integers(min_value=0, max_value=6), insider=st.booleans())
    def approve(self, user: str, pick: int, days: int, insider: bool) -> None:
        vid = self._target(pick, "in_review", "approved")
        authors = self._authors(vid)
        if insider:  # one of the variant's own writers tries: four eyes must refuse
            user = authors[pick % len(authors)]
        review_by = clock.today() + timedelta(days=days)
        if self._attempt(self.desk.approve, vid, actor=user, review_by=review_by):
            assert user not in authors and days > 0

    @precondition(lambda self: self.n_variants > 0)
    @rule(user=users, pick=picks)
    def reject(self, user: str, pick: int) -> None:
        self._attempt(self.desk.reject, self._target(pick, "in_review"), actor=user, comment="not yet")

    @precondition(lambda self: self.n_variants > 0)
    @rule(user=users, pick=picks, insider=st.booleans())
    def waive(self, user: str, pick: int, insider: bool) -> None:
        vid = self._target(pick, "draft", "rejected")
        authors = self._authors(vid)
        if insider:
            user = authors[pick % len(authors)]
        if self._attempt(self.desk.waive, vid, "claims.absolute", actor=user, reason="false positive"):
            assert user not in authors

    @precondition(lambda self: self.n_variants > 0)
    @rule(user=users, pick=picks)
    def retire(self, user: str, pick: int) -> None:
        self._attempt(self.desk.retire, self._target(pick, "approved"), actor=user)

    @rule(days=st.integers(min_value=1, max_value=4))
    def days_pass(self, days: int) -> None:
        clock.freeze(clock.now() + timedelta(days=days))

    # -- invariants --------------------------------------------------------------
    @invariant()
    def four_eyes(self) -> None:
        for v in self.desk.list_variants():
            revisions = self.desk.revisions(v.id)
            for review in self.desk.reviews(v.id):
                if review.decision == "approved":
                    # every author and editor up to the approved revision, not only its last one
                    authors = {r.author for r in revisions if r.number <= review.revision}
                    assert review.reviewer not in authors, (v.id, review, authors)
                    assert revisions[review.revision - 1].content_hash == review.content_hash
            for r in revisions:
                authors = {x.author for x in revisions if x.number <= r.number}
                assert not {w.by for w in r.waivers} & authors, (v.id, r.number)
            if v.approved_by is not None:
                assert v.approved_revision is not None
                assert v.approved_by not in {
                    r.author for r in revisions if r.number <= v.approved_revision
                }

    @invariant()
    def only_current_approved_text_is_served(self) -> None:
        today = clock.today()
        served = self.desk.approved_content()
        for item in served:
            v = self.desk.get_variant(item.variant_id)
            assert v.status == "approved" and not v.is_expired(today)
            assert item.review_by is not None and item.review_by >= today
            assert item.revision == v.approved_revision == v.current.number
            assert content_hash(item.channel, item.fields) == item.content_hash == v.approved_hash
            assert self.desk.get_revision(v.id, item.revision).content_hash == item.content_hash
        live = {
            v.id for v in self.desk.list_variants()
            if v.status == "approved" and not v.is_expired(today)
        }
        assert {a.variant_id for a in served} == live
        assert {v.id for v in self.desk.list_variants(status="approved")} == live
        counts = self.desk.status_counts()
        assert counts["approved"] == len(live) == self.desk.count_variants(status="approved")
        assert counts["expired"] == self.desk.count_variants(status="expired")

    @invariant()
    def nothing_else_is_exported(self) -> None:
        served = {a.variant_id: a.content_hash for a in self.desk.approved_content()}
        records = self.desk.export_records()
        assert {r["variant_id"]: r["content_hash"] for r in records} == served
        for r in records:
            assert content_hash(r["channel"], r["fields"]) == r["content_hash"]

    @invariant()
    def no_open_blocks_in_review_or_approved(self) -> None:
        for v in self.desk.list_variants():
            if v.status in ("in_review", "approved"):
                assert not open_blocks(self.desk.get_variant(v.id).current), v.id

    @invariant()
    def audit_chain_verifies(self) -> None:
        ok, message = self.desk.verify_audit()
        assert ok, message


DeskMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDeskMachine = DeskMachine.TestCase
