"""What the audit chain says the library holds.

:class:`Replay` folds events, oldest first, into per variant its status, current
revision, revisions (hash and author), approval (revision, hash, approver,
review-by) and standing waiver request; waivers (a waiver granted on a request must
answer that variant's standing request, by someone other than who asked) and
reviews; users with roles and active flag; briefs with version and content.
:mod:`copydesk.audit_state` compares that with the tables.

:func:`approval_backing` is the cheap variant of the same replay that
:meth:`~copydesk.services.library.LibraryMixin.approved_content` runs on every call, and
:func:`approval_problem` the one rule both use: an approval stands only when the newest
events about the variant give exactly that approval.

Events are read as the code writes them today and as it always has: a data key an event
lacks is not required (``.get``); actions that change none of these tables are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from copydesk import audit
from copydesk.errors import AuditIntegrityError


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
    #: the standing waiver request: seq of its variant.submit event, revision, who asked
    request: tuple[int, int, str] | None = None


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


@dataclass
class TokenState:
    """One API token as its events leave it."""

    seq: int
    scope: Any
    secret_sha256: Any
    expires_at: Any
    created_by: str
    revoked: bool = False


ReviewKey = tuple[str, Any, Any, str, str, Any, Any]
WaiverKey = tuple[str, Any, Any, Any, Any, Any, Any, str]


class Replay:
    """Fold events (oldest first) into the state they explain."""

    def __init__(self) -> None:
        self.variants: dict[str, VariantState] = {}
        self.users: dict[str, UserState] = {}
        self.briefs: dict[str, BriefState] = {}
        self.tokens: dict[str, TokenState] = {}
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
            state.request = None

    def _submit(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self._variant(e)
        if state is not None:
            state.status = "in_review"
            asked = bool(d.get("waiver_request"))
            state.request = (e["seq"], _int(d.get("revision"), state.current), e["actor"]) if asked else None

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
        if "request" in d and state is not None:
            self._granted(e, d, state, rev)
        for span in d.get("spans") or []:
            fld, start, end = (list(span) + [None, None, None])[:3]
            self.waivers[(e["entity_id"], rev, d.get("rule_id"), fld, start, end, d.get("reason"),
                          e["actor"])].append(e["seq"])

    def _granted(self, e: dict[str, Any], d: dict[str, Any], state: VariantState, rev: Any) -> None:
        """A waiver granted on a copywriter's request: the request must be the variant's
        standing one, for that revision, and the reviewer not the one who asked."""
        req = state.request
        if req is None or req[0] != d.get("request") or req[1] != rev:
            self.problems.append(f"event {e['seq']} waives on the waiver request of event {d.get('request')}, "
                                 f"which is not the standing request of variant {e['entity_id']} revision {rev}")
        elif req[2] == e["actor"]:
            self.problems.append(f"event {e['seq']}: {e['actor']} waived findings on their own waiver request "
                                 f"(event {req[0]}) for variant {e['entity_id']}")

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

    # -- API tokens ------------------------------------------------------------------
    def _token_create(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        self.tokens[e["entity_id"]] = TokenState(e["seq"], d.get("scope"), d.get("secret_sha256"),
                                                 d.get("expires_at"), e["actor"])

    def _token_revoke(self, e: dict[str, Any], d: dict[str, Any]) -> None:
        state = self.tokens.get(e["entity_id"])
        if state is None:
            self.problems.append(f"event {e['seq']} (token.revoke) is about token {e['entity_id']!r}, "
                                 "which no event created")
        else:
            state.revoked = True

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
    "token.create": Replay._token_create,
    "token.revoke": Replay._token_revoke,
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
