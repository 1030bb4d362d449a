"""Inputs that used to kill whole jobs: a hostile row is a per-row reject, a hostile file
a one-line error, and nothing but a CopydeskError leaves a command (issue: fail closed).

Each test here failed (traceback, or good rows lost) before the fix it names."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from copydesk import clock
from copydesk.db import open_db
from copydesk.errors import InputError
from copydesk.measure.outcomes import import_outcomes, write_rejects
from copydesk.render.audience import Record, Reject, read_rows
from copydesk.render.pipeline import render_campaign
from copydesk.rules.campaign import load_campaign
from copydesk.services import Desk
from copydesk.services import campaigns as svc
from copydesk.workspace import Workspace
from tests.rules.rules_helpers import NOW, TODAY, content

REPO = Path(__file__).resolve().parents[2]
OVERFLOW = "9999-12-31T23:59:59-23:59"  # a valid ISO string whose UTC time does not exist
GOOD = '{"contact_id": "C%d", "lifecycle_stage": "onboarding", "consent_email": true}\n'


def _kinds(path: Path) -> list[tuple[str, str | None, str | None]]:
    out: list[tuple[str, str | None, str | None]] = []
    for item in read_rows(path):
        if isinstance(item, Record):
            out.append(("ok", item.data["contact_id"], None))
        else:
            assert isinstance(item, Reject)
            out.append(("reject", item.field, item.reason))
    return out


# -- audience files ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("bad", "field", "reason"),
    [
        ('{"contact_id": "C9", "first_name": "\\ud800"}\n', "first_name", "lone surrogate"),
        ('{"contact_id": "\\udcff"}\n', "contact_id", "lone surrogate"),
        ('{"contact_id": "C9", "\\ud800": 1}\n', "\\ud800", "lone surrogate"),
        ('{"contact_id": "C9", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", None, "nested more than 32"),
        ('{"contact_id": "C9", "x": ' + "[" * 40 + "]" * 40 + "}\n", None, "nested more than 32"),
        ('{"contact_id": "C9", "seen_at": "' + OVERFLOW + '"}\n', "seen_at", "outside the range"),
        ('{"contact_id": "C9", "points": NaN}\n', "points", "not a finite number"),
        ('{"contact_id": "C9", "points": 1e999}\n', "points", "not a finite number"),
        ('{"contact_id": "C9", "points": ' + "9" * 5000 + "}\n", None, "invalid JSON"),
        (b'{"contact_id": "C9", "x": "\xff"}\n', None, "not valid UTF-8"),
    ],
)
def test_a_hostile_jsonl_row_is_rejected_and_the_good_rows_are_read(
    tmp_path: Path, bad: str | bytes, field: str | None, reason: str
) -> None:
    path = tmp_path / "people.jsonl"
    raw = bad if isinstance(bad, bytes) else bad.encode("utf-8")
    path.write_bytes((GOOD % 1).encode() + raw + (GOOD % 2).encode())
    kinds = _kinds(path)
    assert [k[0] for k in kinds] == ["ok", "reject", "ok"]
    assert kinds[1][1] == field and reason in str(kinds[1][2])


def test_a_byte_order_mark_does_not_cost_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (GOOD % 1).encode() + (GOOD % 2).replace("\n", "\r\n").encode())
    assert _kinds(path) == [("ok", "C1", None), ("ok", "C2", None)]


def test_a_csv_cell_holding_a_deeply_nested_list_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("contact_id,tags\nC1,a|b\nC2," + "[" * 60_000 + "]" * 60_000 + "\nC3,[1]\n",
                    encoding="utf-8")
    assert [k[:2] for k in _kinds(path)] == [("ok", "C1"), ("reject", "tags"), ("ok", "C3")]


def test_a_csv_header_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"contact_id,na\xffme\nC1,x\n")
    with pytest.raises(InputError, match="header is not valid UTF-8"):
        list(read_rows(path))


def test_a_lone_surrogate_row_does_not_stop_the_render(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    rows = [GOOD % i for i in range(1, 50)]
    rows.insert(20, '{"contact_id": "C\\ud800", "lifecycle_stage": "onboarding", "consent_email": true}\n')
    path.write_text("".join(rows), encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = render_campaign(load_campaign(REPO / "campaigns" / "spring-boots.yaml"), path, out,
                              library=[content("V1", "boots-onboarding"), content("V9", "spring-generic")],
                              templates_dir=REPO / "templates", today=TODAY, now=NOW)
    assert summary.total == 50 and summary.rejected == 1
    decided = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(decided) == 49
    [reject] = list(csv.DictReader((tmp_path / "out.rejects.csv").open(encoding="utf-8")))
    assert (reject["row"], reject["field"]) == ("21", "contact_id")


# -- outcomes ------------------------------------------------------------------------

@pytest.fixture
def sent_db() -> sqlite_utils.Database:
    db = open_db(None)
    db.table("sends").insert_all(
        {"contact_id": f"c{i}", "campaign_id": "spring", "channel": "email", "holdout": 0,
         "sent_at": "2000-01-01T00:00:00+00:00"} for i in range(300)
    )
    return db


def test_one_outcome_at_a_time_utc_cannot_hold_rejects_that_row_not_the_file(
    tmp_path: Path, sent_db: sqlite_utils.Database
) -> None:
    lines = ["contact_id,campaign_id,event,at,value"]
    lines += [f"c{i},spring,opened,2026-03-02T10:00:00Z," for i in range(300)]
    lines.insert(151, f"c1,spring,clicked,{OVERFLOW},")
    path = tmp_path / "outcomes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_outcomes(sent_db, path)
    assert result.imported == 300
    [reject] = result.rejects
    assert (reject.line, reject.field) == (152, "at") and "outside the range" in reject.reason
    assert sent_db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0] == 300


@pytest.mark.parametrize(
    ("at", "accepted"),
    [
        ("1999-12-31T23:59:59Z", False),
        ("2000-01-01T00:00:00Z", True),
        ("+12h", True),
        ("+26h", False),
        ("0001-01-01T00:00:00+05:00", False),
    ],
)
def test_an_outcome_before_2000_or_more_than_a_day_ahead_is_rejected_naming_at(
    tmp_path: Path, sent_db: sqlite_utils.Database, at: str, accepted: bool
) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    if at.startswith("+"):
        at = (now + timedelta(hours=int(at[1:-1]))).isoformat()
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps({"contact_id": "c1", "campaign_id": "spring", "event": "opened", "at": at}) + "\n"
                    + json.dumps({"contact_id": "c2", "campaign_id": "spring", "event": "opened",
                                  "at": "2026-03-02T10:00:00Z"}) + "\n", encoding="utf-8")
    result = import_outcomes(sent_db, path, now=now)
    assert result.imported == 1 + accepted
    assert [r.field for r in result.rejects] == ([] if accepted else ["at"])


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b'{"contact_id": "c\\ud800", "campaign_id": "spring", "event": "opened", "at": "2026-03-02"}', "contact_id"),
        (b'{"contact_id": "c1\\u0000", "campaign_id": "spring", "event": "opened", "at": "2026-03-02"}', "contact_id"),
        (b'{"contact_id": "c1", "campaign_id": "spring", "event": "opened", "at": "2026-03-02\xff"}', None),
        (b'{"contact_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
        (b'{"contact_id": "c1", "campaign_id": "spring", "event": "opened", "at": "\\udcff"}', "at"),
    ],
)
def test_hostile_outcome_lines_are_rejects_that_can_be_written_and_printed(
    tmp_path: Path, sent_db: sqlite_utils.Database, line: bytes, field: str | None
) -> None:
    path = tmp_path / "o.jsonl"
    good = b'{"contact_id": "c2", "campaign_id": "spring", "event": "opened", "at": "2026-03-02T10:00:00Z"}\n'
    path.write_bytes(line + b"\n" + good)
    result = import_outcomes(sent_db, path)
    assert result.imported == 1
    [reject] = result.rejects
    assert reject.field == field and reject.line == 1
    str(reject).encode("utf-8")
    write_rejects(result.rejects, tmp_path / "rejects.csv")
    assert (tmp_path / "rejects.csv").read_text(encoding="utf-8").count("\n") == 2


def test_an_outcome_csv_row_that_is_not_utf8_is_rejected_alone(tmp_path: Path, sent_db: sqlite_utils.Database) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(b"\xef\xbb\xbfcontact_id,campaign_id,event,at\r\nc1,spring,opened,2026-03-02\r\n"
                     b"c\xff,spring,opened,2026-03-02\r\nc3,spring,opened,2026-03-02\r\n")
    result = import_outcomes(sent_db, path)
    assert result.imported == 2 and [(r.line, r.reason) for r in result.rejects] == [(3, "not valid UTF-8 text")]


# -- sends and history ---------------------------------------------------------------

@pytest.fixture
def ws(desk: Desk, bare_ws: Workspace) -> Workspace:
    for name in ("templates", "campaigns", "audiences"):
        shutil.copytree(REPO / name, bare_ws.root / name)
    for brief, fields in {
        "boots-onboarding": {"subject": "Boots, {{ first_name | default('there') }}", "body": "Care tips."},
        "spring-generic": {"subject": "Spring", "body": "New trails."},
    }.items():
        v = desk.add_variant(brief, fields, actor="ana")
        desk.submit(v.id, actor="ana")
        desk.approve(v.id, actor="ben", comment="ok")
    return bare_ws


def _messages(ws: Workspace, cli) -> Path:  # type: ignore[no-untyped-def]
    out = ws.root / "messages.jsonl"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(out))
    assert r.code == 0, r
    return out


def test_a_stored_send_dated_beyond_utc_does_not_break_later_renders(cli, ws: Workspace, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    desk.db.execute("INSERT INTO sends (contact_id, campaign_id, channel, holdout, sent_at) "
                    "VALUES ('C1001', 'old', 'email', 0, ?)", [OVERFLOW])
    desk.db.execute("INSERT INTO sends (contact_id, campaign_id, channel, holdout, sent_at) "
                    "VALUES ('C1002', 'old', 'email', 0, '9999-01-01T00:00:00+00:00')")
    desk.db.conn.commit()
    out = ws.root / "m.csv"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(out))
    assert r.code == 0, r
    assert r.err.count("warning: stored send #") == 2 and "ignored: sent_at" in r.err
    r = cli("-w", str(ws.root), "explain", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--contact", "C1001")
    assert r.code == 0 and "contact C1001" in r.out, r
    notes: list[str] = []
    assert len(desk.send_history("email", datetime(2026, 1, 1, tzinfo=UTC), skipped=notes)) == 0
    assert len(notes) == 2


@pytest.mark.parametrize("value", [OVERFLOW, "1999-12-31T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_sends_record_refuses_a_send_time_out_of_range_and_records_nothing(  # type: ignore[no-untyped-def]
    cli, ws: Workspace, desk: Desk, value: str
) -> None:
    out = _messages(ws, cli)
    before = len(desk.audit_log(action="sends.record"))
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max", "--sent-at", value)
    assert r.code == 2 and "--sent-at" in r.err and "internal error" not in r.err, r
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    last = max(i for i, row in enumerate(rows) if row["decision"] == "selected")
    rows[last]["decided_at"] = value
    out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max")
    assert r.code == 1 and f"{out}:{last + 1}: field 'decided_at'" in r.err and "internal error" not in r.err, r
    assert desk.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0] == 0
    assert len(desk.audit_log(action="sends.record")) == before


def test_sends_record_names_a_bad_channel_instead_of_crashing(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    out = _messages(ws, cli)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    rows[1]["channel"] = "fax"
    out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max")
    assert r.code == 1 and f"{out}:2: field 'channel'" in r.err, r


def test_a_history_row_dated_beyond_utc_is_an_error_naming_line_and_field(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    hist = ws.root / "sends.jsonl"
    hist.write_text('{"contact_id": "C1", "campaign_id": "a", "channel": "email", "sent_at": "2026-01-01T00:00:00"}\n'
                    f'{{"contact_id": "C2", "campaign_id": "a", "channel": "email", "sent_at": "{OVERFLOW}"}}\n',
                    encoding="utf-8")
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(ws.root / "m.csv"), "--history", str(hist))
    assert r.code == 1 and f"{hist}:2: field 'sent_at'" in r.err and "internal error" not in r.err, r


def test_recording_the_same_file_again_the_same_day_adds_nothing(cli, ws: Workspace, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    out = _messages(ws, cli)
    day = (clock.now() - timedelta(days=2)).date().isoformat()
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max", "--sent-at", f"{day}T09:00:00Z")
    assert r.code == 0, r
    first = desk.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0]
    assert first > 0 and f"recorded {first} new send(s)" in r.out
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max", "--sent-at", f"{day}T15:30:00+00:00")
    assert r.code == 0 and f"recorded 0 new send(s) ({first} already recorded" in r.out, r
    assert desk.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0] == first
    assert desk.db.execute("SELECT MIN(sent_at) FROM sends").fetchone()[0] == f"{day}T09:00:00+00:00"
    # an offset that moves the moment to another UTC day is another day's send
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max", "--sent-at", f"{day}T23:30:00-02:00")
    assert f"recorded {first} new send(s)" in r.out, r


def test_a_send_is_stored_in_utc_whatever_offset_the_file_gives(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text('{"contact_id": "C1", "campaign_id": "c", "channel": "email", "decision": "selected", '
                    '"content_hash": "h", "decided_at": "2026-03-02T01:00:00+03:00"}\n', encoding="utf-8")
    assert svc.record_sends(desk, path, actor="max").added == 1
    assert desk.db.execute("SELECT sent_at FROM sends").fetchone()[0] == "2026-03-01T22:00:00+00:00"


# -- check ---------------------------------------------------------------------------

def test_check_reports_lines_it_cannot_read_and_checks_the_others(cli, tmp_path: Path, bare_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "drafts.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"id": "a", "channel": "sms", "text": "Hello"}\r\n'
        b'{"id": "b", "channel": "sms", "text": "\\ud800"}\n'
        b'{"id": "c", "channel": "sms", "text": "caf\xe9"}\n'
        b'{"id": "d", "channel": "sms", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
        b'{"id": "\\u0000", "channel": "sms", "text": "x"}\n'
        b'{"id": "f", "channel": "sms", "text": "Bye"}\n'
    )
    r = cli("-w", str(bare_ws.root), "check", str(path), "--policy", str(REPO / "guardrails"), "--format", "json")
    assert r.code == 1 and "internal error" not in r.err, r
    lines = [json.loads(line) for line in r.out.splitlines()]
    assert [x.get("id") for x in lines] == ["a", None, None, None, None, "f"]
    assert [x.get("line") for x in lines[1:5]] == [2, 3, 4, 5]
    assert "lone surrogate" in lines[1]["error"] and "lone surrogate" in lines[2]["error"]
    assert "nested" in lines[3]["error"] and "NUL" in lines[4]["error"]
    r = cli("-w", str(bare_ws.root), "check", str(path), "--policy", str(REPO / "guardrails"))
    assert r.code == 1 and "internal error" not in r.err and "a: passed" in r.out and "f: passed" in r.out, r


# -- text that reaches the library ---------------------------------------------------

@pytest.mark.parametrize(("text", "what"), [("\udcff", "lone surrogate"), ("a\x1b[2Jb", "control character"),
                                            ("ok\rhidden", "control character")])
def test_variant_text_that_is_not_clean_unicode_is_refused_naming_the_field(  # type: ignore[no-untyped-def]
    cli, desk: Desk, bare_ws: Workspace, text: str, what: str
) -> None:
    r = cli("-w", str(bare_ws.root), "variant", "add", "sms-active-restock", "--as", "ana", "--text", text)
    assert r.code == 1 and "field 'text'" in r.err and what in r.err and "internal error" not in r.err, r
    assert desk.list_variants() == []
    r = cli("-w", str(bare_ws.root), "variant", "add", "sms-active-restock", "--as", "ana",
            "--text", "Two lines\r\nand a\ttab are fine")
    assert r.code == 0, r


@pytest.mark.parametrize("escape", ["\\0", "\\e", "\\ud800", "\\x85"])
def test_a_brief_with_control_characters_is_refused_naming_the_field(
    tmp_path: Path, desk: Desk, escape: str
) -> None:
    text = (REPO / "briefs" / "boots-onboarding.yaml").read_text(encoding="utf-8")
    path = tmp_path / "brief.yaml"
    lines = [f'tone_notes: "Warm{escape} and practical"' if line.startswith("tone_notes:") else line
             for line in text.splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # pydantic itself refuses a lone surrogate in a str field; the rest are ours
    with pytest.raises(InputError, match=r"brief\.yaml:11: field 'tone_notes': (contains|.*unicode string)"):
        desk.add_brief_file(path, actor="ana", update=True)


# -- the last resort -----------------------------------------------------------------

def test_a_bug_is_one_line_and_exit_70_never_a_traceback(  # type: ignore[no-untyped-def]
    cli, monkeypatch: pytest.MonkeyPatch, bare_ws: Workspace
) -> None:
    from copydesk.services import library

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom [/] \udcff\nsecond line")

    monkeypatch.setattr(library.LibraryMixin, "list_variants", broken)
    r = cli("-w", str(bare_ws.root), "library", "list")
    assert r.code == 70
    assert r.err == ("internal error: RuntimeError: boom [/] \\udcff second line — please report it; "
                     "COPYDESK_DEBUG=1 shows the traceback\n")
    monkeypatch.setenv("COPYDESK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli("-w", str(bare_ws.root), "library", "list")


@pytest.mark.parametrize(("args", "named"), [
    (("variant", "show", "V\udcff"), "argument 5 contains"),
    (("brief", "show", "b\udcff"), "argument 5 contains"),
    (("library", "search", "boot\udcff"), "argument 5 contains"),
    (("review", "approve", "V1", "--as", "ben\udcff"), "field 'as'"),
    (("library", "export", "--out=/tmp/x\udcff.json", "--as", "max"), "field 'out'"),
])
def test_an_argument_that_is_not_utf8_is_one_line_naming_it(  # type: ignore[no-untyped-def]
    cli, desk: Desk, bare_ws: Workspace, args: tuple[str, ...], named: str
) -> None:
    r = cli("-w", str(bare_ws.root), *args)
    assert r.code == 1 and r.err.startswith("error: ") and named in r.err and "U+DCFF" in r.err, r
    assert "internal error" not in r.err


def test_an_output_file_that_cannot_be_created_is_one_line(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    blocker = ws.root / "taken"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
            "--out", str(blocker / "m.csv"))
    assert r.code == 1 and f"{blocker / 'm.csv'}: cannot write" in r.err and "internal error" not in r.err, r


def test_a_brief_file_whose_name_is_not_utf8_is_reported_and_the_others_added(  # type: ignore[no-untyped-def]
    cli, desk: Desk, bare_ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    text = (REPO / "briefs" / "boots-onboarding.yaml").read_text(encoding="utf-8")
    (folder / "b\udcff.yaml").write_text(text.replace("id: boots-onboarding", "id: odd-name"), encoding="utf-8")
    (folder / "good.yaml").write_text(text.replace("id: boots-onboarding", "id: good-name"), encoding="utf-8")
    r = cli("-w", str(bare_ws.root), "brief", "add", str(folder), "--as", "ana")
    assert r.code == 1 and "b\\udcff.yaml: the file name is not valid UTF-8" in r.err, r
    assert "internal error" not in r.err and "added brief good-name" in r.out


def test_rows_given_in_code_get_the_same_checks_as_rows_read_from_files() -> None:
    from copydesk.render.audience import record_or_reject

    assert isinstance(record_or_reject(1, None, {"contact_id": 7, "seen": datetime(2026, 1, 1)}), Record)
    bad = record_or_reject(2, None, {"contact_id": "C2", "seen": datetime.fromisoformat(OVERFLOW)})
    assert isinstance(bad, Reject) and bad.field == "seen"
    assert isinstance(record_or_reject(3, None, {"first_name": "x"}), Reject)
