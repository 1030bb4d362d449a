"""The service layer: the one place that enforces permissions, the invariants of
docs/design.md and transactions. The CLI and the app call :class:`Desk`; nothing else
writes to the library. Its parts are mixins on :class:`~copydesk.services.base.DeskBase`."""

from __future__ import annotations

from copydesk import audit
from copydesk.db import open_db
from copydesk.models import AuditEvent
from copydesk.services.briefs import BriefsMixin
from copydesk.services.library import LibraryMixin
from copydesk.services.outcomes import OutcomesMixin
from copydesk.services.reviews import ReviewsMixin
from copydesk.services.sends import SendsMixin
from copydesk.services.sessions import SessionsMixin
from copydesk.services.tokens import TokensMixin
from copydesk.services.users import UsersMixin
from copydesk.services.variants import VariantsMixin
from copydesk.workspace import Workspace


class Desk(UsersMixin, BriefsMixin, VariantsMixin, ReviewsMixin, LibraryMixin, SendsMixin, OutcomesMixin,
           TokensMixin, SessionsMixin):
    """Everything a user can do to the library, checked and audited."""

    @classmethod
    def open(cls, workspace: Workspace) -> Desk:
        """Open (and migrate) the workspace's library."""
        return cls(open_db(workspace.db_path), workspace)

    @classmethod
    def memory(cls, workspace: Workspace | None = None) -> Desk:
        """An in-memory library (tests, demos)."""
        return cls(open_db(None), workspace)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def audit_log(
        self, *, entity_id: str | None = None, actor: str | None = None,
        action: str | None = None, limit: int | None = None,
    ) -> list[AuditEvent]:
        """Audit events in order, optionally filtered."""
        return audit.events(self.db, entity_id=entity_id, actor=actor, action=action, limit=limit)

    def audit_facets(self) -> tuple[list[str], list[str]]:
        """Every actor and every action in the audit log (for the log's filters)."""
        return audit.facets(self.db)

    def verify_audit(self) -> tuple[bool, str]:
        """Check the audit record (chain, triggers and the state it explains): (ok, message)."""
        ok, message, _ = audit.verify(self.db)
        return ok, message
