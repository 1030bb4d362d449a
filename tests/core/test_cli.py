"""Every core command through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from copydesk import clock

PW = "correct horse battery\n"


@pytest.fixture
def ws(bare_ws, monkeypatch):
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    return bare_ws


@pytest.fixture
def team(ws, cli):
    assert cli("user", "add", "admin", "--role", "admin", "--password-stdin", stdin=PW).code == 0
    for name, role in (("ana", "copywriter"), ("ben", "reviewer"), ("bea", "reviewer"), ("max", "marketer")):
        r = cli("user", "add", name, "--role", role, "--as", "admin", "--password-stdin", stdin=PW)
        assert r.code == 0, r
    return ws


def test_full_lifecycle_from_the_command_line(team, cli, tmp_path):
    review_by = (clock.today() + timedelta(days=90)).isoformat()
    r = cli("brief", "add", str(team.briefs_dir / "boots-onboarding.yaml"), "--as", "ana")
    assert r.code == 0 and "boots-onboarding" in r.out
    r = cli("variant", "add", "boots-onboarding", "--as", "ana", "--subject", "Boot care basics",
            "--body", "Brush off the mud and let them dry slowly.", "--cta", "Read the guide")
    assert r.code == 0 and "V1" in r.out and "draft" in r.out
    r = cli("variant", "edit", "V1", "--as", "ana", "--body", "Brush off the mud, then dry them slowly.")
    assert r.code == 0 and "revision 2" in r.out
    assert cli("review", "submit", "V1", "--as", "ana").code == 0
    r = cli("review", "approve", "V1", "--as", "ana", "--comment", "mine")
    assert r.code == 1 and "approve" in r.err and "Traceback" not in r.err
    r = cli("review", "approve", "V1", "--as", "ben", "--comment", "ok", "--review-by", review_by, "--revision", "1")
    assert r.code == 1 and "revision 1" in r.err
    r = cli("review", "approve", "V1", "--as", "ben", "--comment", "ok", "--review-by", review_by)
    assert r.code == 0 and "approved by ben" in r.out
    r = cli("library", "list", "--status", "approved", "--stage", "onboarding", "--channel", "email")
    assert "V1" in r.out and "1 variant" in r.out
    r = cli("library", "search", "boot care")
    assert "V1" in r.out
    out = tmp_path / "lib.json"
    r = cli("library", "export", "--format", "json", "--out", str(out), "--as", "max")
    assert r.code == 0
    [record] = json.loads(out.read_text())
    assert record["variant_id"] == "V1" and record["approved_by"] == "ben" and record["review_by"] == review_by
    for fmt in ("csv", "jsonl"):
        assert cli("library", "export", "--format", fmt, "--out", str(tmp_path / f"x.{fmt}"), "--as", "max").code == 0
    assert "V1" in (tmp_path / "x.csv").read_text()
    r = cli("variant", "show", "V1", "--history")
    assert "revision 1" in r.out and "approved" in r.out
    assert cli("variant", "retire", "V1", "--as", "ben").code == 0
    r = cli("audit", "log", "--variant", "V1")
    for action in ("variant.add", "variant.edit", "variant.submit", "variant.approve", "variant.retire"):
        assert action in r.out
    r = cli("audit", "verify")
    assert r.code == 0 and "intact" in r.out


def test_reject_and_queue(team, cli):
    cli("brief", "add", str(team.briefs_dir), "--as", "ana")
    cli("variant", "add", "sms-active-restock", "--as", "ana", "--text", "Ridgeline: the daypack is back!")
    cli("review", "submit", "V1", "--as", "ana")
    assert "V1" in cli("review", "queue").out
    r = cli("review", "reject", "V1", "--as", "ben", "--comment", "too pushy")
    assert r.code == 0 and "rejected" in r.out


@pytest.mark.parametrize("args,message", [
    (("variant", "show", "V99"), "no variant 'V99'"),
    (("review", "approve", "V99", "--as", "ben"), "no variant"),
    (("review", "submit", "V1", "--as", "ben"), "may not submit"),
    (("review", "approve", "V1", "--as", "ben"), "only a variant in review"),
    (("review", "approve", "V1", "--as", "ben", "--review-by", "03/01/2027"), "not a date"),
    (("library", "export", "--format", "xml", "--out", "x", "--as", "max"), "unknown export format"),
    (("user", "add", "eve", "--role", "boss", "--as", "admin", "--password-stdin"), "unknown role"),
    (("user", "add", "eve", "--role", "admin", "--as", "ana", "--password-stdin"), "may not manage users"),
])
def test_errors_are_one_line_without_traceback(team, cli, args, message):
    cli("brief", "add", str(team.briefs_dir / "boots-onboarding.yaml"), "--as", "ana")
    cli("variant", "add", "boots-onboarding", "--as", "ana", "--subject", "s", "--body", "b")
    r = cli(*args, stdin=PW)
    assert r.code == 1, r
    assert message in r.err
    assert "Traceback" not in r.err + r.out
    assert len(r.err.strip().splitlines()) == 1


def test_malformed_brief_names_file_line_field_and_keeps_good_ones(team, cli, tmp_path):
    folder = tmp_path / "briefs"
    folder.mkdir()
    (folder / "a-good.yaml").write_text((team.briefs_dir / "boots-onboarding.yaml").read_text())
    bad = (team.briefs_dir / "spring-generic.yaml").read_text().replace("stage: active", "stage: activ")
    (folder / "b-bad.yaml").write_text(bad)
    (folder / "c-broken.yaml").write_text("id: x\nsegment: [unclosed\n")
    r = cli("brief", "add", str(folder), "--as", "ana")
    assert r.code == 1
    line = bad.splitlines().index("stage: activ") + 1
    assert f"b-bad.yaml:{line}: field 'stage'" in r.err
    assert "c-broken.yaml:" in r.err and "invalid YAML" in r.err
    assert "added brief boots-onboarding" in r.out
    assert "boots-onboarding" in cli("brief", "list").out


def test_unknown_field_in_brief(team, cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text((team.briefs_dir / "boots-onboarding.yaml").read_text() + "budget: 100\n")
    r = cli("brief", "add", str(path), "--as", "ana")
    assert "field 'budget': unknown field" in r.err


def test_audit_verify_fails_with_exit_1(team, cli):
    import sqlite3

    conn = sqlite3.connect(team.db_path)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    conn.commit()
    r = cli("audit", "verify")
    assert r.code == 1 and "event 2" in r.err


def test_usage_error_exits_2(ws, cli):
    r = cli("review", "approve")
    assert r.code == 2


def test_init_scaffolds_a_workspace(cli, tmp_path):
    target = tmp_path / "acme"
    r = cli("init", str(target), "--brand", "Acme")
    assert r.code == 0
    for name in ("prompts", "guardrails", "templates", "campaigns", "briefs", "store", "copydesk.yaml"):
        assert (target / name).exists(), name
    assert "brand: Acme" in (target / "copydesk.yaml").read_text()
    assert cli("init", str(target)).code == 1


def test_every_command_has_help(cli):
    groups = {"user": ["add", "list", "roles", "deactivate", "password"], "brief": ["add", "update", "list", "show"],
              "variant": ["add", "edit", "show", "retire"],
              "review": ["queue", "submit", "approve", "reject", "waive"],
              "library": ["list", "search", "export", "stats"], "audit": ["log", "verify"]}
    for group, commands in groups.items():
        for command in commands:
            r = cli(group, command, "--help")
            assert r.code == 0 and "Usage" in r.out, (group, command, r)
            assert f"copydesk {group} {command}" in r.out, (group, command, r)


def test_python_dash_m_runs_the_cli():
    # one real process for the ``python -m copydesk`` entry point; the rest run in-process
    r = subprocess.run([sys.executable, "-m", "copydesk", "review", "approve", "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Usage" in r.stdout and "copydesk review approve" in r.stdout, r.stderr
