"""Filtering, paging and table rows for the app's lists. Plain functions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from copydesk.errors import InputError
from copydesk.models import AuditEvent, Brief, Variant
from copydesk.rules.values import TEXT_COLUMNS, coerce_iso, coerce_text
from copydesk.ui.messages import readable_line

PAGE_SIZE = 50


@dataclass(frozen=True)
class LibraryFilter:
    """The Library and Review pages' filters (empty strings mean 'any')."""

    text: str = ""
    status: str = ""
    stage: str = ""
    channel: str = ""
    segment: str = ""
    brief_id: str = ""
    expiring_within_days: int | None = None

    def list_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Desk.list_variants` and :meth:`Desk.count_variants`."""
        return {
            "status": self.status or None,
            "stage": self.stage or None,
            "channel": self.channel or None,
            "segment": self.segment or None,
            "brief_id": self.brief_id or None,
            "expiring_within_days": self.expiring_within_days,
        }


@dataclass(frozen=True)
class Page:
    """One page of a list: 1-based ``number`` of ``pages``, rows ``offset``..``offset+size``."""

    number: int
    pages: int
    offset: int
    size: int
    total: int

    @property
    def label(self) -> str:
        if not self.total:
            return "nothing to show"
        last = min(self.offset + self.size, self.total)
        return f"{self.offset + 1:,}–{last:,} of {self.total:,} (page {self.number} of {self.pages})"


def paginate(total: int, page: int, size: int = PAGE_SIZE) -> Page:
    """The page ``page`` (clamped to what exists) of ``total`` rows."""
    pages = max(1, -(-total // size))
    number = min(max(1, page), pages)
    return Page(number, pages, (number - 1) * size, size, total)


def filter_briefs(
    briefs: Iterable[Brief], *, text: str = "", stage: str = "", channel: str = "", segment: str = ""
) -> list[Brief]:
    """Briefs matching every given filter; ``text`` matches id, title, goal or key message."""
    needle = text.strip().lower()
    out = []
    for b in briefs:
        if stage and b.stage.value != stage:
            continue
        if channel and b.channel.value != channel:
            continue
        if segment and b.segment.name != segment:
            continue
        if needle and needle not in " ".join((b.id, b.title, b.goal, b.key_message)).lower():
            continue
        out.append(b)
    return out


def brief_rows(briefs: Iterable[Brief]) -> list[dict[str, Any]]:
    """Table rows for a list of briefs."""
    return [
        {"id": b.id, "title": b.title, "stage": b.stage.value, "channel": b.channel.value,
         "segment": b.segment.name, "offer": b.offer or "", "variants": b.variants, "locale": b.locale}
        for b in briefs
    ]


def preview_text(variant: Variant, limit: int = 90) -> str:
    """The variant's first non-empty field, shortened."""
    text = next((v for v in variant.current.content.fields.values() if v), "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def variant_rows(variants: Iterable[Variant]) -> list[dict[str, Any]]:
    """Table rows for a list of variants."""
    return [
        {"id": v.id, "brief": v.brief_id, "channel": v.channel.value, "stage": v.stage.value,
         "segment": v.segment, "status": v.status.value, "revision": v.current.number,
         "findings": len(v.current.findings),
         "review_by": v.review_by.isoformat() if v.review_by else "",
         "text": preview_text(v)}
        for v in variants
    ]


def audit_rows(events: Iterable[AuditEvent], *, entity: str = "") -> list[dict[str, Any]]:
    """Table rows for audit events, newest first; ``entity`` keeps one entity type."""
    rows = [
        {"seq": e.seq, "at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "actor": e.actor, "action": e.action,
         "entity": e.entity, "entity_id": e.entity_id,
         "data": readable_line(e.data), "hash": e.hash[:12]}
        for e in events
        if not entity or e.entity == entity
    ]
    rows.reverse()
    return rows


def parse_contact_fields(text: str) -> dict[str, Any]:
    """Contact fields typed as ``name = value`` lines (or one JSON object), typed like a
    CSV cell (numbers, booleans, dates). Errors name the line."""
    stripped = text.strip()
    if not stripped:
        raise InputError("type at least contact_id = ...", field="contact")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", line=exc.lineno, source="contact") from None
        if not isinstance(data, dict):
            raise InputError("expected a JSON object", source="contact")
        return {k: coerce_iso(v) if isinstance(v, str) and k not in TEXT_COLUMNS else v for k, v in data.items()}
    out: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not name:
            raise InputError("expected 'field = value'", source="contact", line=number)
        if not name.isidentifier():
            raise InputError(f"'{name}' is not a field name", source="contact", line=number)
        out[name] = value.strip() if name in TEXT_COLUMNS else coerce_text(value)
    return out


def contact_label(
    contact: dict[str, Any], fields: Sequence[str] = ("first_name", "last_name", "lifecycle_stage")
) -> str:
    """``C1001 · Amelia Hughes · awareness``."""
    parts = [str(contact.get("contact_id", "?"))]
    name = " ".join(str(contact[f]) for f in fields[:2] if contact.get(f))
    if name:
        parts.append(name)
    if len(fields) > 2 and contact.get(fields[2]):
        parts.append(str(contact[fields[2]]))
    return " · ".join(parts)
