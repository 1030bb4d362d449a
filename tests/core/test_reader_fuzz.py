"""Fuzz every reader with files that mix good rows and hostile ones (lone surrogates,
invalid UTF-8, NUL and control characters, deep or huge JSON, extreme dates and numbers,
Rich markup, CSV quoting accidents, byte-order marks, CRLF).

The property, for each reader: no exception but a CopydeskError escapes, and every good
row is processed (readers whose contract is fail-closed for the whole file, the send
history and ``sends record``, either stop with an InputError or process every good row).
The readers are called directly and the exception type is asserted, so the CLI's
last-resort handler can never hide a bug from these tests.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copydesk.errors import CopydeskError, InputError
from copydesk.measure.outcomes import import_outcomes
from copydesk.render.audience import Record, Reject, read_rows
from copydesk.services import Desk
from copydesk.services import campaigns as svc
from copydesk.vocab import Role
from copydesk.yamlio import load_model, parse_yaml
from tests.conftest import PASSWORD

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
NOW = datetime.now(UTC)
GOOD_AT = (NOW - timedelta(days=3)).replace(microsecond=0)

# -- hostile pieces ------------------------------------------------------------------

MARKUP = st.sampled_from(["[/]", "[bold]", "[link=x]", "[/link]", ":smile:", "\\", "[red]x[/red]"])
EXTREME_DATES = st.sampled_from([
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "0001-01-01", "9999-12-31",
    "1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "2026-13-45", "2026-02-30T25:61:00",
])
EXTREME_NUMBERS = st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-0", "1e-400", "9" * 5000,
                                   "123456789012345678901234567890", "0x10", "1_000"])
WEIRD_TEXT = st.text(alphabet=st.characters(codec=None, exclude_characters="\n"), max_size=40)
ESCAPES = st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\u001b[31m", "\\r", "\\u2028", "\\ufeff"])


def _hostile_value() -> st.SearchStrategy[str]:
    """A JSON value (as text) that a reader must survive."""
    nested = st.integers(min_value=33, max_value=3000).map(lambda n: "[" * n + "]" * n)
    return st.one_of(
        ESCAPES.map(lambda e: f'"a{e}b"'),
        EXTREME_DATES.map(json.dumps),
        EXTREME_NUMBERS,
        MARKUP.map(json.dumps),
        nested,
        st.just("[" * 100_000 + "]" * 100_000),
        WEIRD_TEXT.map(lambda t: json.dumps(t, ensure_ascii=False)),
        st.just('{"a": ' * 40 + "1" + "}" * 40),
    )


#: Known-hostile lines, each a class that once killed a job; drawn often so every run meets them.
CURATED_LINES = [
    b'{"contact_id": "H1", "first_name": "\\ud800"}',
    b'{"contact_id": "\\udcff"}',
    b'{"contact_id": "H2", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"contact_id": "H3", "x": ' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"contact_id": "H4", "sent_at": "9999-12-31T23:59:59-23:59", "decided_at": "9999-12-31T23:59:59-23:59", '
    b'"at": "9999-12-31T23:59:59-23:59", "seen": "9999-12-31T23:59:59-23:59", "channel": "email", '
    b'"campaign_id": "x", "decision": "selected", "event": "opened"}',
    b'{"contact_id": "H5", "sent_at": "0001-01-01T00:00:00+01:00", "channel": "email", "campaign_id": "x", '
    b'"decision": "selected"}',
    b'{"contact_id": "H6", "points": NaN, "value": Infinity}',
    b'{"contact_id": "H7", "points": ' + b"9" * 5000 + b"}",
    b'{"contact_id": "H8", "x": "\xff\xfe"}',
    b'{"contact_id": "H9", "text": "a\\u0000b", "channel": "sms"}',
    b'{"contact_id": "[/]", "first_name": "[bold]", "id": "[link=x]", "channel": "sms", "text": "[/]"}',
    b"\xef\xbb\xbf{}",
    b'{"contact_id": {"a": 1}, "id": {"a": [1]}}',
]


def _hostile_line() -> st.SearchStrategy[bytes]:
    """One hostile JSONL line (no newline inside)."""
    curated = st.sampled_from(CURATED_LINES)
    keyed = st.tuples(st.sampled_from(["contact_id", "first_name", "at", "sent_at", "decided_at",
                                       "value", "channel", "event", "\\ud800", "[/]"]), _hostile_value())
    as_json = keyed.map(lambda kv: ('{"contact_id": "H", "' + kv[0] + '": ' + kv[1] + "}").encode(
        "utf-8", "surrogatepass"))
    raw = st.binary(min_size=1, max_size=60).map(lambda b: b.replace(b"\n", b" "))
    invalid = st.sampled_from([b'{"contact_id": "H\xff"}', b"\xc3", b'{"contact_id": "H", "x": "\x00"}',
                               b"\xef\xbb\xbf{}", b"[1, 2]", b"null", b'{"contact_id": {"a": 1}}'])
    text = WEIRD_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
    return st.one_of(curated, curated, curated, as_json, raw, invalid, text)


def _mixed(good: list[bytes], hostile: list[bytes], positions: list[int]) -> list[tuple[bool, bytes]]:
    lines: list[tuple[bool, bytes]] = [(True, g) for g in good]
    for bad, at in zip(hostile, positions, strict=False):
        lines.insert(at % (len(lines) + 1), (False, bad))
    return lines


def _write(path: Path, lines: list[tuple[bool, bytes]], *, bom: bool, crlf: bool, header: bytes = b"") -> None:
    end = b"\r\n" if crlf else b"\n"
    body = (header + end if header else b"") + b"".join(line + end for _, line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)


def _usable(data: Any) -> None:
    """What a reader passes on can be decided and written: text encodes as UTF-8, numbers
    are finite, date-times convert to UTC, nesting is bounded."""
    import math

    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        assert depth <= 33
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, float):
            assert math.isfinite(item)
        elif isinstance(item, datetime):
            item.astimezone(UTC)
        elif isinstance(item, dict):
            stack += [(k, depth + 1) for k in item] + [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


def _only_copydesk_errors(call: Any) -> Any:
    try:
        return call()
    except CopydeskError as exc:
        return exc


LAYOUT = st.fixed_dictionaries({
    "good": st.integers(min_value=1, max_value=12),
    "positions": st.lists(st.integers(min_value=0, max_value=100), max_size=8),
    "bom": st.booleans(),
    "crlf": st.booleans(),
})


# -- audience: JSONL, CSV, Parquet ---------------------------------------------------

@FUZZ
@given(layout=LAYOUT, hostile=st.lists(_hostile_line(), max_size=8))
def test_audience_jsonl_keeps_every_good_row(tmp_path_factory: pytest.TempPathFactory,
                                             layout: dict[str, Any], hostile: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("jsonl") / "people.jsonl"
    good = [json.dumps({"contact_id": f"G-{i}-ok", "first_name": "Ann [/]", "orders": i,
                        "last_purchase_at": "2026-01-02"}).encode() for i in range(layout["good"])]
    _write(path, _mixed(good, hostile, layout["positions"]), bom=layout["bom"], crlf=layout["crlf"])
    items = list(read_rows(path))  # a whole-file error is impossible here: any exception fails
    records = [i.data["contact_id"] for i in items if isinstance(i, Record)]
    for item in items:
        if isinstance(item, Record):
            _usable(item.data)
    assert [r for r in records if r.startswith("G-")] == [f"G-{i}-ok" for i in range(layout["good"])]
    for item in items:
        if isinstance(item, Reject):
            for value in item.as_dict().values():
                str(value).encode("utf-8")  # the rejects file can be written


def _csv_cell() -> st.SearchStrategy[str]:
    curated = st.sampled_from([
        'ab"c', '"a""b"', "a\x00b", "x\r", "[" * 70_000, "\ufeffx", "a,b", "tab\there",
        "[" * 60_000 + "]" * 60_000, "\udcff", "9999-12-31T23:59:59-23:59", "[1e999]",
        "0001-01-01T00:00:00+05:00", "[NaN]",
    ])
    return st.one_of(curated, curated, curated, MARKUP, EXTREME_DATES, EXTREME_NUMBERS, WEIRD_TEXT)


def _csv_line(cells: list[str]) -> bytes:
    # a field that opens a quote swallows the lines after it; the real accident is tested last
    safe = ["x" + c if c.startswith('"') and not (c.endswith('"') and len(c) > 1) else c for c in cells]
    return ",".join(safe).replace("\n", " ").encode("utf-8", "surrogatepass")


FOUR = st.lists(_csv_cell(), min_size=4, max_size=4)  # as many as the header: the cells get typed


@FUZZ
@given(layout=LAYOUT, hostile=st.lists(st.one_of(FOUR, FOUR, FOUR, st.lists(_csv_cell(), min_size=1, max_size=6)),
                                       max_size=8),
       raw=st.lists(st.binary(min_size=1, max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b'"', b"'")),
                    max_size=3),
       unclosed=st.booleans())
def test_audience_csv_keeps_every_good_row(tmp_path_factory: pytest.TempPathFactory, layout: dict[str, Any],
                                           hostile: list[list[str]], raw: list[bytes], unclosed: bool) -> None:
    path = tmp_path_factory.mktemp("csv") / "people.csv"
    good = [f"G-{i}-ok,Ann [/],{i},2026-01-02".encode() for i in range(layout["good"])]
    lines = _mixed(good, [_csv_line(c) for c in hostile] + raw, layout["positions"])
    if unclosed:
        lines.append((False, b'H-last,"never closed'))
    _write(path, lines, bom=layout["bom"], crlf=layout["crlf"], header=b"contact_id,first_name,orders,seen")
    items = list(read_rows(path))
    records = [i.data for i in items if isinstance(i, Record)]
    for record in records:
        _usable(record)
    assert [r["contact_id"] for r in records if r["contact_id"].startswith("G-")] == [
        f"G-{i}-ok" for i in range(layout["good"])]
    assert all(r["first_name"] == "Ann [/]" for r in records if r["contact_id"].startswith("G-"))


@FUZZ
@given(good=st.integers(min_value=1, max_value=10),
       hostile=st.lists(st.tuples(
           st.sampled_from(["text", "float", "ts", "date", "deep", "int"]),
           st.integers(min_value=0, max_value=100)), max_size=6))
def test_audience_parquet_keeps_every_good_row(tmp_path_factory: pytest.TempPathFactory, good: int,
                                               hostile: list[tuple[str, int]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = [{"contact_id": f"G-{i}-ok", "text": "Ann [/]", "float": 1.5, "ts": 0,
                                   "date": 0, "deep": None, "int": 1} for i in range(good)]
    bad_values = {"text": "a\x00[bold]\u202e", "float": float("nan"), "ts": 2**50, "date": -(2**31),
                  "deep": None, "int": 2**63 - 1}
    for n, (column, at) in enumerate(hostile):
        row = {"contact_id": f"H{n}", "text": None, "float": None, "ts": None, "date": None, "deep": None,
               "int": None, column: bad_values[column]}
        if column == "deep":
            value: Any = [1]
            for _ in range(40):
                value = [value]
            row["deep"] = value
        rows.insert(at % (len(rows) + 1), row)
    deep_type: Any = pa.int64()
    for _ in range(41):
        deep_type = pa.list_(deep_type)
    schema = pa.schema([("contact_id", pa.string()), ("text", pa.string()), ("float", pa.float64()),
                        ("ts", pa.timestamp("ms")), ("date", pa.date32()), ("deep", deep_type),
                        ("int", pa.int64())])
    path = tmp_path_factory.mktemp("pq") / "people.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    data = [i.data for i in read_rows(path) if isinstance(i, Record)]
    for record in data:
        _usable(record)
    records = [d["contact_id"] for d in data]
    assert [r for r in records if r.startswith("G-")] == [f"G-{i}-ok" for i in range(good)]


# -- outcomes ------------------------------------------------------------------------

_OUTCOME_DB: Any = None


def _outcome_db() -> Any:
    global _OUTCOME_DB
    if _OUTCOME_DB is None:
        from copydesk.db import open_db

        _OUTCOME_DB = open_db(None)
        _OUTCOME_DB.table("sends").insert_all(
            {"contact_id": f"g{i}", "campaign_id": "fuzz", "channel": "email", "holdout": 0,
             "sent_at": "2026-01-01T00:00:00+00:00"} for i in range(20))
    _OUTCOME_DB.execute("DELETE FROM outcomes")
    return _OUTCOME_DB


def _outcome_hostile() -> st.SearchStrategy[dict[str, str]]:
    text = st.one_of(MARKUP, WEIRD_TEXT, ESCAPES.map(lambda e: json.loads(f'"{e}"')))
    # a hostile contact is never a good one (g0, g1...): it cannot collide with a good row's key
    return st.fixed_dictionaries({
        "contact_id": st.one_of(text, st.just("h1"), st.just("h\udcff")).filter(lambda t: not t.startswith("g")),
        "campaign_id": st.one_of(text, st.just("fuzz")),
        "event": st.one_of(text, st.sampled_from(["converted", "opened"])),
        "at": st.one_of(EXTREME_DATES, EXTREME_DATES, text, st.just(GOOD_AT.isoformat())),
        "value": st.one_of(EXTREME_NUMBERS, text, st.just("")),
    })


@FUZZ
@given(layout=LAYOUT, hostile=st.lists(_outcome_hostile(), max_size=8),
       raw=st.lists(_hostile_line(), max_size=4), fmt=st.sampled_from(["csv", "jsonl"]))
def test_outcome_import_keeps_every_good_row(tmp_path_factory: pytest.TempPathFactory, layout: dict[str, Any],
                                             hostile: list[dict[str, str]], raw: list[bytes], fmt: str) -> None:
    db = _outcome_db()
    good = [{"contact_id": f"g{i}", "campaign_id": "fuzz", "event": "converted",
             "at": (GOOD_AT + timedelta(minutes=i)).isoformat(), "value": str(i)} for i in range(layout["good"])]
    if fmt == "jsonl":
        encode = lambda row: json.dumps(row, ensure_ascii=False).encode("utf-8", "surrogatepass")  # noqa: E731
        header = b""
    else:
        def encode(row: dict[str, str]) -> bytes:
            cells = [row[k] for k in ("contact_id", "campaign_id", "event", "at", "value")]
            return _csv_line([c.replace("\r", " ") for c in cells])
        header = b"contact_id,campaign_id,event,at,value"
    lines = _mixed([encode(g) for g in good], [encode(h) for h in hostile] + raw, layout["positions"])
    path = tmp_path_factory.mktemp("out") / f"outcomes.{fmt}"
    _write(path, lines, bom=layout["bom"], crlf=layout["crlf"], header=header)
    result = import_outcomes(db, path)
    stored = {(r[0], r[1]) for r in db.execute("SELECT contact_id, value FROM outcomes")}
    for i, row in enumerate(good):
        assert (row["contact_id"], float(i)) in stored
    assert result.imported + result.duplicates + len(result.rejects) == result.read
    for reject in result.rejects:
        str(reject).encode("utf-8")


# -- send history and sends record ---------------------------------------------------

def _send_rows(n: int, campaign: str) -> list[bytes]:
    return [json.dumps({"contact_id": f"G-{i}-ok", "campaign_id": campaign, "channel": "email",
                        "decision": "selected", "content_hash": "h" * 64, "variant_id": "V1",
                        "sent_at": GOOD_AT.isoformat(), "decided_at": GOOD_AT.isoformat()}).encode()
            for i in range(n)]


@FUZZ
@given(layout=LAYOUT, hostile=st.lists(_hostile_line(), max_size=6))
def test_history_file_is_all_good_or_one_input_error(tmp_path_factory: pytest.TempPathFactory,
                                                     layout: dict[str, Any], hostile: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("hist") / "sends.jsonl"
    _write(path, _mixed(_send_rows(layout["good"], "old"), hostile, layout["positions"]),
           bom=layout["bom"], crlf=layout["crlf"])
    since = NOW - timedelta(days=7)
    got = _only_copydesk_errors(lambda: list(svc.read_history_file(path, "email", since)))
    if isinstance(got, CopydeskError):
        assert isinstance(got, InputError) and hostile
        return
    ids = [r.contact_id for r in got]
    assert [i for i in ids if i.startswith("G-")] == [f"G-{i}-ok" for i in range(layout["good"])]


_DESK: Desk | None = None


def _desk() -> Desk:
    global _DESK
    if _DESK is None:
        _DESK = Desk.memory()
        _DESK.add_user("admin", [Role.ADMIN], PASSWORD, actor=None)
        _DESK.add_user("max", [Role.MARKETER], PASSWORD, actor="admin")
    return _DESK


@FUZZ
@given(layout=LAYOUT, hostile=st.lists(_hostile_line(), max_size=6), with_sent_at=st.booleans())
def test_sends_record_is_all_good_or_nothing(tmp_path_factory: pytest.TempPathFactory, layout: dict[str, Any],
                                            hostile: list[bytes], with_sent_at: bool) -> None:
    desk = _desk()
    campaign = f"fuzz-{uuid.uuid4().hex[:12]}"
    path = tmp_path_factory.mktemp("sends") / "messages.jsonl"
    _write(path, _mixed(_send_rows(layout["good"], campaign), hostile, layout["positions"]),
           bom=layout["bom"], crlf=layout["crlf"])
    audits = len(desk.audit_log(action="sends.record"))
    got = _only_copydesk_errors(
        lambda: svc.record_sends(desk, path, actor="max", sent_at=GOOD_AT if with_sent_at else None))
    stored = [r[0] for r in desk.db.execute("SELECT contact_id FROM sends WHERE campaign_id = ?", [campaign])]
    if isinstance(got, CopydeskError):
        assert isinstance(got, InputError) and hostile
        assert stored == [] and len(desk.audit_log(action="sends.record")) == audits
        return
    assert sorted(stored) == sorted(f"G-{i}-ok" for i in range(layout["good"]))
    assert len(desk.audit_log(action="sends.record")) == audits + 1
    # idempotent: the same file again adds nothing
    assert svc.record_sends(desk, path, actor="max", sent_at=GOOD_AT if with_sent_at else None).added == 0


# -- check input ---------------------------------------------------------------------

@FUZZ
@given(layout=LAYOUT, hostile=st.lists(st.one_of(
    _hostile_line(),
    st.tuples(st.sampled_from(["text", "id", "channel"]), _hostile_value()).map(
        lambda kv: ('{"channel": "sms", "text": "x", "' + kv[0] + '": ' + kv[1] + "}").encode(
            "utf-8", "surrogatepass"))),
    max_size=6), stdin=st.booleans())
def test_check_reports_every_line_and_checks_every_good_one(
    tmp_path_factory: pytest.TempPathFactory, capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch, layout: dict[str, Any], hostile: list[bytes], stdin: bool,
) -> None:
    import sys

    from copydesk.cli import common, main

    good = [json.dumps({"id": f"G-{i}-ok", "channel": "sms", "text": f"Hello [/] {i}"}).encode()
            for i in range(layout["good"])]
    path = tmp_path_factory.mktemp("check") / "drafts.jsonl"
    _write(path, _mixed(good, hostile, layout["positions"]), bom=layout["bom"], crlf=layout["crlf"])
    args = ["check", "-" if stdin else str(path), "--policy", str(REPO / "guardrails"), "--format", "json"]
    if stdin:
        fake = io.TextIOWrapper(io.BytesIO(path.read_bytes()), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", fake)
    monkeypatch.setattr(common.console, "_file", sys.stdout)
    monkeypatch.setattr(common.console_err, "_file", sys.stderr)
    capsysbinary.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsysbinary.readouterr()
    assert code in (0, 1), err
    results = [json.loads(line) for line in out.decode("utf-8").split("\n") if line]  # not splitlines: U+2028
    ids = [r["id"] for r in results if "passed" in r]
    assert [i for i in ids if str(i).startswith("G-")] == [f"G-{i}-ok" for i in range(layout["good"])]
    assert code == int(any("error" in r or not r["passed"] for r in results))


# -- YAML files ----------------------------------------------------------------------

def _mutate(text: str, how: str, piece: str, at: int) -> str:
    lines = text.splitlines()
    at %= len(lines) + 1
    if how == "insert":
        lines.insert(at, piece)
    elif how == "duplicate" and lines:
        lines.insert(at, lines[at % len(lines)])
    elif how == "replace" and lines:
        key = lines[at % len(lines)].split(":", 1)[0]
        lines[at % len(lines)] = f"{key}: {piece}"
    elif how == "deep":
        levels = 30 + len(piece) * 97 % 3000
        lines.insert(at, "deep: " + "[" * levels + "]" * levels)
    return "\n".join(lines) + "\n"


CURATED_YAML = st.sampled_from([
    "&a [*a]", "!!binary x", "!!python/object:os.system x", "? [a]", "{a: 1, a: 2}", "*nothere",
    "'unterminated", "\t- x", "\x00", "\udcff", "\u0085", "2026-13-45", "9999-12-31 23:59:59 -23:59",
    "!!float x", "!!int 0xZZ", "!!timestamp 2020-99-99", "[" * 3000 + "]" * 3000, "{not: " * 40 + "{}" + "}" * 40,
    '"\\ud800"', '"\\0"', '"\\e[2J"', "[/] [bold]", "1e999", ".nan",
])
YAML_PIECE = st.one_of(
    CURATED_YAML, CURATED_YAML, CURATED_YAML, WEIRD_TEXT, MARKUP, EXTREME_DATES, EXTREME_NUMBERS,
    ESCAPES.map(lambda e: f'"x{e}y"'),
)
MUTATION = st.tuples(st.sampled_from(["insert", "duplicate", "replace", "replace", "deep", "none"]), YAML_PIECE,
                     st.integers(min_value=0, max_value=40))


@FUZZ
@given(mutations=st.lists(MUTATION, max_size=3), bom=st.booleans(), crlf=st.booleans(),
       kind=st.sampled_from(["brief", "campaign", "pack", "config", "text"]))
def test_yaml_readers_raise_only_copydesk_errors(tmp_path_factory: pytest.TempPathFactory,
                                                 mutations: list[tuple[str, str, int]], bom: bool, crlf: bool,
                                                 kind: str) -> None:
    from copydesk.guardrails import load_policy
    from copydesk.models import Brief
    from copydesk.rules.campaign import load_campaign
    from copydesk.workspace import WorkspaceConfig

    source = {"brief": REPO / "briefs" / "boots-onboarding.yaml", "campaign": REPO / "campaigns" / "sms-restock.yaml",
              "pack": REPO / "guardrails" / "ridgeline.yaml", "config": REPO / "copydesk.yaml",
              "text": REPO / "campaigns" / "spring-boots.yaml"}[kind]
    text = source.read_text(encoding="utf-8")
    for how, piece, at in mutations:
        if how != "none":
            text = _mutate(text, how, piece, at)
    if crlf:
        text = text.replace("\n", "\r\n")
    folder = tmp_path_factory.mktemp("yaml")
    path = folder / source.name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogatepass"))
    readers = {
        "brief": lambda: load_model(path, Brief),
        "campaign": lambda: load_campaign(path),
        "pack": lambda: load_policy(path),
        "config": lambda: load_model(path, WorkspaceConfig),
        "text": lambda: parse_yaml(text, "f.yaml"),
    }
    got = _only_copydesk_errors(readers[kind])
    if not any(how != "none" for how, _, _ in mutations) and kind != "pack":
        assert not isinstance(got, CopydeskError), got  # a BOM or CRLF alone changes nothing


def test_the_csv_writer_round_trips_what_the_fuzz_writes(tmp_path: Path) -> None:
    """The fuzz builds CSV by hand; make sure a good line means what it should."""
    path = tmp_path / "p.csv"
    _write(path, [(True, b"G-0-ok,Ann [/],0,2026-01-02")], bom=True, crlf=True,
           header=b"contact_id,first_name,orders,seen")
    [row] = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    assert row == {"contact_id": "G-0-ok", "first_name": "Ann [/]", "orders": "0", "seen": "2026-01-02"}
