"""Outcome imports, checked and audited like every other change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from copydesk import audit
from copydesk.db import write_transaction
from copydesk.services.base import DeskBase
from copydesk.services.permissions import require

if TYPE_CHECKING:
    from datetime import datetime

    from copydesk.measure.design import Design
    from copydesk.measure.outcomes import ImportResult
    from copydesk.measure.report import CampaignReport


class OutcomesMixin(DeskBase):
    """Import what happened after a send."""

    def import_outcomes(self, path: Path | str, *, actor: str, max_value: float | None = None) -> ImportResult:
        """Import an outcomes CSV/JSONL file; bad rows (including rows that cannot be
        true, and revenue above ``max_value``) come back as rejects, the good rows are
        stored, and a re-import counts nothing twice."""
        from copydesk.measure.outcomes import MAX_VALUE, import_outcomes

        with write_transaction(self.db):
            require(self.actor(actor), "outcomes.import")
            result = import_outcomes(self.db, Path(path), source=str(path),
                                     max_value=MAX_VALUE if max_value is None else max_value)
            audit.append(
                self.db, actor=actor, action="outcomes.import", entity="outcomes", entity_id=Path(path).name,
                data={"read": result.read, "imported": result.imported, "duplicates": result.duplicates,
                      "rejected": len(result.rejects)},
            )
        return result

    def campaign_report(
        self, campaign_id: str, *, metric: str = "converted", design: Design | None = None,
        now: datetime | None = None, winsorize: float | None = None,
    ) -> CampaignReport:
        """The campaign's send records and outcomes, measured against its holdout and
        checked against ``design`` (the campaign file; ``None``: not checked) as read at
        ``now``; revenue capped at the ``winsorize`` percentile when given."""
        from copydesk.measure.report import campaign_report

        return campaign_report(self.db, campaign_id, metric=metric, design=design, now=now, winsorize=winsorize)
