"""Table rows for a variant's history: revisions with their provenance, and reviews."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from copydesk.models import Review, Revision


def prompt_label(provenance: dict[str, Any]) -> str:
    """``generate-variant v3`` from a generated revision's provenance ('' if typed by hand)."""
    prompt = provenance.get("prompt") or {}
    if not isinstance(prompt, dict) or not prompt.get("id"):
        return ""
    return f"{prompt['id']} v{prompt.get('version', '?')}"


def history_rows(revisions: Iterable[Revision]) -> list[dict[str, Any]]:
    """Newest first: who, when, hash, how it was made (prompt, model, attempts), findings."""
    rows = []
    for r in revisions:
        p = r.provenance
        rows.append({
            "revision": r.number,
            "author": r.author,
            "at": r.created_at.strftime("%Y-%m-%d %H:%M"),
            "content hash": r.content_hash[:16],
            "prompt": prompt_label(p),
            "model": str(p.get("model_label") or p.get("model") or ("written by hand" if not p else "")),
            "attempts": str(p.get("attempts", "")),
            "repairs": str(p.get("repair_rounds", "")),
            "findings": len(r.findings),
            "waivers": len(r.waivers),
        })
    rows.reverse()
    return rows


def review_rows(reviews: Iterable[Review]) -> list[dict[str, Any]]:
    """Newest first: every approval and rejection with the hash it was bound to."""
    rows = [
        {"at": r.at.strftime("%Y-%m-%d %H:%M"), "decision": r.decision, "reviewer": r.reviewer,
         "revision": r.revision, "content hash": r.content_hash[:16], "comment": r.comment,
         "review by": r.review_by.isoformat() if r.review_by else ""}
        for r in reviews
    ]
    rows.reverse()
    return rows
