"""Workers that read their own pieces of the audience file write exactly what one
process writes: same rows, same order, same rejects (row and line numbers, repeats of a
contact across pieces), same summary — for CSV, JSONL and Parquet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from copydesk.render import pieces
from copydesk.render.pipeline import render_campaign
from tests.render.test_pipeline import LIBRARY, TEMPLATES, campaign_file
from tests.rules.rules_helpers import NOW, TODAY

STAGES = ["onboarding", "active", "loyal", "dormant", "awareness"]


@pytest.fixture(autouse=True)
def _small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiny pieces, so a test-sized file is cut in many places (the parent plans the cut)
    monkeypatch.setattr(pieces, "MIN_PIECE_BYTES", 1)
    monkeypatch.setattr(pieces, "PIECES_PER_WORKER", 6)


def _people(n: int) -> list[dict[str, Any]]:
    people = []
    for i in range(n):
        person: dict[str, Any] = {
            "contact_id": f"C{i}",
            "first_name": ["Amelia", "Siân", "<b>Bo</b>", 'Quote "Q" Smith', "Line\nBreak", ""][i % 6],
            "lifecycle_stage": STAGES[i % 5],
            "skill_level": "expert" if i % 11 == 0 else "beginner",
            "orders": i % 4,
            "consent_email": "false" if i % 7 == 0 else "true",
        }
        people.append(person)
    # repeats: one close by (same piece), some far away (other pieces), one of a rejected row
    people.insert(5, dict(people[3]))
    people.append(dict(people[1]))
    people.append(dict(people[40]))
    people.insert(60, {**people[20], "first_name": "Again"})
    return people


def _csv_text(people: list[dict[str, Any]]) -> str:
    buf = io.StringIO(newline="")
    columns = ["contact_id", "first_name", "lifecycle_stage", "skill_level", "orders", "consent_email"]
    writer = csv.writer(buf)
    writer.writerow(columns)
    for i, p in enumerate(people):
        writer.writerow([p.get(c, "") for c in columns])
        if i == 30:
            buf.write("\r\n")  # a blank line: not a row
        if i == 50:
            buf.write("C-bad,only,three\r\n")  # wrong number of fields
        if i == 70:
            buf.write(",,onboarding,beginner,1,true\r\n")  # no contact id
    return "\ufeff" + buf.getvalue()


def _jsonl_text(people: list[dict[str, Any]]) -> str:
    lines = []
    for i, p in enumerate(people):
        lines.append(json.dumps(p, ensure_ascii=False))
        if i == 30:
            lines.append("")
        if i == 50:
            lines.append("{not json")
        if i == 70:
            lines.append('{"first_name": "no id"}')
    return "\n".join(lines) + "\n"


def _both(tmp_path: Path, audience: Path, out_name: str, **kw: Any) -> tuple[Any, Any]:
    results = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}" / out_name
        summary = render_campaign(campaign_file(), audience, out, library=LIBRARY, templates_dir=TEMPLATES,
                                  today=TODAY, now=NOW, workers=workers, **kw)
        rejects = (out.parent / (out.name.split(".")[0] + ".rejects.csv")).read_bytes()
        results.append((summary.as_dict() | {"out": None, "rejects": None}, _read(out), rejects))
    return results[0], results[1]


def _read(path: Path) -> Any:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return path.read_bytes()


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv", "out.parquet"])
def test_csv_in_pieces_writes_what_one_process_writes(tmp_path: Path, out_name: str) -> None:
    audience = tmp_path / "people.csv"
    audience.write_text(_csv_text(_people(120)), encoding="utf-8", newline="")
    plan = pieces.split(audience, 2)
    assert plan is not None and len(plan.pieces) >= 6  # really cut, in many places
    one, two = _both(tmp_path, audience, out_name, explain=out_name == "out.csv")
    assert one == two
    summary, _, rejects = one
    assert summary["rejected"] >= 6
    text = rejects.decode()
    assert "first seen at row 4" in text and "first seen at row 2;" in text and "expected 6 fields" in text


def test_jsonl_in_pieces_writes_what_one_process_writes(tmp_path: Path) -> None:
    audience = tmp_path / "people.jsonl"
    audience.write_text(_jsonl_text(_people(120)), encoding="utf-8")
    assert pieces.split(audience, 2) is not None
    one, two = _both(tmp_path, audience, "out.jsonl")
    assert one == two
    assert b"invalid JSON" in one[2] and b"duplicate contact_id" in one[2]


def test_parquet_row_groups_are_pieces(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    people = _people(120)
    audience = tmp_path / "people.parquet"
    pq.write_table(pa.Table.from_pylist(people), audience, row_group_size=10)
    plan = pieces.split(audience, 2)
    assert plan is not None and len(plan.pieces) > 2
    one, two = _both(tmp_path, audience, "out.jsonl")
    assert one == two and b"duplicate contact_id" in one[2]


@pytest.mark.parametrize("damage", [b'C999,"unclosed,active,beginner,1,true\r\n', b"C998,x,active,beginner,1,true\r"])
def test_files_the_byte_scan_cannot_cut_are_read_by_the_parent(tmp_path: Path, damage: bytes) -> None:
    audience = tmp_path / "people.csv"
    audience.write_bytes(_csv_text(_people(60)).encode() + damage)
    assert pieces.split(audience, 2) is None
    one, two = _both(tmp_path, audience, "out.jsonl")
    assert one == two


def test_a_cut_never_falls_inside_a_quoted_field(tmp_path: Path) -> None:
    audience = tmp_path / "people.csv"
    body = "x\n" * 40  # a field of many lines: every newline in it is a wrong place to cut
    rows = [["contact_id", "first_name"], *[[f"C{i}", body if i % 3 == 0 else "Ann"] for i in range(200)]]
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    audience.write_text(buf.getvalue(), encoding="utf-8", newline="")
    plan = pieces.split(audience, 2)
    assert plan is not None
    data = audience.read_bytes()
    for piece in plan.pieces[1:]:
        assert data[: piece.start].count(b'"') % 2 == 0 and data[piece.start - 1 : piece.start] == b"\n"
        assert piece.line_base == data[: piece.start].count(b"\n")
