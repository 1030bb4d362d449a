"""Rendered rows in a sending platform's import layout (render --format PLATFORM)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from copydesk.export.presets import preset
from copydesk.render import pieces
from copydesk.render.pipeline import render_campaign
from copydesk.render.templates import MessageRenderer, load_channel_template
from tests.render.test_pipeline import LIBRARY, TEMPLATES, campaign_file
from tests.rules.rules_helpers import NOW, TODAY, contact


def _layout(name: str) -> Any:
    renderer = MessageRenderer("email", load_channel_template(TEMPLATES, "email/default"), campaign_id="x")  # type: ignore[arg-type]
    return preset(name, "email", renderer.columns)


def _people(n: int) -> list[dict[str, Any]]:
    return [contact(f"C{i}", lifecycle_stage=["onboarding", "active"][i % 2], first_name=f"N{i}",
                    email=None if i % 9 == 4 else f"c{i}@example.com", consent_email=i % 5 != 0)
            for i in range(n)]


def _run(tmp_path: Path, audience: Any, name: str, workers: int = 1) -> tuple[Any, list[dict[str, str]], str]:
    out = tmp_path / f"{name}-{workers}.csv"
    summary = render_campaign(campaign_file(), audience, out, library=LIBRARY, templates_dir=TEMPLATES,
                              today=TODAY, now=NOW, layout=_layout(name), workers=workers)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return summary, rows, (tmp_path / f"{name}-{workers}.rejects.csv").read_text(encoding="utf-8")


def test_braze_import_file_has_selected_contacts_with_their_approval(tmp_path: Path) -> None:
    summary, rows, _ = _run(tmp_path, _people(60), "braze")
    assert len(rows) == summary.rendered > 0
    assert list(rows[0])[0] == "external_id" and "copydesk_content_hash" in rows[0]
    assert all(r["copydesk_variant_id"] and r["copydesk_subject"] for r in rows)
    assert "email" not in rows[0]  # nothing but what the import needs


def test_mailchimp_reads_the_email_from_the_contact_and_rejects_a_contact_without_one(tmp_path: Path) -> None:
    people = _people(60)
    summary, rows, rejects = _run(tmp_path, people, "mailchimp")
    emails = {p["email"] for p in people if "email" in p}
    assert rows and all(r["Email Address"] in emails for r in rows)
    assert len({r["Email Address"] for r in rows}) == len(rows)
    assert "has no value for mailchimp's Email Address column" in rejects and ",export," in rejects
    total = (summary.rendered + summary.held_out + sum(summary.suppressed.values()) + summary.capped
             + summary.no_variant + summary.rejected)
    assert total == summary.total == 60 and len(rows) == summary.rendered


def test_pieces_write_the_same_import_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "MIN_PIECE_BYTES", 1)
    people = _people(200)
    audience = tmp_path / "people.csv"
    columns = sorted({k for p in people for k in p})
    with audience.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows([*people, people[7]])  # and a repeat across pieces
    assert pieces.split(audience, 2) is not None
    one = _run(tmp_path, audience, "mailchimp", 1)
    two = _run(tmp_path, audience, "mailchimp", 2)
    assert one[0].as_dict() | {"out": 0, "rejects": 0} == two[0].as_dict() | {"out": 0, "rejects": 0}
    assert one[1:] == two[1:] and "duplicate contact_id" in one[2]
