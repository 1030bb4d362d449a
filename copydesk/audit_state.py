"""The state the audit chain explains, and how the library's tables differ from it.

:class:`Replay` folds events, oldest first, into what they say the library holds: per
variant its status, current revision, revisions (hash and author) and approval
(revision, hash, approver, review-by); waivers and reviews; users with roles and active
flag; briefs with version and content. :func:`compare` names every row the events do not
explain, every value they contradict, and everything they record that is gone. Nothing
in the library is trusted because it is there: a row without its event is broken.

:func:`approval_backing` is the cheap variant of the same replay that
:meth:`~copydesk.services.library.LibraryMixin.approved_content` runs on every call: the
events of the variants the library calls approved, each checked against its own hash
(its HMAC in keyed mode), so an approval set by SQL is never rendered or exported.

Events are read as the code writes them today and as it always has: a data key an event
lacks is not required (``.get``); actions that change none of these tables are skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from copydesk import audit
from copydesk.errors import AuditIntegrityError
from copydesk.hashing import content_hash

#: How far a variant's approved_at may be from its approve event's time (both are
#: taken in the same transaction, microseconds apart).
APPROVED_AT_SLACK_SECONDS = 60


def short(digest: str | None) -> str:
    """A hash as shown in messages."""
    return f"{digest[:12]}…" if digest else "none"


@dataclass(frozen=True)
class Approval:
    """What a ``variant.approve`` event approved."""

    revision: int | None
    content_hash: str | None
    by: str
    at: str
    review_by: str | None
    seq: int


@dataclass
class VariantState:
    """One variant as its events leave it."""

    seq: int
    brief: str | None
    created_by: str
    status: str = "draft"
    current: int = 1
    revisions: dict[int, tuple[str | None, str, int]] = field(default_factory=dict)  # n -> hash, author, seq
    approval: Approval | None = None
    last: tuple[int, str] = (0, "")  # seq and action of the newest event


@dataclass
class UserState:
    """One user as their events leave them."""

    seq: int
    roles: list[str] | None
    active: bool = True


@dataclass
class BriefState:
    """One brief as its events leave it."""

    seq: int
    version: int | None
    sha256: str | None
    data: dict[str, Any] | None


ReviewKey = tuple[str, Any, Any, str, str, Any, Any]
WaiverKey = tuple[str, Any, Any, Any, Any, Any, Any, str]


class Replay:
    """Fold events (oldest first) into the state they explain."""

    def __init__(self) -> None:
        self.variants: dict[str, VariantState] = {}
        self.users: dict[str, UserState] = {}
        self.briefs: dict[str, BriefState] = {}
        self.reviews: dict[ReviewKey, list[int]] = defaultdict(list)
        self.waivers: dict[WaiverKey, list[int]] = defaultdict(list)
        self.problems: list[str] = []
        self.notes: list[str] = []

    def feed(self, event: dict[str, Any]) -> None:
        """Apply one event; actions that change none of the checked tables are skipped."""
        handler = _HANDLERS.get(event["action"])
        if handler is not None:
            handler(self, event, event["data"])

    def _variant(self, event: dict[str, Any]) -> VariantState | None:
        state = self.variants.get(event["entity_id"])
        if state is None:
            self.problems.append(
                f"event {event['seq']} ({event['action']}) is about variant {event['entity_id']}, "
                "which no event added"
            )
        else:
            state.last = (event["seq"], event["action"])
        return state

    # -- variants --------------------------------------------------------------------
    def _add(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        n = _int(d.get("revision"), 1)
        state = VariantState(seq=e["seq"], brief=d.get("brief"), created_by=e["actor"], current=n,
                             last=(e["seq"], e["action"]))
        state.revisions[n] = (d.get("content_hash"), e["actor"], e["seq"])
        self.variants[e["entity_id"]] = state

    def _edit(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        if state is not None:
            n = _int(d.get("revision"), state.current + 1)
            state.revisions[n] = (d.get("content_hash"), e["actor"], e["seq"])
            state.current, state.status, state.approval = n, "draft", None

    def _submit(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        if state is not None:
            state.status = "in_review"

    def _retire(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        if state is not None:
            state.status = "retired"

    def _approve(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        if state is None:
            return
        rev = _int(d.get("revision"), state.current)
        state.status = "approved"
        state.approval = Approval(rev, d.get("content_hash"), e["actor"], str(e["at"]), d.get("review_by"), e["seq"])
        self.reviews[(e["entity_id"], rev, d.get("content_hash"), "approved", e["actor"], d.get("comment"),
                      d.get("review_by"))].append(e["seq"])

    def _reject(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        if state is None:
            return
        rev = _int(d.get("revision"), state.current)
        state.status = "rejected"
        self.reviews[(e["entity_id"], rev, d.get("content_hash"), "rejected", e["actor"], d.get("comment"),
                      None)].append(e["seq"])

    def _waive(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        rev = _int(d.get("revision"), state.current if state else None)
        for span in d.get("spans") or []:
            fld, start, end = (list(span) + [None, None, None])[:3]
            self.waivers[(e["entity_id"], rev, d.get("rule_id"), fld, start, end, d.get("reason"),
                          e["actor"])].append(e["seq"])

    # -- users and briefs ------------------------------------------------------------
    def _user_add(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        roles = d.get("roles")
        self.users[e["entity_id"]] = UserState(e["seq"], sorted(roles) if isinstance(roles, list) else None)

    def _user(self, e: dict[str, Any]) -> UserState | None:
        state = self.users.get(e["entity_id"])
        if state is None:
            self.problems.append(
                f"event {e['seq']} ({e['action']}) is about user {e['entity_id']!r}, whom no event added"
            )
        return state

    def _roles(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._user(e)
        roles = d.get("roles")
        if state is not None and isinstance(roles, list):
            state.roles = sorted(roles)

    def _activate(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._user(e)
        if state is not None:
            state.active = e["action"] == "user.activate"

    def _brief(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        # a brief with personal data is recorded masked: then only its sha256 can be compared
        content = d.get("brief") if "personal_data" not in d and isinstance(d.get("brief"), dict) else None
        self.briefs[e["entity_id"]] = BriefState(e["seq"], d.get("version"), d.get("brief_sha256"), content)

    def _protected(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        self.notes.append(
            f"the append-only triggers were missing or altered before event {e['seq']}: "
            f"{e['actor']} restored them at {e['at']} (the chain and state checks above still hold)"
        )


def _int(value: Any, default: int | None) -> Any:
    return value if isinstance(value, int) else default


Handler = Callable[[Replay, dict[str, Any], dict[str, Any]], None]

_HANDLERS: dict[str, Handler] = {
    "variant.add": Replay._add,
    "variant.edit": Replay._edit,
    "variant.submit": Replay._submit,
    "variant.reject": Replay._reject,
    "variant.approve": Replay._approve,
    "variant.retire": Replay._retire,
    "finding.waive": Replay._waive,
    "user.add": Replay._user_add,
    "user.roles": Replay._roles,
    "user.activate": Replay._activate,
    "user.deactivate": Replay._activate,
    "brief.add": Replay._brief,
    "brief.update": Replay._brief,
    audit.PROTECTED_ACTION: Replay._protected,
}


# -- approvals -----------------------------------------------------------------------

def approval_problem(
    vid: str, revision: int | None, digest: str | None, by: str | None, review_by: str | None,
    state: VariantState | None,
) -> str | None:
    """Why the approval a ``variants`` row records (status approved) is not backed by
    the chain, or ``None`` when the newest events approve exactly that."""
    what = f"variant {vid} is approved in the library but"
    if state is None:
        return f"{what} no event adds it"
    a = state.approval
    if a is None or a.revision != revision or (a.content_hash is not None and a.content_hash != digest):
        return f"{what} no event approves revision {revision} (hash {short(digest)})"
    if state.status != "approved":
        return f"{what} event {state.last[0]} ({state.last[1]}) left it {state.status}"
    if a.by != by:
        return f"{what} its approver is recorded as {by!r}, and event {a.seq} was by {a.by!r}"
    if a.review_by is not None and a.review_by != review_by:
        return f"{what} its review-by date is {review_by}, and event {a.seq} set {a.review_by}"
    return None


#: The events that decide whether a variant's approval stands: an approve gives it, an
#: edit withdraws it, a retire ends it (add: nothing approved yet).
APPROVAL_ACTIONS = ("variant.add", "variant.edit", "variant.approve", "variant.retire")

_BACKING_SQL = f"""
WITH approved AS (SELECT id FROM variants WHERE status = 'approved'),
newest AS (
    SELECT e.entity_id, MAX(e.seq) AS seq FROM audit_events e JOIN approved a ON e.entity_id = a.id
    WHERE e.entity = 'variant' AND e.action IN ({", ".join(f"'{a}'" for a in APPROVAL_ACTIONS)})
    GROUP BY e.entity_id
)
SELECT e.seq, e.at, e.actor, e.action, e.entity, e.entity_id, e.data, e.prev_hash, e.hash
FROM newest n JOIN audit_events e ON e.entity = 'variant' AND e.entity_id = n.entity_id AND e.seq >= n.seq
ORDER BY e.seq
"""


def approval_backing(db: sqlite_utils.Database) -> dict[str, VariantState]:
    """The chain's word on every variant the library calls approved, for
    :func:`approval_problem`: per variant its newest add, edit, approve or retire event
    and every later event about it (an approval stands only while no edit or retire
    followed it), each checked against its own hash (its HMAC in keyed mode). A variant
    with an altered event is left out: nothing backs it.

    Cheap by design (one indexed query, about one event per approved variant); the full
    replay of every event is ``copydesk audit verify``. Raises
    :class:`AuditIntegrityError` when the chain has gaps or does not end at its head, or
    the key it needs is missing: then no approval can be trusted."""
    key, since = audit.chain_key(db)
    problem = audit.shape_problem(db)
    if problem:
        raise AuditIntegrityError(
            f"the audit chain is broken ({problem}): no approval can be trusted; run 'copydesk audit verify'"
        )
    replay = Replay()
    altered: set[str] = set()
    for row in db.execute(_BACKING_SQL):
        event = audit.row_event(row)
        vid = event["entity_id"]
        if not audit.authentic(event, key, since):
            altered.add(vid)
            continue
        # the replay starts at this variant's newest deciding event: nothing before it counts
        replay.variants.setdefault(vid, VariantState(seq=event["seq"], brief=None, created_by=event["actor"]))
        replay.feed(event)
    return {vid: s for vid, s in replay.variants.items() if vid not in altered}


# -- comparing -------------------------------------------------------------------------

def compare(db: sqlite_utils.Database, replay: Replay, *, events: int) -> list[str]:
    """Every difference between the library's tables and what ``replay`` (the whole,
    verified chain) explains, one line each."""
    if events == 0:
        held = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("users", "briefs", "variants")}
        if any(held.values()):
            listed = ", ".join(f"{n} {t}" for t, n in held.items() if n)
            return [f"the audit chain is empty, yet the library holds {listed}: their history was deleted"]
        return []
    return [*replay.problems, *_variants(db, replay), *_revisions(db, replay), *_reviews(db, replay),
            *_waivers(db, replay), *_users(db, replay), *_briefs(db, replay)]


VARIANT_SQL = ("SELECT id, brief_id, status, current_revision, approved_revision, approved_hash, approved_by, "
               "approved_at, review_by, created_by FROM variants")


def _variants(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    seen = set()
    for vid, brief, status, current, rev, digest, by, at, review_by, created_by in db.execute(VARIANT_SQL):
        seen.add(vid)
        state = replay.variants.get(vid)
        if state is None:
            yield f"variant {vid} has no variant.add event: it was put in the library outside copydesk"
            continue
        if status == "approved":
            problem = approval_problem(vid, rev, digest, by, review_by, state)
            if problem:
                yield problem
            elif state.approval is not None and not _close(at, state.approval.at):
                a = state.approval
                yield f"variant {vid} records its approval at {at}, but event {a.seq} was at {a.at}"
        else:
            if status != state.status:
                yield (f"variant {vid} is {status} in the library but its events leave it {state.status} "
                       f"(event {state.last[0]}, {state.last[1]})")
            yield from _approval_columns(vid, (rev, digest, by, review_by, at), state)
        if current != state.current:
            yield f"variant {vid} is at revision {current} in the library but its events leave it at {state.current}"
        if state.brief is not None and brief != state.brief:
            yield f"variant {vid} belongs to brief {brief!r} but event {state.seq} added it to {state.brief!r}"
        if created_by != state.created_by:
            yield f"variant {vid} names {created_by!r} as its creator but event {state.seq} was by {state.created_by!r}"
    for vid, state in replay.variants.items():
        if vid not in seen:
            yield f"variant {vid} (added at event {state.seq}) is missing from the library"


def _approval_columns(vid: str, row: tuple[Any, ...], state: VariantState) -> Iterable[str]:
    """The approval columns of a variant that is not approved against the newest
    approval (a retired variant keeps it; an approval recorded on a draft nobody gave)."""
    rev, digest, by, review_by, at = row
    a = state.approval
    if a is None:
        if any(v is not None for v in row):
            yield f"variant {vid} records an approval of revision {rev} (hash {short(digest)}) that no event explains"
        return
    if (rev, by) != (a.revision, a.by) or (a.content_hash is not None and digest != a.content_hash):
        yield (f"variant {vid} records an approval of revision {rev} (hash {short(digest)}) by {by!r}, "
               f"but event {a.seq} approved revision {a.revision} (hash {short(a.content_hash)}) by {a.by!r}")
    elif a.review_by is not None and review_by != a.review_by:
        yield f"variant {vid}'s review-by date is {review_by}, but event {a.seq} set {a.review_by}"
    if not _close(at, a.at):
        yield f"variant {vid} records its approval at {at}, but event {a.seq} was at {a.at}"


def _close(a: Any, b: str) -> bool:
    try:
        return abs((datetime.fromisoformat(str(a)) - datetime.fromisoformat(b)).total_seconds()) \
            <= APPROVED_AT_SLACK_SECONDS
    except ValueError:
        return False


def _revisions(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    seen = set()
    rows = db.execute("SELECT variant_id, number, channel, fields, content_hash, author FROM revisions")
    for vid, n, channel, fields, digest, author in rows:
        seen.add((vid, n))
        state = replay.variants.get(vid)
        if state is None:
            continue  # the variant is reported already
        recorded = state.revisions.get(n)
        if recorded is None:
            yield f"revision {n} of variant {vid} has no event (variant.add or variant.edit)"
            continue
        ev_hash, ev_author, seq = recorded
        if ev_hash is not None and digest != ev_hash:
            yield f"revision {n} of variant {vid} has hash {short(digest)}, but event {seq} recorded {short(ev_hash)}"
        if author != ev_author:
            yield f"revision {n} of variant {vid} names {author!r} as its author, but event {seq} was by {ev_author!r}"
        try:
            rehashed = content_hash(channel, json.loads(fields))
        except (TypeError, ValueError):
            rehashed = None
        if rehashed != digest:
            yield f"the text of revision {n} of variant {vid} does not match its content hash {short(digest)}"
    for vid, state in replay.variants.items():
        for n, (_, _, seq) in state.revisions.items():
            if (vid, n) not in seen:
                yield f"revision {n} of variant {vid} (event {seq}) is missing from the library"


def _multiset(
    rows: Iterable[tuple[Any, ...]], recorded: dict[Any, list[int]], extra: str, gone: str,
) -> Iterable[str]:
    """Rows against the events that explain them, as multisets: ``extra`` and ``gone``
    are message formats over the row tuple (``{0}``...) and, for ``gone``, ``{seq}``."""
    have = Counter(rows)
    for key, n in have.items():
        missing = n - len(recorded.get(key, []))
        for _ in range(missing):
            yield extra.format(*key)
    for key, seqs in recorded.items():
        for seq in seqs[have.get(key, 0):]:
            yield gone.format(*key, seq=seq)


def _reviews(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    rows = db.execute(
        "SELECT variant_id, revision, content_hash, decision, reviewer, comment, review_by FROM reviews"
    ).fetchall()
    return _multiset(
        [tuple(r) for r in rows], replay.reviews,
        "a review of variant {0} revision {1} ({3} by {4!r}) has no event",
        "the review of variant {0} revision {1} ({3} by {4!r}) recorded at event {seq} is missing from the library",
    )


def _waivers(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    rows = db.execute(
        "SELECT variant_id, revision, rule_id, field, start, \"end\", reason, by FROM waivers"
    ).fetchall()
    return _multiset(
        [tuple(r) for r in rows], replay.waivers,
        "a waiver of {2} on variant {0} revision {1} ({3} {4}-{5}, by {7!r}) has no finding.waive event",
        "the waiver of {2} on variant {0} revision {1} ({3} {4}-{5}) recorded at event {seq} is missing",
    )


def _users(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    seen = set()
    for name, roles, active in db.execute("SELECT name, roles, active FROM users"):
        seen.add(name)
        state = replay.users.get(name)
        if state is None:
            yield f"user {name!r} has no user.add event: added outside copydesk"
            continue
        try:
            have = sorted(json.loads(roles))
        except (TypeError, ValueError):
            have = None
        if state.roles is not None and have != state.roles:
            yield f"user {name!r} has roles {have} in the library, but their events give {state.roles}"
        if bool(active) != state.active:
            yield (f"user {name!r} is {'active' if active else 'deactivated'} in the library, but their events "
                   f"leave them {'active' if state.active else 'deactivated'}")
    for name, state in replay.users.items():
        if name not in seen:
            yield f"user {name!r} (added at event {state.seq}) is missing from the library"


def _briefs(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    seen = set()
    for bid, version, data in db.execute("SELECT id, version, data FROM briefs"):
        seen.add(bid)
        state = replay.briefs.get(bid)
        if state is None:
            yield f"brief {bid!r} has no brief.add event: added outside copydesk"
            continue
        if state.version is not None and version != state.version:
            yield f"brief {bid!r} is at version {version}, but event {state.seq} recorded version {state.version}"
        if state.sha256 is not None:
            same = hashlib.sha256(str(data).encode()).hexdigest() == state.sha256
        elif state.data is not None:
            try:
                same = json.loads(data) == state.data
            except (TypeError, ValueError):
                same = False
        else:
            same = True
        if not same:
            yield f"brief {bid!r} differs from what event {state.seq} recorded"
    for bid, state in replay.briefs.items():
        if bid not in seen:
            yield f"brief {bid!r} (recorded at event {state.seq}) is missing from the library"
