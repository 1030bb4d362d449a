"""Audience files: typed cells, rejects that name the row, every format, streaming writes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from copydesk.errors import InputError, UsageError
from copydesk.render.audience import Record, Reject, RowWriter, file_format, read_rows
from copydesk.rules.values import coerce_text

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-12", -12),
        ("0", 0),
        ("3.5", 3.5),
        ("007", "007"),
        ("07700 900123", "07700 900123"),
        ("+447700900123", "+447700900123"),
        ("true", True),
        ("False", False),
        ("yes", True),
        ("no", False),
        ("2026-03-01", date(2026, 3, 1)),
        ("2026-02-30", "2026-02-30"),
        ("2026-03-01T10:30:00Z", datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),
        ("2026-03-01 10:30", datetime(2026, 3, 1, 10, 30)),
        ("hiking|camping", ["hiking", "camping"]),
        ('["hiking", "camping"]', ["hiking", "camping"]),
        ("[not json", "[not json"),
        ("Amelia", "Amelia"),
        ("", None),
        ("  ", None),
        ("1e5", "1e5"),
        ("nan", "nan"),
    ],
)
def test_cell_coercion(text: str, value: Any) -> None:
    got = coerce_text(text)
    assert got == value and type(got) is type(value)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_csv_rows_are_typed_and_empty_cells_missing(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv",
              "contact_id,first_name,orders,vip,joined,interests,phone\n"
              "007,Amelia,3,true,2025-01-02,hiking|camping,07700900123\n"
              "C2,,,,,,\n")
    rows = list(read_rows(p))
    assert rows[0] == Record(1, 2, {"contact_id": "007", "first_name": "Amelia", "orders": 3,
                                    "vip": True, "joined": date(2025, 1, 2),
                                    "interests": ["hiking", "camping"], "phone": "07700900123"})
    assert rows[1] == Record(2, 3, {"contact_id": "C2"})


def test_bad_csv_rows_become_rejects_and_reading_goes_on(tmp_path: Path) -> None:
    raw = (
        b"contact_id,first_name,orders\n"
        b"C1,Amelia,1\n"
        b"C2,Oliver\n"                      # too few fields
        b",NoId,2\n"                        # no contact id
        b"C4,Isla,1,extra\n"                # too many fields
        b"C5,\xff\xfeBad,1\n"               # not UTF-8
        b"C6,\"Multi\nline\",2\n"           # quoted newline is fine
        b"C7,Harry,3\n"
    )
    rows = list(read_rows(write(tmp_path / "a.csv", raw)))  # type: ignore[arg-type]
    good = [r for r in rows if isinstance(r, Record)]
    bad = [r for r in rows if isinstance(r, Reject)]
    assert [r.data["contact_id"] for r in good] == ["C1", "C6", "C7"]
    assert good[1].data["first_name"] == "Multi\nline"
    assert [(r.row, r.line, r.reason) for r in bad] == [
        (2, 3, "expected 3 fields, found 2"),
        (3, 4, "no contact_id"),
        (4, 5, "expected 3 fields, found 4"),
        (5, 6, "not valid UTF-8 text"),
    ]
    assert good[2].line == 9 and good[2].row == 7


def test_nul_byte_is_a_reject_not_a_crash(tmp_path: Path) -> None:
    rows = list(read_rows(write(tmp_path / "a.csv", "contact_id,n\nC1,a\x00b\nC2,ok\n")))
    assert [r.data["contact_id"] for r in rows if isinstance(r, Record)][-1] == "C2"
    assert len(rows) == 2


def test_csv_without_contact_id_column_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no 'contact_id' column") as info:
        list(read_rows(write(tmp_path / "a.csv", "id,name\n1,a\n")))
    assert info.value.line == 1


def test_jsonl_rejects(tmp_path: Path) -> None:
    p = write(tmp_path / "a.jsonl",
              '{"contact_id": 12, "joined": "2025-01-02", "orders": 2, "x": null}\n'
              "\n"
              "{not json}\n"
              "[1, 2]\n"
              '{"first_name": "NoId"}\n'
              '{"contact_id": "C5", "interests": ["a"]}\n')
    rows = list(read_rows(p))
    assert rows[0] == Record(1, 1, {"contact_id": "12", "joined": date(2025, 1, 2), "orders": 2})
    assert [(r.line, r.reason.split(":")[0]) for r in rows if isinstance(r, Reject)] == [
        (3, "invalid JSON"), (4, "a line must be a JSON object"), (5, "no contact_id")]
    assert rows[-1] == Record(5, 6, {"contact_id": "C5", "interests": ["a"]})


def test_parquet_round_trip(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"contact_id": ["C1", "C2", None], "orders": [1, None, 3],
                      "joined": [date(2025, 1, 2), None, None]})
    pq.write_table(table, tmp_path / "a.parquet")
    rows = list(read_rows(tmp_path / "a.parquet"))
    assert rows[0] == Record(1, None, {"contact_id": "C1", "orders": 1, "joined": date(2025, 1, 2)})
    assert rows[1] == Record(2, None, {"contact_id": "C2"})
    assert isinstance(rows[2], Reject) and rows[2].row == 3


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_writer_round_trips_and_renames_only_when_done(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out.{ext}"
    with RowWriter(out, ["contact_id", "n", "when", "trace"]) as w:
        for i in range(5000):
            w.write({"contact_id": f"C{i}", "n": i, "when": date(2026, 1, 1), "ignored": 1})
        assert not out.exists()
    assert out.exists() and not (tmp_path / f"out.{ext}.part").exists()
    rows = [r for r in read_rows(out) if isinstance(r, Record)]
    assert len(rows) == 5000
    assert rows[42].data["contact_id"] == "C42" and rows[42].data["n"] in (42, "42")


def test_writer_discards_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), RowWriter(out, ["contact_id"]) as w:
        w.write({"contact_id": "C1"})
        raise RuntimeError("boom")
    assert not out.exists() and not (tmp_path / "out.jsonl.part").exists()


def test_jsonl_writer_keeps_lists(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with RowWriter(out, ["contact_id", "trace"]) as w:
        w.write({"contact_id": "C1", "trace": [{"a": 1}]})
    assert json.loads(out.read_text(encoding="utf-8"))["trace"] == [{"a": 1}]


def test_unknown_extension() -> None:
    with pytest.raises(UsageError, match=".xlsx"):
        file_format("contacts.xlsx")


def test_sample_audience_is_clean_and_covers_every_stage() -> None:
    rows = list(read_rows(REPO / "audiences" / "sample-contacts.csv"))
    assert all(isinstance(r, Record) for r in rows) and len(rows) >= 40
    data = [r.data for r in rows if isinstance(r, Record)]
    assert {d["lifecycle_stage"] for d in data} == {
        "awareness", "consideration", "onboarding", "active", "dormant", "loyal"}
    assert any(d.get("consent_email") is True for d in data)
    assert any(d.get("consent_email") is not True for d in data)
    assert all(isinstance(d.get("signup_at"), date) for d in data)
