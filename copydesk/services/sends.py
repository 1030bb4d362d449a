"""Send history: what was sent to whom, for frequency caps and outcome measurement."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from copydesk import audit
from copydesk.db import write_transaction
from copydesk.models import SendRecord
from copydesk.services.base import DeskBase
from copydesk.services.permissions import require
from copydesk.vocab import Channel

SEND_COLUMNS = ("contact_id", "campaign_id", "channel", "variant_id", "content_hash", "rule_id", "holdout", "sent_at")


class SendsMixin(DeskBase):
    """Append and read send records."""

    def record_sends(
        self, records: Iterable[SendRecord], *, actor: str, stages: dict[str, str] | None = None
    ) -> int:
        """Append send records (a record already present is skipped, so recording the
        same file twice does not double-count). Returns how many were new."""
        stages = stages or {}
        with write_transaction(self.db):
            require(self.actor(actor), "sends.record")
            before = self.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0]
            campaigns: set[str] = set()
            for r in records:
                campaigns.add(r.campaign_id)
                self.db.execute(
                    "INSERT OR IGNORE INTO sends (contact_id, campaign_id, channel, variant_id, content_hash, "
                    "rule_id, stage, holdout, sent_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    [r.contact_id, r.campaign_id, r.channel.value, r.variant_id, r.content_hash, r.rule_id,
                     stages.get(r.contact_id), int(r.holdout), r.sent_at.isoformat()],
                )
            added = self.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0] - before
            audit.append(
                self.db, actor=actor, action="sends.record", entity="campaign",
                entity_id=",".join(sorted(campaigns)) or "-", data={"added": added},
            )
        return int(added)

    def send_history(self, channel: Channel | str, since: datetime) -> list[SendRecord]:
        """Messages actually sent on ``channel`` since ``since`` (holdouts excluded)."""
        rows = self.db.execute(
            f"SELECT {', '.join(SEND_COLUMNS)} FROM sends WHERE channel = ? AND sent_at >= ? AND holdout = 0",
            [str(channel), since.isoformat()],
        )
        return [SendRecord.model_validate(dict(zip(SEND_COLUMNS, r, strict=True))) for r in rows]
