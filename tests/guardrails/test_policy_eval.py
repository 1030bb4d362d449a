"""``copydesk policy eval``: the sample policy meets its own thresholds on the sample
set; a pack's thresholds make the command fail; bad lines are named and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import SAMPLE
from .test_cli import run

EVAL_SET = SAMPLE / "eval" / "drafts.jsonl"
HOLDOUT = SAMPLE / "eval" / "holdout.jsonl"
BLIND = SAMPLE / "eval" / "blind.jsonl"


def test_the_sample_policy_meets_its_thresholds_on_the_sample_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["policy", "eval", str(EVAL_SET), "--policy", str(SAMPLE), "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 0, (report["failures"], err)
    assert report["cases"] >= 300 and report["flagged_clean_share"] <= 0.03
    assert all(c["recall"] is None or c["recall"] >= 0.95 for c in report["categories"])


@pytest.mark.parametrize("labelled", [HOLDOUT, BLIND], ids=["holdout", "blind"])
def test_the_sets_written_blind_are_read_whole(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # measured, not held to the pack's thresholds: docs/methods/guardrails.md#accuracy
    # gives their first-run figures, which are the honest estimate
    code, out, _ = run(["policy", "eval", str(labelled), "--policy", str(SAMPLE), "--format", "json"], capsys)
    report = json.loads(out)
    assert report["cases"] >= 300 and report["problems"] == []


def _pack(tmp_path: Path, thresholds: str) -> Path:
    (tmp_path / "policy.yaml").write_text(
        "pack: t\nrules:\n"
        "  - id: urgency.hurry\n    type: existence\n    category: urgency\n    severity: warn\n"
        "    message: \"'{match}' pressures\"\n    terms: [hurry]\n"
        f"{thresholds}",
        encoding="utf-8",
    )
    return tmp_path / "policy.yaml"


def _cases(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ROWS = [
    json.dumps({"id": "u1", "channel": "sms", "fields": {"text": "Hurry in"}, "expect": ["urgency"]}),
    json.dumps({"id": "u2", "channel": "sms", "fields": {"text": "Last chance"}, "expect": ["urgency"]}),
    json.dumps({"id": "c1", "channel": "sms", "fields": {"text": "New boots"}, "expect": []}),
]


def test_thresholds_in_the_pack_fail_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _pack(tmp_path, "evaluation:\n  min_recall: 0.9\n")
    code, out, err = run(["policy", "eval", str(_cases(tmp_path, ROWS)), "--policy", str(pack)], capsys)
    assert code == 1
    assert "urgency: recall 0.50 < 0.90" in err
    assert "u2 (line 2): urgency not raised" in out
    lenient = _pack(tmp_path, "evaluation:\n  min_recall: 0.5\n")
    code, _, _ = run(["policy", "eval", str(_cases(tmp_path, ROWS)), "--policy", str(lenient)], capsys)
    assert code == 0


def test_false_alarms_on_clean_drafts_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [*ROWS[:1], json.dumps({"id": "c2", "channel": "sms", "fields": {"text": "No hurry"}, "expect": []})]
    pack = _pack(tmp_path, "evaluation:\n  max_flagged_clean: 0.0\n")
    code, out, err = run(["policy", "eval", str(_cases(tmp_path, rows)), "--policy", str(pack),
                          "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["flagged_clean"] == 1
    assert report["false_alarms"][0]["id"] == "c2" and report["false_alarms"][0]["match"] == "hurry"


def test_bad_lines_are_named_and_the_rest_evaluated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        ROWS[0],
        "{oops",
        json.dumps({"id": "x", "channel": "sms", "fields": {"subject": "no such field"}, "expect": []}),
        json.dumps({"id": "y", "channel": "sms", "fields": {"text": "ok"}, "expect": ["nonsense"]}),
        json.dumps({"id": "z", "channel": "email", "fields": {"body": "b"}, "brief": {"goal": ""}, "expect": []}),
        ROWS[2],
    ]
    pack = _pack(tmp_path, "")
    code, out, err = run(["policy", "eval", str(_cases(tmp_path, lines)), "--policy", str(pack),
                          "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["cases"] == 2
    problems = report["problems"]
    assert any(":2: invalid JSON" in p or ":2:" in p for p in problems)
    assert any(":3: field 'fields.subject'" in p for p in problems)
    assert any(":4: field 'expect.0'" in p for p in problems)
    assert any(":5: field 'brief." in p for p in problems)
    assert "Traceback" not in err
