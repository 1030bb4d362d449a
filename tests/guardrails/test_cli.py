"""``copydesk check`` and ``copydesk policy test|show`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copydesk.cli import main
from copydesk.guardrails import load_policy

from .conftest import SAMPLE

LINES = [
    json.dumps({"id": "ok", "channel": "email", "subject": "New boots", "body": "Calm, dry feet on every walk."}),
    "{not json",
    json.dumps({"id": "bad", "channel": "email", "subject": "The cheapest boots", "body": "Text"}),
    json.dumps({"id": "x", "channel": "sms", "subject": "wrong field"}),
    json.dumps({"id": "warn", "channel": "sms", "text": "Hurry, new boots"}),
]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_json_keeps_going_after_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    code, out, _ = run(["check", str(drafts), "--policy", str(SAMPLE), "--format", "json"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r.get("id") for r in rows] == ["ok", None, "bad", None, "warn"]
    assert rows[0] == {"id": "ok", "passed": True, "findings": []}
    assert rows[1]["line"] == 2 and "invalid JSON" in rows[1]["error"]
    assert rows[2]["passed"] is False
    assert rows[2]["findings"][0] | {"message": "", "suggestion": ""} == {
        "rule_id": "claims.absolute", "category": "claims", "severity": "block", "field": "subject",
        "start": 4, "end": 12, "match": "cheapest", "message": "", "suggestion": "",
    }  # fmt: skip
    assert rows[3]["line"] == 4 and "no field 'subject'" in rows[3]["error"]
    assert rows[4]["passed"] is True and rows[4]["findings"][0]["severity"] == "warn"


def test_check_exit_zero_without_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drafts = tmp_path / "d.jsonl"
    drafts.write_text(LINES[0] + "\n" + LINES[4] + "\n", encoding="utf-8")
    code, out, _ = run(["check", str(drafts), "-p", str(SAMPLE)], capsys)
    assert code == 0
    assert "ok: passed" in out and "warn: passed (1 finding)" in out


def test_check_text_highlights_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drafts = tmp_path / "d.jsonl"
    drafts.write_text(LINES[2] + "\n", encoding="utf-8")
    code, out, _ = run(["check", str(drafts), "-p", str(SAMPLE)], capsys)
    assert code == 1
    lines = out.splitlines()
    context = next(i for i, line in enumerate(lines) if "The cheapest boots" in line)
    assert lines[context + 1].index("^") == lines[context].index("cheapest")
    assert lines[context + 1].count("^") == len("cheapest")


def test_check_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(LINES[0] + "\n"))
    code, out, _ = run(["check", "-", "-p", str(SAMPLE), "-f", "json"], capsys)
    assert code == 0 and json.loads(out)["passed"] is True


def test_check_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", "nope.jsonl", "-p", str(SAMPLE)], capsys)
    assert code == 1 and "nope.jsonl: file not found" in err


def test_policy_test_passes_on_sample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["policy", "test", "--policy", str(SAMPLE)], capsys)
    assert code == 0
    assert "FAIL" not in out
    assert f"{len(load_policy(SAMPLE).rules)} of {len(load_policy(SAMPLE).rules)} rules passed" in out


def test_policy_test_fails_untested_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(
        "pack: p\nrules:\n  - {id: lonely, type: existence, category: tone, message: x, terms: [epic]}\n",
        encoding="utf-8",
    )
    code, out, err = run(["policy", "test", "-p", str(pack)], capsys)
    assert code == 1
    assert "FAIL lonely" in out and "no test fires this rule" in out
    assert "1 rule failed" in err


def test_policy_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["policy", "show", "-p", str(SAMPLE), "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0
    ids = {r["id"]: r for r in data["rules"]}
    assert ids["pii.contact-and-payment"]["source"].endswith("base/pii.yaml")
    assert "claim.waterproof" in ids
    assert "first_name" in data["variables"]


def test_malformed_pack_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text("pack: p\nrules:\n  - {id: r, type: existence, category: tone, message: x, term: [a]}\n")
    code, _, err = run(["policy", "show", "-p", str(pack)], capsys)
    assert code == 1
    assert "p.yaml:3" in err and "rule 'r'" in err and "Traceback" not in err
