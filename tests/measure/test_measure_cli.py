"""``copydesk outcomes import`` and ``copydesk report`` through ``copydesk.cli.main``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from copydesk.workspace import Workspace
from tests.measure.measure_fixtures import Arm, add_campaign

RESULTS = """contact_id,campaign_id,event,at,value
v1-x-0,spring-boots,converted,2025-03-05T10:00:00Z,25
holdout-x-0,spring-boots,unsubscribed,2025-03-05T10:00:00Z,
"""


@pytest.fixture
def library(bare_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace library with a team and a campaign's sends and outcomes."""
    from copydesk.services.desk import Desk
    from tests.conftest import add_team

    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    desk = Desk.open(bare_ws)
    add_team(desk)
    add_campaign(desk.db, "spring-boots", [Arm("holdout", 400, converted=8), Arm("v1", 400, converted=40)])
    desk.close()
    return bare_ws.db_path


def test_import_then_import_again(cli, library: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.csv"
    results.write_text(RESULTS, encoding="utf-8")
    first = cli("outcomes", "import", str(results), "--as", "max")
    assert first.code == 0, first
    assert "2 rows read, 2 imported, 0 already present, 0 rejected" in first.out
    second = cli("outcomes", "import", str(results), "--as", "max")
    assert second.code == 0
    assert "0 imported, 2 already present" in second.out


def test_import_with_bad_rows_keeps_good_rows_and_writes_rejects(  # type: ignore[no-untyped-def]
    cli, library: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    results.write_text(
        RESULTS + "ghost,spring-boots,opened,2025-03-05,\nv1-x-1,spring-boots,opened,yesterday,\n", encoding="utf-8"
    )
    rejects = tmp_path / "rejects.csv"
    result = cli("outcomes", "import", str(results), "--as", "max", "--rejects", str(rejects))
    assert result.code == 1
    assert "2 imported" in result.out
    assert result.err.count("\n") == 1  # one line, no traceback
    assert "2 row(s) rejected" in result.err and str(rejects) in result.err
    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["field"]) for r in rows] == [("4", "contact_id"), ("5", "at")]


def test_import_without_rejects_file_lists_them(cli, library: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.csv"
    results.write_text(RESULTS + "v1-x-1,spring-boots,bought,2025-03-05,\n", encoding="utf-8")
    result = cli("outcomes", "import", str(results), "--as", "max")
    assert result.code == 1
    assert "results.csv:4: field 'event'" in result.err


def test_import_bad_header_is_one_line_error(cli, library: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.csv"
    results.write_text("contact,campaign_id,event,at\n", encoding="utf-8")
    result = cli("outcomes", "import", str(results), "--as", "max")
    assert result.code == 1
    assert "results.csv:1: field 'contact': unknown column" in result.err
    assert "Traceback" not in result.err


def test_report_formats(cli, library: Path) -> None:  # type: ignore[no-untyped-def]
    text = cli("report", "spring-boots")
    assert text.code == 0, text
    assert "variant v1 wins on converted: +8.00 pts" in text.out
    data = json.loads(cli("report", "spring-boots", "--format", "json").out)
    assert data["metric"] == "converted" and data["holdout"]["recipients"] == 400
    table = cli("report", "spring-boots", "--format", "csv").out
    assert table.splitlines()[0].startswith("campaign_id,metric,scope,key")


def test_report_refuses_opens_and_unknown_things(cli, library: Path) -> None:  # type: ignore[no-untyped-def]
    opened = cli("report", "spring-boots", "--metric", "opened")
    assert opened.code == 2
    assert "holdout contacts got no message" in opened.err
    assert cli("report", "nope").code == 1
    bad = cli("report", "spring-boots", "--format", "xml")
    assert bad.code == 2 and "unknown format 'xml'" in bad.err


def test_through_the_workspace_library(cli, bare_ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No patching: the commands open the workspace's library through the service layer."""
    from copydesk.services.desk import Desk
    from tests.conftest import add_team

    desk = Desk.open(bare_ws)
    add_team(desk)
    add_campaign(desk.db, "spring-boots", [Arm("holdout", 50), Arm("v1", 50)])
    desk.close()
    results = tmp_path / "results.csv"
    results.write_text(RESULTS, encoding="utf-8")
    ws = str(bare_ws.root)
    assert cli("--workspace", ws, "outcomes", "import", str(results), "--as", "max").code == 0
    report = cli("--workspace", ws, "report", "spring-boots")
    assert report.code == 0, report
    assert "variant v1: not enough data" in report.out


def test_import_needs_a_marketer_and_is_audited(cli, library: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.csv"
    results.write_text(RESULTS, encoding="utf-8")
    refused = cli("outcomes", "import", str(results), "--as", "ana")
    assert refused.code == 1 and "may not import outcomes" in refused.err
    assert cli("outcomes", "import", str(results), "--as", "max").code == 0
    log = cli("audit", "log", "--action", "outcomes.import")
    assert "outcomes.import" in log.out and '"imported": 2' in log.out


def test_report_uses_the_campaign_files_metric(cli, library: Path, bare_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import REPO

    bare_ws.campaigns_dir.mkdir()
    text = (REPO / "campaigns" / "spring-boots.yaml").read_text(encoding="utf-8")
    (bare_ws.campaigns_dir / "spring-boots.yaml").write_text(
        text.replace("metric: converted", "metric: revenue"), encoding="utf-8"
    )
    result = cli("report", "spring-boots", "--format", "json")
    assert result.code == 2 and "no converted outcomes with a value" in result.err  # judged on revenue
    data = json.loads(cli("report", "spring-boots", "--format", "json", "--metric", "converted").out)
    assert data["metric"] == "converted"
