"""Outcome import: the schema, idempotence on the natural key, and bad rows that go
to the rejects list (file, line, field) while the good rows are imported."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlite_utils

from copydesk.errors import InputError
from copydesk.measure.outcomes import import_outcomes, write_rejects
from copydesk.measure.tables import migrate_outcomes
from tests.measure.measure_fixtures import create_sends


@pytest.fixture
def sent(db: sqlite_utils.Database) -> sqlite_utils.Database:
    db.table("sends").insert_all(
        [
            {
                "contact_id": c,
                "campaign_id": "spring-boots",
                "channel": "email",
                "variant_id": None if h else "v1",
                "holdout": h,
                "sent_at": "2025-03-01T08:00:00Z",
            }
            for c, h in (("c1", 0), ("c2", 0), ("c3", 1))
        ]
    )
    return db


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """contact_id,campaign_id,event,at,value
c1,spring-boots,delivered,2025-03-01T08:01:00Z,
c1,spring-boots,converted,2025-03-02T12:00:00Z,49.90
c3,spring-boots,converted,2025-03-03T09:00:00+01:00,20
"""


def test_migration_creates_exactly_these_columns() -> None:
    db = sqlite_utils.Database(memory=True)
    create_sends(db)
    migrate_outcomes(db)
    assert db["outcomes"].columns_dict == {  # type: ignore[union-attr]
        "id": int,
        "contact_id": str,
        "campaign_id": str,
        "event": str,
        "at": str,
        "value": float,
        "source": str,
        "imported_at": str,
    }
    unique = [i.columns for i in db["outcomes"].indexes if i.unique]  # type: ignore[union-attr]
    assert ["contact_id", "campaign_id", "event", "at"] in unique


def test_import_stores_rows_with_utc_times(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    result = import_outcomes(sent, write(tmp_path, "results.csv", GOOD))
    assert (result.read, result.imported, result.duplicates, result.rejects) == (3, 3, 0, [])
    rows = list(sent.query("SELECT contact_id, event, at, value FROM outcomes ORDER BY id"))
    assert rows[1] == {"contact_id": "c1", "event": "converted", "at": "2025-03-02T12:00:00+00:00", "value": 49.9}
    assert rows[2]["at"] == "2025-03-03T08:00:00+00:00"  # +01:00 converted to UTC
    assert rows[0]["value"] is None


def test_importing_the_same_file_twice_does_not_double_count(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, "results.csv", GOOD)
    import_outcomes(sent, path)
    again = import_outcomes(sent, path)
    assert (again.imported, again.duplicates, again.rejects) == (0, 3, [])
    assert sent["outcomes"].count == 3  # type: ignore[union-attr]


def test_the_same_instant_written_differently_is_a_duplicate(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    text = (
        "contact_id,campaign_id,event,at\n"
        "c1,spring-boots,opened,2025-03-01T10:00:00Z\n"
        "c1,spring-boots,opened,2025-03-01T11:00:00+01:00\n"
        "c1,spring-boots,opened,2025-03-01T10:00:00\n"
    )
    result = import_outcomes(sent, write(tmp_path, "r.csv", text))
    assert (result.imported, result.duplicates) == (1, 2)


def test_bad_rows_are_rejected_with_line_and_field_and_good_rows_kept(
    sent: sqlite_utils.Database, tmp_path: Path
) -> None:
    text = (
        "contact_id,campaign_id,event,at,value\n"
        "c1,spring-boots,opened,2025-03-01T10:00:00Z,\n"  # 2 good
        "c9,spring-boots,opened,2025-03-01T10:00:00Z,\n"  # 3 unknown contact
        "c1,autumn-coats,opened,2025-03-01T10:00:00Z,\n"  # 4 unknown campaign
        "c1,spring-boots,opened,01/03/2025,\n"  # 5 malformed date
        "c1,spring-boots,bought,2025-03-01T10:00:00Z,\n"  # 6 unknown event
        "c1,spring-boots,converted,2025-03-01T10:00:00Z,abc\n"  # 7 bad value
        "c1,spring-boots,clicked,2025-03-01T10:00:00Z,5\n"  # 8 value on a click
        "c1,spring-boots,converted,2025-03-01T10:00:00Z,nan\n"  # 9 not finite
        "c2,spring-boots,opened\n"  # 10 short row
        ",spring-boots,opened,2025-03-01T10:00:00Z,\n"  # 11 empty contact
        "c2,spring-boots,converted,2025-03-04T10:00:00Z,12.5\n"  # 12 good
    )
    result = import_outcomes(sent, write(tmp_path, "results.csv", text))
    assert result.imported == 2
    found = {(r.line, r.field) for r in result.rejects}
    assert found == {
        (3, "contact_id"),
        (4, "campaign_id"),
        (5, "at"),
        (6, "event"),
        (7, "value"),
        (8, "value"),
        (9, "value"),
        (10, None),
        (11, "contact_id"),
    }
    by_line = {r.line: r for r in result.rejects}
    assert "no send record for contact 'c9' in campaign 'spring-boots'" in by_line[3].reason
    assert "ISO 8601" in by_line[5].reason
    assert "results.csv:6: field 'event': Input should be 'delivered'" in str(by_line[6])
    assert "c9" in by_line[3].row
    stored = {(r["contact_id"], r["event"]) for r in sent.query("SELECT * FROM outcomes")}
    assert stored == {("c1", "opened"), ("c2", "converted")}


def test_a_changed_value_for_a_stored_outcome_is_rejected(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    import_outcomes(sent, write(tmp_path, "a.csv", GOOD))
    changed = GOOD.replace("49.90", "59.90")
    result = import_outcomes(sent, write(tmp_path, "b.csv", changed))
    assert [(r.line, r.field) for r in result.rejects] == [(3, "value")]
    assert result.duplicates == 2
    assert (
        sent.execute("SELECT value FROM outcomes WHERE event = 'converted' AND contact_id = 'c1'").fetchone()[0] == 49.9
    )


def test_jsonl_rows_are_validated_line_by_line(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "contact_id": "c1",
                "campaign_id": "spring-boots",
                "event": "converted",
                "at": "2025-03-02T12:00:00Z",
                "value": 10,
            }
        ),
        "{not json",
        json.dumps(
            {
                "contact_id": "c2",
                "campaign_id": "spring-boots",
                "event": "opened",
                "at": "2025-03-02T12:00:00Z",
                "channel": "email",
            }
        ),
        json.dumps(["c2"]),
        "",
        json.dumps(
            {
                "contact_id": "c2",
                "campaign_id": "spring-boots",
                "event": "converted",
                "at": "2025-03-02T12:00:00Z",
                "value": True,
            }
        ),
    ]
    result = import_outcomes(sent, write(tmp_path, "r.jsonl", "\n".join(lines) + "\n"))
    assert result.imported == 1
    assert [(r.line, r.field) for r in result.rejects] == [
        (2, None),
        (3, "channel"),
        (4, None),
        (6, "value"),
    ]


@pytest.mark.parametrize(
    ("header", "field"),
    [("contact_id,campaign_id,event,value", "at"), ("contact_id,campaign_id,event,at,price", "price")],
)
def test_a_bad_header_fails_the_whole_file(
    sent: sqlite_utils.Database, tmp_path: Path, header: str, field: str
) -> None:
    path = write(tmp_path, "r.csv", header + "\nc1,spring-boots,opened,2025-03-01,1\n")
    with pytest.raises(InputError) as info:
        import_outcomes(sent, path)
    assert (info.value.line, info.value.field) == (1, field)
    assert sent["outcomes"].count == 0  # type: ignore[union-attr]


def test_unknown_file_type_and_missing_file(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="use .csv or .jsonl"):
        import_outcomes(sent, write(tmp_path, "r.xlsx", "x"))
    with pytest.raises(InputError, match="file not found"):
        import_outcomes(sent, tmp_path / "nope.csv")


def test_rejects_file_names_file_line_field_and_reason(sent: sqlite_utils.Database, tmp_path: Path) -> None:
    text = "contact_id,campaign_id,event,at\nc9,spring-boots,opened,2025-03-01\n"
    result = import_outcomes(sent, write(tmp_path, "r.csv", text), source="r.csv")
    out = tmp_path / "rejects.csv"
    write_rejects(result.rejects, out)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    assert (rows[0]["source"], rows[0]["line"], rows[0]["field"]) == ("r.csv", "2", "contact_id")
    assert "no send record" in rows[0]["reason"]
