"""Approved content for ``/v1/content``: the approved export's records, filtered, with
an ETag that changes exactly when what is listed changes.

``dialect`` writes every placeholder in a sending platform's syntax, as ``copydesk library
export --dialect`` does (docs/reference/esp-export.md): the same records, from
:meth:`~copydesk.services.library.LibraryMixin.dialect_records`. A variant the dialect
cannot express is left out and listed under ``skipped``, never half-translated."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from copydesk.api.errors import ApiError
from copydesk.errors import InputError
from copydesk.export.dialect import Untranslatable
from copydesk.vocab import Channel, Stage

Record = dict[str, Any]

#: the export record as it is (placeholders in copydesk's own syntax)
PLAIN = "copydesk"


def dialect_name(dialect: str | None) -> str:
    """``dialect`` checked against the export's dialects (``copydesk``: none); 422 naming
    the field for an unknown one."""
    if not dialect or dialect == PLAIN:
        return PLAIN
    from copydesk.export.dialect import get

    try:
        return get(dialect).name
    except InputError as exc:
        raise ApiError(422, "invalid", exc.reason, field="dialect") from None


def skipped_json(problems: Iterable[Untranslatable]) -> list[dict[str, str]]:
    """What a dialect could not express, per variant field (those variants are left out)."""
    return [{"variant_id": p.variant_id, "field": p.field, "placeholder": p.placeholder, "reason": p.reason}
            for p in problems]


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


def item_etag(record: Record, dialect: str = PLAIN) -> str:
    """A variant's ETag: its approval's content hash (the text is exactly that), and the
    dialect it is written in."""
    digest = str(record["content_hash"])
    return f'"{digest}"' if dialect == PLAIN else f'"{digest}-{dialect}"'


def list_etag(records: Iterable[Record], dialect: str | None, *, skipped: int = 0) -> str:
    """A listing's ETag: over each listed approval (variant, revision, hash, review-by),
    the dialect and how many it skipped, so an approval, edit, retire or expiry changes it."""
    h = hashlib.sha256(f"{dialect or PLAIN}|{skipped}".encode())
    for r in records:
        h.update(f"\n{r['variant_id']}|{r['revision']}|{r['content_hash']}|{r['review_by']}".encode())
    return f'"{h.hexdigest()}"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """True when the caller's ``If-None-Match`` names ``etag`` (or is ``*``)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
