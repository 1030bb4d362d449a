"""How the library's tables differ from the state the audit chain explains.

:func:`compare` takes a :class:`~copydesk.audit_replay.Replay` of the whole, verified
chain and names every row the events do not explain (a variant, revision, review,
waiver, user or brief without its event), every value they contradict (a status, an
approval's revision, hash, approver or review-by, a role, an active flag, a brief's
content), and everything they record that is gone. Nothing in the library is trusted
because it is there: a row without its event is broken.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlite_utils

from copydesk.audit_replay import Replay, VariantState, approval_problem, short
from copydesk.hashing import content_hash

#: How far a variant's approved_at may be from its approve event's time (both are
#: taken in the same transaction, microseconds apart).
APPROVED_AT_SLACK_SECONDS = 60


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
            *_waivers(db, replay), *_users(db, replay), *_briefs(db, replay), *_tokens(db, replay)]


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


def _tokens(db: sqlite_utils.Database, replay: Replay) -> Iterable[str]:
    """API tokens against their token.create / token.revoke events: a token written into
    the table without its event (one that would let a caller in) is named."""
    seen = set()
    rows = db.execute("SELECT id, scope, secret_sha256, expires_at, created_by, revoked_at FROM api_tokens")
    for tid, scope, digest, expires_at, created_by, revoked_at in rows:
        seen.add(tid)
        state = replay.tokens.get(tid)
        if state is None:
            yield f"API token {tid!r} has no token.create event: added outside copydesk"
            continue
        if (scope, digest, expires_at, created_by) != (state.scope, state.secret_sha256, state.expires_at,
                                                       state.created_by):
            yield f"API token {tid!r} differs from what event {state.seq} created (scope, secret, expiry or creator)"
        if state.revoked and revoked_at is None:
            yield f"API token {tid!r} was revoked by an event but is not revoked in the library"
        if revoked_at is not None and not state.revoked:
            yield f"API token {tid!r} is revoked in the library but no event revoked it"
    for tid, state in replay.tokens.items():
        if tid not in seen:
            yield f"API token {tid!r} (created at event {state.seq}) is missing from the library"
