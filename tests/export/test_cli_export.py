"""``copydesk library export --dialect``: every problem at once, nothing written unless
asked, the approval in every record, the export audited."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from copydesk.services import Desk
from copydesk.workspace import Workspace
from tests.conftest import open_team_desk
from tests.export.conftest import LIBRARY, approve_all

BAD = [("spring-generic", {"subject": "Hi {{ first_name | default('there') | title }}",
                           "body": "Near {{ city }} and {{ first_name | default('you') | truncate(3) }}"})]


def _ws(bare_ws: Workspace, esp: str = "") -> Desk:
    if esp:
        bare_ws.config_path.write_text(bare_ws.config_path.read_text() + esp, encoding="utf-8")
    d = open_team_desk(bare_ws)
    return d


def test_dialect_export_json_carries_the_approval(cli, bare_ws: Workspace, monkeypatch, tmp_path: Path) -> None:
    d = _ws(bare_ws)
    ids = approve_all(d, LIBRARY)
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    out = tmp_path / "braze.json"
    r = cli("library", "export", "--dialect", "braze", "--out", str(out), "--as", "max")
    assert r.code == 0, r
    assert "exported 4 approved variant(s) in braze syntax" in r.out
    records = json.loads(out.read_text(encoding="utf-8"))
    assert [rec["variant_id"] for rec in records] == ids
    first = records[0]
    assert first["dialect"] == "braze" and first["approved_by"] == "ben" and first["review_by"]
    assert first["fields"]["body"].startswith(
        f"{{% comment %}}copydesk variant {ids[0]} revision 1 approval {first['content_hash']} approved by ben")
    assert "{{${first_name} | default: 'there'" in first["fields"]["subject"]
    [event] = d.audit_log(action="library.export")
    assert event.entity_id == "json:braze" and event.data["dialect"] == "braze"
    assert event.data["variants"] == ids and event.data["skipped"] == []


def test_dialect_export_csv_has_metadata_columns(cli, bare_ws: Workspace, monkeypatch, tmp_path: Path) -> None:
    d = _ws(bare_ws)
    approve_all(d, LIBRARY[:1])
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    out = tmp_path / "x.csv"
    r = cli("library", "export", "--dialect", "hubspot", "--format", "csv", "--out", str(out), "--as", "max")
    assert r.code == 0, r
    [row] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {"variant_id", "revision", "content_hash", "approved_by", "review_by", "dialect", "attributes"} <= set(row)
    assert "{{ contact.firstname|default('there', true) }}" in row["subject"]
    assert json.loads(row["attributes"])["first_name"] == "contact.firstname"


def test_every_problem_is_reported_and_nothing_is_written(cli, bare_ws: Workspace, monkeypatch, tmp_path: Path) -> None:
    d = _ws(bare_ws)
    approve_all(d, LIBRARY)
    [bad] = approve_all(d, BAD)
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    out = tmp_path / "x.json"
    r = cli("library", "export", "--dialect", "klaviyo", "--out", str(out), "--as", "max")
    assert r.code == 1 and not out.exists()
    assert "3 placeholder(s) cannot be exported to klaviyo" in r.err
    assert f"{bad} field subject: \"{{{{ first_name | default('there') | title }}}}\": filter 'title'" in r.err
    assert f"{bad} field body: '{{{{ city }}}}': no default" in r.err
    assert "truncate" in r.err
    assert d.audit_log(action="library.export") == []


def test_skip_untranslatable_exports_the_rest(cli, bare_ws: Workspace, monkeypatch, tmp_path: Path) -> None:
    d = _ws(bare_ws)
    good = approve_all(d, LIBRARY)
    [bad] = approve_all(d, BAD)
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    out = tmp_path / "x.jsonl"
    r = cli("library", "export", "--dialect", "iterable", "--format", "jsonl", "--skip-untranslatable",
            "--out", str(out), "--as", "max")
    assert r.code == 0, r
    assert [json.loads(line)["variant_id"] for line in out.read_text().splitlines()] == good
    assert f"skipped {bad} field subject" in r.err and "left out 1 variant(s)" in r.out
    [event] = d.audit_log(action="library.export")
    assert event.data["skipped"] == [bad]


def test_skip_needs_a_dialect_and_unknown_dialects_are_named(cli, bare_ws: Workspace, monkeypatch, tmp_path) -> None:
    _ws(bare_ws)
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    r = cli("library", "export", "--skip-untranslatable", "--out", str(tmp_path / "x"), "--as", "max")
    assert r.code == 2 and "--skip-untranslatable needs --dialect" in r.err
    r = cli("library", "export", "--dialect", "sendgrid", "--out", str(tmp_path / "x"), "--as", "max")
    assert r.code != 0
    assert "unknown dialect 'sendgrid'; use one of braze, iterable, klaviyo, mailchimp, sfmc, hubspot" in r.err


def test_field_map_from_copydesk_yaml(bare_ws: Workspace) -> None:
    d = _ws(bare_ws, "esp:\n  braze: {first_name: custom_attribute.given_name}\n"
                     "  mailchimp: {first_name: GIVEN, city: CITY}\n")
    approve_all(d, LIBRARY[3:])
    [rec], [] = d.dialect_records("braze")
    assert "{{custom_attribute.${given_name} | default: 'Hello'" in rec["fields"]["body"]
    assert "{{${city} | default: 'you'}}" in rec["fields"]["subject"]  # a Braze standard attribute
    [rec], [] = d.dialect_records("mailchimp")
    assert rec["fields"]["subject"] == "Spring walks near *|IF:CITY|**|CITY|**|ELSE:|*you*|END:IF|*"
    assert rec["attributes"] == {"first_name": "GIVEN", "city": "CITY"}


def test_a_bad_field_map_names_file_and_key(cli, bare_ws: Workspace, monkeypatch, tmp_path: Path) -> None:
    _ws(bare_ws)
    bare_ws.config_path.write_text("brand: T\npolicy: guardrails\nesp:\n  mailchimp: {first_name: first name}\n",
                                   encoding="utf-8")
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    r = cli("library", "export", "--dialect", "mailchimp", "--out", str(tmp_path / "x"), "--as", "max")
    assert r.code != 0 and "copydesk.yaml" in r.err
    assert "esp.mailchimp.first_name: 'first name' is not a merge tag" in r.err
    assert "Traceback" not in r.err + r.out


def test_export_without_dialect_is_unchanged(cli, bare_ws: Workspace, monkeypatch, tmp_path: Path) -> None:
    d = _ws(bare_ws)
    approve_all(d, LIBRARY[:1])
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    out = tmp_path / "x.json"
    assert cli("library", "export", "--out", str(out), "--as", "max").code == 0
    [rec] = json.loads(out.read_text())
    assert "dialect" not in rec and rec["fields"]["subject"].startswith("Your {{ last_product")
    assert [e.entity_id for e in d.audit_log(action="library.export")] == ["json"]
