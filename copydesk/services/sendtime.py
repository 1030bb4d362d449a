"""Service-layer reads for send-time decisions (``copydesk serve``): one contact's send
history, read the way :meth:`~copydesk.services.sends.SendsMixin.send_history` reads the
whole channel's, with one indexed query instead (an API call decides one contact)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from copydesk import clock
from copydesk.inputs import sane_moment
from copydesk.models import SendRecord
from copydesk.services.base import DeskBase
from copydesk.services.sends import SEND_COLUMNS


def contact_send_history(desk: DeskBase, contact_id: str, channel: str, since: datetime) -> list[SendRecord]:
    """``contact_id``'s sends on ``channel`` since ``since`` (holdouts excluded); a stored
    send whose ``sent_at`` cannot be used is left out, as ``send_history`` leaves it out."""
    rows = desk.db.execute(
        f"SELECT {', '.join(SEND_COLUMNS)} FROM sends WHERE contact_id = ? AND channel = ? AND sent_at >= ? "
        "AND holdout = 0",
        [contact_id, channel, since.isoformat()],
    )
    now = clock.now()
    out = []
    for values in rows:
        try:
            record = SendRecord.model_validate(dict(zip(SEND_COLUMNS, values, strict=True)))
            sane_moment(record.sent_at, now=now)
        except (ValidationError, ValueError):
            continue
        out.append(record)
    return out
