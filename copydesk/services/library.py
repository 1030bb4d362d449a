"""The governed content library: listing, full-text search, the approved set, export."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from copydesk import audit
from copydesk.audit_replay import approval_backing, approval_problem
from copydesk.clock import today
from copydesk.db import write_transaction
from copydesk.errors import InputError
from copydesk.export.dialect import TranslationError, Untranslatable
from copydesk.export.dialect import get as get_dialect
from copydesk.export.translate import translate
from copydesk.hashing import content_hash
from copydesk.models import ApprovedContent, Brief, Variant
from copydesk.placeholders import fields_placeholders
from copydesk.review_by import expired_sql, unexpired_sql
from copydesk.services.base import REVISION_COLUMNS, VARIANT_COLUMNS, DeskBase, revision_from_row, variant_from_rows
from copydesk.services.permissions import require
from copydesk.vocab import Status

EXPORT_FORMATS = ("csv", "json", "jsonl")
STATUS_FILTERS = (*[s.value for s in Status], "expired")


@dataclass
class Export:
    """One serialized export: its text, the records in it, and the variants left out
    because the dialect cannot express them (only with ``skip_untranslatable``)."""

    fmt: str
    dialect: str | None
    text: str
    records: list[dict[str, Any]]
    skipped: list[Untranslatable] = field(default_factory=list)


def fts_query(text: str) -> str:
    """Turn free text into a safe FTS5 query: every word quoted, all required."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    return " ".join(f'"{w}"' for w in words)


class LibraryMixin(DeskBase):
    """Read the library; export only approved content."""

    def list_variants(
        self,
        *,
        status: str | None = None,
        stage: str | None = None,
        channel: str | None = None,
        segment: str | None = None,
        brief_id: str | None = None,
        expiring_within_days: int | None = None,
        ids: list[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Variant]:
        """Variants with their current revision, filtered. ``status='expired'`` means
        approved but past the review-by date; ``'approved'`` means approved and current."""
        where, params = _filters(status, stage, channel, segment, brief_id, expiring_within_days, ids)
        return self._query_variants(where, params, limit=limit, offset=offset)

    def count_variants(
        self,
        *,
        status: str | None = None,
        stage: str | None = None,
        channel: str | None = None,
        segment: str | None = None,
        brief_id: str | None = None,
        expiring_within_days: int | None = None,
        ids: list[str] | None = None,
    ) -> int:
        """How many variants :meth:`list_variants` returns for the same filters."""
        where, params = _filters(status, stage, channel, segment, brief_id, expiring_within_days, ids)
        sql = "SELECT COUNT(*) FROM variants v"
        if where:
            sql += " WHERE " + " AND ".join(f"({w})" for w in where)
        return int(self.db.execute(sql, params).fetchone()[0])

    def _query_variants(
        self, where: list[str], params: list[Any], *, limit: int | None = None, offset: int = 0,
        order: str = "CAST(SUBSTR(v.id, 2) AS INTEGER)",
    ) -> list[Variant]:
        cols = ", ".join(f"v.{c}" for c in VARIANT_COLUMNS) + ", " + ", ".join(f"r.{c}" for c in REVISION_COLUMNS)
        sql = (f"SELECT {cols} FROM variants v JOIN revisions r "
               "ON r.variant_id = v.id AND r.number = v.current_revision")
        if where:
            sql += " WHERE " + " AND ".join(f"({w})" for w in where)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        nv = len(VARIANT_COLUMNS)
        rows = [(dict(zip(VARIANT_COLUMNS, row[:nv], strict=True)), dict(zip(REVISION_COLUMNS, row[nv:], strict=True)))
                for row in self.db.execute(sql, params)]
        # a listed variant shows its findings as they stand: waived ones with their waiver
        waivers = self._waivers_of([(r["variant_id"], r["number"]) for _, r in rows])
        return [variant_from_rows(v, revision_from_row(r, waivers.get((r["variant_id"], r["number"]))))
                for v, r in rows]

    def search(self, text: str, *, status: str | None = None, limit: int = 100) -> list[Variant]:
        """Full-text search (stemmed) over the current text of every variant."""
        query = fts_query(text)
        if not query:
            return []
        where = ["r.id IN (SELECT rowid FROM revisions_fts WHERE revisions_fts MATCH ?)"]
        params: list[Any] = [query]
        if status:
            where.append("v.status = ?")
            params.append(status)
        return self._query_variants(where, params, limit=limit)

    def segments(self) -> list[str]:
        """Every segment name used by a brief or a variant."""
        rows = self.db.execute(
            "SELECT segment FROM briefs UNION SELECT segment FROM variants WHERE segment IS NOT NULL ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows if r[0]]

    def findings_by_day(self) -> list[dict[str, Any]]:
        """Guardrail findings on new revisions per day, category and severity."""
        rows = self.db.execute(
            "SELECT substr(r.created_at, 1, 10) AS day, json_extract(j.value, '$.category') AS category, "
            "json_extract(j.value, '$.severity') AS severity, COUNT(*) "
            "FROM revisions r, json_each(r.findings) j "
            "GROUP BY day, category, severity ORDER BY day, category, severity"
        ).fetchall()
        return [{"day": r[0], "category": r[1], "severity": r[2], "findings": int(r[3])} for r in rows]

    def status_counts(self) -> dict[str, int]:
        """How many variants are in each status, with ``expired`` split out of approved."""
        counts = {s: 0 for s in STATUS_FILTERS}
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM variants GROUP BY status"):
            counts[status] = n
        expired = self.db.execute(
            f"SELECT COUNT(*) FROM variants v WHERE v.status = 'approved' AND {expired_sql()}",
            [today().isoformat()],
        ).fetchone()[0]
        counts["expired"] = expired
        counts["approved"] -= expired
        return counts

    def approved_content(self, today_: date | None = None) -> list[ApprovedContent]:
        """Every approved, unexpired, unretired revision, with its text re-hashed and
        checked against the approval (invariant 1 and 2), and the approval checked against
        the audit chain: only one that the newest events about the variant give (same
        revision, hash, approver and review-by; the events' own hashes or HMACs intact)
        counts; one set by SQL is left out, and ``copydesk audit verify`` names it. This is
        the only source the rule engine, the renderer and the approved export read from."""
        day = (today_ or today()).isoformat()
        backing = approval_backing(self.db)
        rows = self.db.execute(
            "SELECT v.id, v.brief_id, v.channel, v.stage, v.segment, v.approved_revision, v.approved_hash, "
            "v.approved_by, v.approved_at, v.review_by, r.fields, r.content_hash "
            "FROM variants v JOIN revisions r ON r.variant_id = v.id AND r.number = v.approved_revision "
            f"WHERE v.status = 'approved' AND {unexpired_sql()} "
            "ORDER BY CAST(SUBSTR(v.id, 2) AS INTEGER)",
            [day],
        )
        out = []
        for (vid, brief_id, channel, stage, segment, rev, approved_hash, by, at, review_by,
             fields_json, stored_hash) in rows:
            fields = json.loads(fields_json)
            if stored_hash != approved_hash or content_hash(channel, fields) != approved_hash:
                continue  # text differs from what was approved: never eligible
            if approval_problem(vid, rev, approved_hash, by, review_by, backing.get(vid)) is not None:
                continue  # not an approval the chain records: never eligible
            out.append(ApprovedContent(
                variant_id=vid, brief_id=brief_id, revision=rev, content_hash=approved_hash,
                channel=channel, stage=stage, segment=segment or "", fields=fields,
                approved_by=by, approved_at=at, review_by=review_by,
            ))
        return out

    def export_records(self, today_: date | None = None) -> list[dict[str, Any]]:
        """The approved library as plain records for other systems."""
        briefs: dict[str, Brief] = {}
        return [self._record(item, briefs=briefs) for item in self.approved_content(today_)]

    def dialect_records(
        self, dialect: str, today_: date | None = None
    ) -> tuple[list[dict[str, Any]], list[Untranslatable]]:
        """The approved library with every field written in ``dialect``'s personalisation
        syntax (docs/reference/esp-export.md), and every placeholder it cannot express.
        A variant with a problem is left out of the records, never half-translated."""
        lang = get_dialect(dialect)
        field_map = self.workspace.config().esp.for_dialect(lang.name) if self.workspace else {}
        records: list[dict[str, Any]] = []
        problems: list[Untranslatable] = []
        briefs: dict[str, Brief] = {}
        for item in self.approved_content(today_):
            done = translate(lang, item, field_map)
            if done.problems:
                problems += done.problems
                continue
            record = self._record(item, briefs=briefs)
            record["fields"] = done.fields
            record["dialect"] = lang.name
            record["attributes"] = done.attributes
            records.append(record)
        return records, problems

    def _record(self, item: ApprovedContent, *, briefs: dict[str, Brief]) -> dict[str, Any]:
        brief = briefs.setdefault(item.brief_id, self.get_brief(item.brief_id))
        return {
            "variant_id": item.variant_id,
            "revision": item.revision,
            "content_hash": item.content_hash,
            "brief_id": item.brief_id,
            "brief_title": brief.title,
            "segment": item.segment,
            "stage": item.stage.value,
            "channel": item.channel.value,
            "locale": brief.locale,
            "fields": item.fields,
            "variables": fields_placeholders(item.fields),
            "approved_by": item.approved_by,
            "approved_at": item.approved_at.isoformat(),
            "review_by": item.review_by.isoformat() if item.review_by else None,
        }

    def export_text(self, fmt: str, *, actor: str, today_: date | None = None, dialect: str | None = None,
                    skip_untranslatable: bool = False) -> str:
        """Serialize the approved library as csv, json or jsonl (audited); with ``dialect``,
        every field in that platform's personalisation syntax (see :meth:`prepare_export`)."""
        export = self.prepare_export(fmt, actor=actor, today_=today_, dialect=dialect,
                                     skip_untranslatable=skip_untranslatable)
        self.record_export(export, actor=actor)
        return export.text

    def export_file(self, fmt: str, out: Path | str, *, actor: str, dialect: str | None = None,
                    skip_untranslatable: bool = False) -> Export:
        """Write the approved export to ``out``; returns what was exported. The file is
        written first (to a temporary name beside it) and the export audited only once it
        exists: a failed write leaves no record of an export that never happened."""
        export = self.prepare_export(fmt, actor=actor, dialect=dialect,
                                     skip_untranslatable=skip_untranslatable)
        out = Path(out)
        tmp = out.with_name(f".{out.name}.part")
        try:
            tmp.write_text(export.text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the export: {exc.strerror or exc}", source=str(out)) from None
        try:
            self.record_export(export, actor=actor)
            tmp.replace(out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return export

    def prepare_export(self, fmt: str, *, actor: str, today_: date | None = None, dialect: str | None = None,
                       skip_untranslatable: bool = False) -> Export:
        """Serialize the approved library without recording it (:meth:`record_export` does,
        once the export is handed over). With ``dialect``, a placeholder the platform cannot
        express raises :class:`TranslationError` listing every one, and nothing is exported
        — unless ``skip_untranslatable``: then the variants that translate are exported and
        the others listed in :attr:`Export.skipped`."""
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"unknown export format '{fmt}'; use {', '.join(EXPORT_FORMATS)}")
        require(self.actor(actor), "library.export")
        skipped: list[Untranslatable] = []
        if dialect is None:
            records = self.export_records(today_)
        else:
            records, skipped = self.dialect_records(dialect, today_)
            if skipped and not skip_untranslatable:
                raise TranslationError(dialect, skipped)
        if fmt == "json":
            text = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
        elif fmt == "jsonl":
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            text = _csv(records)
        return Export(fmt, dialect, text, records, skipped)

    def record_export(self, export: Export, *, actor: str) -> None:
        """Audit ``export`` as handed over by ``actor`` (variants, hashes, dialect, and the
        variants a dialect left out)."""
        require(self.actor(actor), "library.export")
        data: dict[str, Any] = {"variants": [r["variant_id"] for r in export.records],
                                "hashes": [r["content_hash"] for r in export.records]}
        entity_id = export.fmt
        if export.dialect is not None:
            entity_id = f"{export.fmt}:{export.dialect}"
            data["dialect"] = export.dialect
            data["skipped"] = sorted({p.variant_id for p in export.skipped})
        with write_transaction(self.db):
            audit.append(self.db, actor=actor, action="library.export", entity="library",
                         entity_id=entity_id, data=data)


def _filters(
    status: str | None, stage: str | None, channel: str | None, segment: str | None,
    brief_id: str | None, expiring_within_days: int | None, ids: list[str] | None,
) -> tuple[list[str], list[Any]]:
    """SQL conditions (over ``variants v``) and parameters for the library filters."""
    where: list[str] = []
    params: list[Any] = []
    now = today().isoformat()
    if status:
        if status not in STATUS_FILTERS:
            raise InputError(f"unknown status '{status}'; use one of {', '.join(STATUS_FILTERS)}")
        if status == "expired":
            where.append(f"v.status = 'approved' AND {expired_sql()}")
            params.append(now)
        elif status == "approved":
            where.append(f"v.status = 'approved' AND {unexpired_sql()}")
            params.append(now)
        else:
            where.append("v.status = ?")
            params.append(status)
    for column, value in (("stage", stage), ("channel", channel), ("segment", segment), ("brief_id", brief_id)):
        if value:
            where.append(f"v.{column} = ?")
            params.append(value)
    if expiring_within_days is not None:
        where.append(f"v.status = 'approved' AND {unexpired_sql()} AND v.review_by <= ?")
        params += [now, (today() + timedelta(days=expiring_within_days)).isoformat()]
    if ids is not None:
        where.append(f"v.id IN ({', '.join('?' for _ in ids)})" if ids else "0")
        params += ids
    return where, params


def _csv(records: list[dict[str, Any]]) -> str:
    field_names = sorted({k for r in records for k in r["fields"]})
    dialect = bool(records) and "dialect" in records[0]
    header = ["variant_id", "revision", "content_hash", "brief_id", "segment", "stage", "channel",
              "locale", *field_names, "variables", "approved_by", "approved_at", "review_by",
              *(["dialect", "attributes"] if dialect else [])]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for r in records:
        writer.writerow([
            r["variant_id"], r["revision"], r["content_hash"], r["brief_id"], r["segment"], r["stage"],
            r["channel"], r["locale"], *[r["fields"].get(f, "") for f in field_names],
            json.dumps(r["variables"], ensure_ascii=False), r["approved_by"], r["approved_at"],
            r["review_by"] or "",
            *([r["dialect"], json.dumps(r["attributes"], ensure_ascii=False)] if dialect else []),
        ])
    return buf.getvalue()
