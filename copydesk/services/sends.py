"""Send history: what was sent to whom, for frequency caps and outcome measurement.

A send is stored once per campaign, contact, revision (content hash) and UTC day: the
unique index ``sends_once_a_day`` (see copydesk/migrations.py) makes recording the same
messages again, even with another ``sent_at`` on the same day, add nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import ValidationError

from copydesk import audit, clock
from copydesk.db import write_transaction
from copydesk.inputs import printable, sane_moment
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
        """Append send records. A send already stored for the same campaign, contact,
        revision (content hash) and UTC day is skipped, so recording the same file twice,
        or again with another ``sent_at`` that day, does not double-count. The audit event
        is written only when the whole batch is stored. Returns how many were new.

        ``stages`` maps contact id to lifecycle stage. It may be filled while ``records``
        is consumed (``services.campaigns.record_sends`` reads both from one streamed
        file), so it is read per record and never replaced: an empty dict passed in is
        the caller's, still to be filled."""
        stages = {} if stages is None else stages
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
                     stages.get(r.contact_id), int(r.holdout), r.sent_at.isoformat()],  # UTC: see SendRecord
                )
            added = self.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0] - before
            audit.append(
                self.db, actor=actor, action="sends.record", entity="campaign",
                entity_id=",".join(sorted(campaigns)) or "-", data={"added": added},
            )
        return int(added)

    def send_history(
        self, channel: Channel | str, since: datetime, *, skipped: list[str] | None = None
    ) -> list[SendRecord]:
        """Messages actually sent on ``channel`` since ``since`` (holdouts excluded).

        A stored send whose ``sent_at`` cannot be used (unreadable, outside what UTC can
        hold, before 2000 or in the future: stored before these were refused) is left
        out, never allowed to break the render; a line saying so goes to ``skipped``."""
        rows = self.db.execute(
            f"SELECT id, {', '.join(SEND_COLUMNS)} FROM sends WHERE channel = ? AND sent_at >= ? AND holdout = 0",
            [str(channel), since.isoformat()],
        )
        now = clock.now()
        out: list[SendRecord] = []
        for row_id, *values in rows:
            try:
                record = SendRecord.model_validate(dict(zip(SEND_COLUMNS, values, strict=True)))
                sane_moment(record.sent_at, now=now)
            except (ValidationError, ValueError) as exc:
                if skipped is not None:
                    reason = (exc.errors()[0]["msg"].removeprefix("Value error, ")
                              if isinstance(exc, ValidationError) else str(exc))
                    skipped.append(printable(f"stored send #{row_id} ignored: sent_at {reason}"))
                continue
            out.append(record)
        return out
