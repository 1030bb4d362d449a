"""Approved content for ``/v1/content``: the approved export's records, filtered, with
an ETag that changes exactly when what is listed changes.

``dialect`` is the seam for the ESP export dialects (Liquid for Braze, Handlebars for
Iterable, ...): a function here turns the export record into that dialect's form. Only
``copydesk`` (the export record as it is) exists today; the ESP export work adds its
dialects to :data:`DIALECTS`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from copydesk.api.errors import ApiError
from copydesk.vocab import Channel, Stage

Record = dict[str, Any]

#: dialect name -> how a record is shaped for it
DIALECTS: dict[str, Callable[[Record], Record]] = {
    "copydesk": lambda record: record,
}


def shape(records: Iterable[Record], dialect: str | None) -> list[Record]:
    """``records`` in ``dialect`` (default ``copydesk``); 422 naming the field for an unknown one."""
    name = dialect or "copydesk"
    convert = DIALECTS.get(name)
    if convert is None:
        raise ApiError(422, "invalid", f"unknown dialect; use one of {', '.join(sorted(DIALECTS))}",
                       field="dialect")
    return [convert(r) for r in records]


def _choice(value: str | None, allowed: Iterable[str], field: str) -> str | None:
    if value is None or value == "":
        return None
    names = [a for a in allowed]
    if value not in names:
        raise ApiError(422, "invalid", f"use one of {', '.join(names)}", field=field)
    return value


def select(records: list[Record], *, brief: str | None, stage: str | None, channel: str | None) -> list[Record]:
    """The records matching every filter given (an unknown stage or channel is a 422)."""
    stage = _choice(stage, [s.value for s in Stage], "stage")
    channel = _choice(channel, [c.value for c in Channel], "channel")
    return [r for r in records
            if (not brief or r["brief_id"] == brief) and (not stage or r["stage"] == stage)
            and (not channel or r["channel"] == channel)]


def item_etag(record: Record) -> str:
    """A variant's ETag: its approval's content hash (strong: the text is exactly that)."""
    return f'"{record["content_hash"]}"'


def list_etag(records: Iterable[Record], dialect: str | None) -> str:
    """A listing's ETag: over each listed approval (variant, revision, hash, review-by) and
    the dialect, so an approval, edit, retire or expiry changes it."""
    h = hashlib.sha256((dialect or "copydesk").encode())
    for r in records:
        h.update(f"\n{r['variant_id']}|{r['revision']}|{r['content_hash']}|{r['review_by']}".encode())
    return f'"{h.hexdigest()}"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """True when the caller's ``If-None-Match`` names ``etag`` (or is ``*``)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
