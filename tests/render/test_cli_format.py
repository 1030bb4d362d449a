"""``copydesk render --format PLATFORM``: a sending platform's bulk-import file."""

from __future__ import annotations

import csv
from pathlib import Path

from copydesk.workspace import Workspace
from tests.render.test_cli import summary_of
from tests.render.test_cli import ws as ws  # noqa: F401 (the fixture)


def _audience(ws: Workspace) -> str:
    return str(ws.audiences_dir / "sample-contacts.csv")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_braze_import_file_from_the_cli(cli, ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "braze.csv"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", _audience(ws),
            "--out", str(out), "--format", "braze")
    assert r.code == 0, r
    rows = _rows(out)
    assert rows and len(rows) == summary_of(r.out)["rendered"]
    assert list(rows[0])[:2] == ["external_id", "copydesk_subject"]
    assert all(row["copydesk_content_hash"] and row["external_id"].startswith("C") for row in rows)


def test_mailchimp_reads_email_from_the_audience(cli, ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "mc.csv"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", _audience(ws),
            "--out", str(out), "--format", "mailchimp", "--id-column", "Email Address=email")
    assert r.code == 0, r
    rows = _rows(out)
    assert rows and all("@" in row["Email Address"] for row in rows)


def test_format_refusals_are_one_line(cli, ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ["-w", str(ws.root), "render", "spring-boots", "--audience", _audience(ws)]
    cases = [
        (["--out", str(tmp_path / "x.jsonl"), "--format", "braze"], "give --out a .csv name"),
        (["--out", str(tmp_path / "x.csv"), "--format", "sendgrid"], "unknown render format 'sendgrid'"),
        (["--out", str(tmp_path / "x.csv"), "--format", "braze", "--explain"], "no place for --explain"),
        (["--out", str(tmp_path / "x.csv"), "--format", "braze", "--id-column", "nope"], "COLUMN=field"),
        (["--out", str(tmp_path / "x.csv"), "--format", "braze", "--engine", "spark"], "local engine only"),
    ]
    for extra, message in cases:
        r = cli(*base, *extra)
        assert r.code != 0 and message in r.err, (extra, r)
        assert "Traceback" not in r.err
