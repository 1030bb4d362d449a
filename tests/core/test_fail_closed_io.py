"""Per-file problems are one-line errors, and an audit event is written only for what
actually happened."""

from __future__ import annotations

from pathlib import Path

from copydesk.services import Desk
from copydesk.workspace import Workspace
from tests.conftest import open_team_desk


def _approved(desk: Desk) -> str:
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": "Walk on"}, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben")
    return v.id


def test_export_to_a_missing_folder_is_an_error_and_no_export_is_recorded(cli, bare_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    desk = open_team_desk(bare_ws)
    _approved(desk)
    before = len(desk.audit_log(action="library.export"))
    target = bare_ws.root / "no" / "such" / "folder" / "out.csv"
    r = cli("-w", str(bare_ws.root), "library", "export", "--format", "csv", "--out", str(target), "--as", "max")
    assert r.code == 1, r
    assert str(target) in r.err and "Traceback" not in r.err
    assert len(desk.audit_log(action="library.export")) == before
    ok = bare_ws.root / "out.csv"
    r = cli("-w", str(bare_ws.root), "library", "export", "--format", "csv", "--out", str(ok), "--as", "max")
    assert r.code == 0, r
    assert ok.read_text(encoding="utf-8").count("\n") == 2
    assert len(desk.audit_log(action="library.export")) == before + 1
    assert not list(bare_ws.root.glob(".*.part"))


def test_a_corrupt_library_file_is_a_one_line_error(cli, bare_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    bare_ws.db_path.write_bytes(b"this is not sqlite" * 100)
    r = cli("-w", str(bare_ws.root), "library", "list")
    assert r.code == 1, r
    assert "is not a readable copydesk library" in r.err and "Traceback" not in r.err
    assert bare_ws.db_path.read_bytes() == b"this is not sqlite" * 100


def test_a_library_path_that_is_a_folder_is_a_one_line_error(cli, bare_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    Path(bare_ws.db_path).mkdir(parents=True)
    r = cli("-w", str(bare_ws.root), "library", "list")
    assert r.code == 1 and "Traceback" not in r.err, r
