"""Looking after the audit log itself: verify it (against an anchor), anchor it, restore
its append-only triggers, key it. Restoring and keying are admin actions, each an
event in the chain; see copydesk/audit.py for what each mode proves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copydesk import audit
from copydesk.audit_verify import Anchor, Verification, check
from copydesk.db import write_transaction
from copydesk.errors import AuditIntegrityError
from copydesk.models import AuditEvent
from copydesk.services.permissions import require

if TYPE_CHECKING:
    from copydesk.services.desk import Desk


def verify(desk: Desk, *, anchor: Anchor | None = None) -> Verification:
    """Check the chain, its triggers, the state it explains and (given) an anchor."""
    return check(desk.db, anchor=anchor)


def anchor(desk: Desk) -> Anchor:
    """The head of a chain that verifies, to keep outside the library. Refused for a
    chain that does not verify (an anchor would vouch for a tampered history)."""
    result = check(desk.db)
    if not result.ok:
        raise AuditIntegrityError(f"the audit chain does not verify, so it is not anchored: {result.problems[0]}")
    if result.head is None:
        raise AuditIntegrityError("the audit chain is empty: nothing to anchor yet")
    return result.head


def protect(desk: Desk, *, actor: str) -> list[str]:
    """Restore the append-only triggers (admin only), on the record; returns what was
    done (nothing when they were in place)."""
    with write_transaction(desk.db):
        require(desk.actor(actor), "users.manage")
        return audit.protect(desk.db, actor=actor)


def key(desk: Desk, *, actor: str) -> AuditEvent:
    """Key the chain with ``COPYDESK_AUDIT_KEY`` from the next event on (admin only)."""
    with write_transaction(desk.db):
        require(desk.actor(actor), "users.manage")
        return audit.start_keyed(desk.db, actor=actor)
