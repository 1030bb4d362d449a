"""``copydesk audit verify``: the chain, its append-only triggers, the library's state
against what the chain explains (:mod:`copydesk.audit_state`), and anchors kept outside
the library (``copydesk audit anchor``), which prove that nothing up to the anchored
event was rolled back, truncated or rewritten since."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field

from copydesk import audit
from copydesk.audit_replay import Replay
from copydesk.audit_state import compare
from copydesk.yamlio import load_model

#: At most this many problems are listed (the count of the rest follows).
MAX_PROBLEMS = 20


# -- anchors ----------------------------------------------------------------------

class Anchor(BaseModel):
    """The chain's head at one moment, kept outside the library (``audit anchor``)."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    at: str
    mode: audit.Mode


def load_anchor(path: Path | str) -> Anchor:
    """Read an anchor file written by ``copydesk audit anchor --out`` (errors name the
    file, line and field)."""
    return load_model(path, Anchor)


def anchor_problem(db: sqlite_utils.Database, anchor: Anchor) -> str | None:
    """Why the chain does not extend ``anchor`` (rollback, truncation or rewrite), or
    ``None`` when it does: it holds that exact event at that sequence number."""
    row = db.execute("SELECT at, hash FROM audit_events WHERE seq = ?", [anchor.seq]).fetchone()
    if row is None:
        count = db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
        return (f"the anchor records event {anchor.seq} ({anchor.at}) but the chain has only {count}: "
                "it was truncated or rolled back")
    if row[1] != anchor.hash or row[0] != anchor.at:
        return (f"event {anchor.seq} is not the one anchored ({anchor.hash[:12]}…, {anchor.at}): "
                "the chain was rolled back and rewritten since")
    return None


@dataclass
class Verification:
    """The outcome of :func:`check`: the problems found (none: intact) and notes."""

    count: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: Anchor | None = None
    keyed_since: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def summary(self) -> str:
        """One line for a success, else the problems, one per line (at most 20)."""
        if self.ok:
            mode = f"HMAC-keyed since event {self.keyed_since}" if self.keyed_since else "sha256, not keyed"
            return (f"audit chain intact: {self.count} events ({mode}), and they explain every variant, "
                    "revision, review, waiver, brief and user in the library")
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        return "\n".join(shown + ([f"... and {more} more"] if more > 0 else []))


def check(db: sqlite_utils.Database, *, anchor: Anchor | None = None) -> Verification:
    """Verify everything: the chain (edited, deleted, inserted, reordered events; the
    newest deleted), the append-only triggers, the library's state against what the
    chain explains, and, given an ``anchor``, that the chain still holds it."""
    result = Verification()
    replay = Replay()
    walk = audit.walk_chain(db, replay.feed)
    result.count, result.keyed_since = walk.count, walk.since
    if walk.last is not None:
        last = walk.last
        mode = audit.KEYED if walk.since else audit.PLAIN
        result.head = Anchor(seq=last["seq"], hash=last["hash"], at=str(last["at"]), mode=mode)
    if walk.problem is not None:
        result.problems.append(walk.problem)
    result.problems += audit.trigger_problems(db)
    if walk.problem is None:
        result.problems += compare(db, replay, events=result.count)
        result.notes += replay.notes
    if anchor is not None:
        problem = anchor_problem(db, anchor)
        if problem:
            result.problems.append(problem)
        else:
            result.notes.append(f"the chain still holds the anchored event {anchor.seq} ({anchor.at})")
    return result
