"""Approved copy as examples in the generation prompt (few-shot, for every backend).

Only approved content counts: :meth:`LibraryMixin.approved_content` (approved, current,
unexpired, unretired, its text re-hashed and its approval backed by the audit chain),
never a draft, a rejected or a retired variant. Of those with the brief's channel and
stage, the ones whose exact approved text was measured on at least ``min_recipients``
recipients come first, by converted rate (ties: more recipients); the rest follow by
newest approval. Each example is screened for personal data like a brief (the built-in
detector and the policy's PII rules); one with any is left out, and the draft's
provenance says which and why (kind and position, never the value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.privacy import describe, masked, personal_data_in
from copydesk.models import ApprovedContent, Brief, Finding
from copydesk.vocab import Category, Severity


@dataclass(frozen=True)
class Measured:
    """How the recipients of one exact text (content hash) did."""

    recipients: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.recipients if self.recipients else 0.0


@dataclass(frozen=True)
class Example:
    """One approved revision put in the prompt, and why it was chosen."""

    variant_id: str
    revision: int
    content_hash: str
    fields: dict[str, str]
    chosen_by: str
    measured: Measured | None = None

    def provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant_id": self.variant_id, "revision": self.revision,
                               "content_hash": self.content_hash, "chosen_by": self.chosen_by}
        if self.measured is not None:
            out["recipients"] = self.measured.recipients
            out["converted"] = self.measured.converted
        return out


@dataclass(frozen=True)
class Selection:
    """The examples chosen and the candidates left out for personal data."""

    examples: list[Example]
    skipped: list[dict[str, Any]]

    def provenance(self) -> dict[str, Any]:
        return {"examples": [e.provenance() for e in self.examples],
                **({"examples_skipped": self.skipped} if self.skipped else {})}


NO_EXAMPLES = Selection([], [])


def measured_by_hash(db: sqlite_utils.Database) -> dict[str, Measured]:
    """Recipients (distinct contacts per campaign sent the text, holdouts excluded) and
    how many of them converted, per content hash."""
    rows = db.execute(
        "SELECT s.content_hash, COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM outcomes o "
        "WHERE o.campaign_id = s.campaign_id AND o.contact_id = s.contact_id "
        "AND o.event = 'converted') THEN 1 ELSE 0 END) "
        "FROM (SELECT DISTINCT content_hash, campaign_id, contact_id FROM sends "
        "WHERE holdout = 0 AND content_hash IS NOT NULL) s GROUP BY s.content_hash"
    ).fetchall()
    return {h: Measured(int(n), int(c or 0)) for h, n, c in rows}


def _pii(fields: Mapping[str, str], policy: GuardrailPolicy | None) -> list[Finding]:
    found = list(personal_data_in(fields))
    if policy is not None:
        found += [f for f in policy.check_text(fields) if f.category == Category.PII]
    return [f for f in found if f.severity == Severity.BLOCK]


def choose(
    brief: Brief,
    approved: Iterable[ApprovedContent],
    measured: Mapping[str, Measured],
    *,
    limit: int,
    min_recipients: int,
    policy: GuardrailPolicy | None,
) -> Selection:
    """Up to ``limit`` examples for ``brief`` from ``approved`` (see the module doc)."""
    if limit <= 0:
        return NO_EXAMPLES
    same = [a for a in approved if a.channel == brief.channel and a.stage == brief.stage]

    def score(a: ApprovedContent) -> tuple[int, float, int, float]:
        m = measured.get(a.content_hash)
        if m is not None and m.recipients >= min_recipients:
            return (1, m.rate, m.recipients, a.approved_at.timestamp())
        return (0, 0.0, 0, a.approved_at.timestamp())

    chosen: list[Example] = []
    skipped: list[dict[str, Any]] = []
    for a in sorted(same, key=score, reverse=True):
        if len(chosen) >= limit:
            break
        pii = _pii(a.fields, policy)
        if pii:
            skipped.append({"variant_id": a.variant_id, "revision": a.revision,
                            "reason": f"personal data: {describe([masked(f) for f in pii])}"})
            continue
        m = measured.get(a.content_hash)
        if m is not None and m.recipients >= min_recipients:
            why = f"converted {m.rate:.1%} of {m.recipients} recipients"
        else:
            why = f"newest approved ({a.approved_at.date().isoformat()})"
            if m is not None:
                why += f"; {m.recipients} recipient(s), under the {min_recipients} needed to rank"
            m = None
        chosen.append(Example(a.variant_id, a.revision, a.content_hash, dict(a.fields), why, m))
    return Selection(chosen, skipped)


def prompt_examples(selection: Selection) -> list[dict[str, Any]]:
    """The examples as the prompt template reads them (non-empty fields only)."""
    return [{"variant_id": e.variant_id,
             "fields": [{"name": k, "text": v} for k, v in e.fields.items() if v]}
            for e in selection.examples]


def example_texts(selection: Selection) -> Sequence[tuple[str, Mapping[str, str]]]:
    """(label, fields) of each example, for the near-duplicate check."""
    return [(f"approved example {e.variant_id} r{e.revision}", e.fields) for e in selection.examples]


_HOOK_FIELDS = ("subject", "title", "headline")
_TOPIC_FIELDS = ("body", "text", "description")


def offline_examples(selection: Selection) -> list[dict[str, str]]:
    """The examples as the embedded model's hook prompt reads them: the approved line
    (subject, title or headline) and, as its topic, the first sentence of the copy."""
    out = []
    for e in selection.examples:
        line = next((e.fields[f] for f in _HOOK_FIELDS if e.fields.get(f)), "")
        body = next((e.fields[f] for f in _TOPIC_FIELDS if e.fields.get(f)), "")
        topic = body.split(". ")[0].strip()
        if line and topic and "{" not in line:
            out.append({"topic": topic, "line": line})
    return out
