"""Decisions fail closed: a value a rule cannot evaluate, or a repeated contact, never
gets a message; the row is rejected with its row, field, value and reason, and the good
rows next to it are still decided."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from copydesk.render.pipeline import render_campaign
from copydesk.rules.campaign import load_campaign
from tests.rules.rules_helpers import NOW, TODAY, content

REPO = Path(__file__).resolve().parents[2]

LIBRARY = [
    content("V1", "boots-onboarding"),
    content("V5", "winback-dormant"),
    content("V9", "spring-generic"),
]
HEADER = "contact_id,lifecycle_stage,last_purchase_at,orders,skill_level,consent_email\n"


def _render(tmp_path: Path, body: str, *, workers: int = 1):  # type: ignore[no-untyped-def]
    src = tmp_path / "people.csv"
    src.write_text(HEADER + body, encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = render_campaign(load_campaign(REPO / "campaigns" / "spring-boots.yaml"), src, out, library=LIBRARY,
                              templates_dir=REPO / "templates", today=TODAY, now=NOW, workers=workers)
    rejects = list(csv.DictReader((tmp_path / "out.rejects.csv").open(encoding="utf-8")))
    sent = [r for r in csv.DictReader(out.open(encoding="utf-8")) if r["decision"] == "selected"]
    return summary, rejects, sent


@pytest.mark.parametrize("bad_date", ["2026-13-45", "2026-11-31", "5 days ago", "last week"])
def test_a_date_the_suppression_cannot_read_rejects_the_row_instead_of_sending(tmp_path: Path, bad_date: str) -> None:
    # the sample campaign suppresses dormant contacts who bought in the last 30 days
    summary, rejects, sent = _render(
        tmp_path,
        f"C1,dormant,{bad_date},1,beginner,true\n"
        "C4,onboarding,,0,beginner,true\n"
        "C3,dormant,2026-05-25,2,beginner,true\n",
    )
    assert "C1" not in {r["contact_id"] for r in sent}
    assert [(r["row"], r["contact_id"], r["stage"], r["field"], r["value"]) for r in rejects] == [
        ("1", "C1", "decide", "last_purchase_at", repr(bad_date))]
    assert "no-reactivation-for-recent-buyers" in rejects[0]["reason"]
    assert summary.rejected == 1 and summary.total == 3
    assert summary.suppressed["no-reactivation-for-recent-buyers"] == 1  # C3, a readable recent date
    assert {r["contact_id"] for r in sent} == {"C4"}


def test_a_number_rule_on_unreadable_text_rejects_the_row(tmp_path: Path) -> None:
    summary, rejects, sent = _render(tmp_path, "C1,loyal,2026-01-02,lots,beginner,true\n")
    assert not sent and summary.rejected == 1
    assert (rejects[0]["field"], rejects[0]["value"]) == ("orders", "'lots'")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_repeated_contact_gets_one_message_and_the_repeats_are_rejected(tmp_path: Path, workers: int) -> None:
    rows = "".join(f"C{i},onboarding,,0,beginner,true\n" for i in range(1, 2500))
    rows += "C7,onboarding,,0,beginner,true\n" * 2 + "C2600,onboarding,,0,beginner,true\n"
    summary, rejects, sent = _render(tmp_path, rows, workers=workers)
    ids = [r["contact_id"] for r in sent]
    assert ids.count("C7") == 1 and len(ids) == len(set(ids))
    assert [(r["row"], r["contact_id"], r["field"]) for r in rejects] == [
        ("2500", "C7", "contact_id"), ("2501", "C7", "contact_id")]
    assert all("first seen at row 7" in r["reason"] for r in rejects)
    assert summary.total == 2502 and summary.rejected == 2
