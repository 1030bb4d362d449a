"""Issue 13, "Found": each problem an analyst found, reproduced through the CLI
(``copydesk.cli.main`` in-process), so the fix is proven where users meet it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from copydesk.workspace import Workspace
from tests.measure.measure_fixtures import Arm, add_campaign

MESSAGE_COLUMNS = (
    "contact_id", "campaign_id", "channel", "lifecycle_stage", "decision", "reason", "rule_id",
    "variant_id", "revision", "content_hash", "campaign_sha256", "decided_at",
)


@pytest.fixture
def team_ws(bare_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The bare workspace with a team (``max`` is a marketer), used through the CLI."""
    from copydesk.services.desk import Desk
    from tests.conftest import add_team

    monkeypatch.setenv("COPYDESK_WORKSPACE", str(bare_ws.root))
    desk = Desk.open(bare_ws)
    add_team(desk)
    desk.close()
    return bare_ws


def write_messages(path: Path, rows: list[dict[str, str]]) -> Path:
    """A messages file as ``copydesk render`` writes it (the columns it always has)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MESSAGE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.get(name, "") for name in MESSAGE_COLUMNS})
    return path


def message(contact: str, stage: str, decision: str, variant: str = "") -> dict[str, str]:
    return {
        "contact_id": contact, "campaign_id": "spring-boots", "channel": "email", "lifecycle_stage": stage,
        "decision": decision, "reason": "holdout" if decision == "holdout" else "r1", "rule_id": "r1",
        "variant_id": variant, "content_hash": f"h-{variant}" if variant else "",
        "decided_at": "2025-03-01T08:00:00+00:00",
    }


# -- stage rows ------------------------------------------------------------------------


def test_sends_record_from_the_cli_stores_the_lifecycle_stage(cli, team_ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [message(f"a{i}", "active", "selected", "V1") for i in range(6)]
    rows += [message(f"d{i}", "dormant", "selected", "V1") for i in range(3)]
    rows += [message("h1", "active", "holdout"), message("h2", "dormant", "holdout")]
    rows.append(message("s1", "active", "suppressed"))
    messages = write_messages(tmp_path / "messages.csv", rows)
    result = cli("sends", "record", str(messages), "--as", "max")
    assert result.code == 0, result
    assert "recorded 11 new send(s)" in result.out
    import sqlite_utils

    db = sqlite_utils.Database(team_ws.db_path)
    stages = dict(db.execute("SELECT contact_id, stage FROM sends").fetchall())
    db.close()
    assert stages["a0"] == "active" and stages["d2"] == "dormant" and stages["h2"] == "dormant"
    assert None not in stages.values()
    report = json.loads(cli("report", "spring-boots", "--format", "json").out)
    by_stage = {g["key"]: g for g in report["groups"] if g["scope"] == "stage"}
    assert (by_stage["active"]["recipients"], by_stage["active"]["holdout_recipients"]) == (6, 1)
    assert (by_stage["dormant"]["recipients"], by_stage["dormant"]["holdout_recipients"]) == (3, 1)


# -- import: rows that cannot be true -------------------------------------------------


@pytest.fixture
def library(team_ws: Workspace) -> Workspace:
    """A campaign sent on 2025-03-01 08:00 UTC: 400 holdout and 400 v1 recipients."""
    from copydesk.services.desk import Desk

    desk = Desk.open(team_ws)
    add_campaign(desk.db, "spring-boots", [Arm("holdout", 400, converted=8), Arm("v1", 400, converted=40)])
    desk.close()
    return team_ws


def test_import_rejects_what_cannot_be_true_and_keeps_the_rest(  # type: ignore[no-untyped-def]
    cli, library: Workspace, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    results = tmp_path / "results.csv"
    results.write_text(
        "contact_id,campaign_id,event,at,value\n"
        "v1-x-5,spring-boots,converted,2025-03-05T10:00:00Z,25\n"  # 2 good
        "v1-x-6,spring-boots,converted,2025-02-27T10:00:00Z,25\n"  # 3 before the send
        f"v1-x-7,spring-boots,converted,{future}T10:00:00Z,25\n"  # 4 in the future
        "v1-x-8,spring-boots,converted,2025-03-05T10:00:00Z,-30\n"  # 5 negative revenue
        "v1-x-9,spring-boots,converted,2025-03-05T10:00:00Z,1e12\n"  # 6 absurd revenue
        "holdout-x-20,spring-boots,opened,2025-03-02T10:00:00Z,\n"  # 7 holdout was sent nothing
        "holdout-x-21,spring-boots,clicked,2025-03-02T10:00:00Z,\n"  # 8 ditto
        "holdout-x-22,spring-boots,delivered,2025-03-02T10:00:00Z,\n"  # 9 ditto
        "holdout-x-23,spring-boots,converted,2025-03-02T10:00:00Z,19.5\n"  # 10 good: the baseline
        "holdout-x-24,spring-boots,unsubscribed,2025-03-02T10:00:00Z,\n"  # 11 good
        "v1-x-10,spring-boots,opened,2025-03-01T08:00:00Z,\n",  # 12 good: at the send itself
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    result = cli("outcomes", "import", str(results), "--as", "max", "--rejects", str(rejects))
    assert result.code == 1
    assert "11 rows read, 4 imported, 0 already present, 7 rejected" in result.out
    assert "Traceback" not in result.err
    with rejects.open(newline="", encoding="utf-8") as handle:
        found = {(row["line"], row["field"]): row for row in csv.DictReader(handle)}
    assert set(found) == {("3", "at"), ("4", "at"), ("5", "value"), ("6", "value"),
                          ("7", "event"), ("8", "event"), ("9", "event")}
    assert all(row["source"] == str(results) for row in found.values())
    assert "before this contact's send record" in found[("3", "at")]["reason"]
    assert "in the future" in found[("4", "at")]["reason"]
    assert "negative revenue" in found[("5", "value")]["reason"]
    assert "--max-value" in found[("6", "value")]["reason"]
    assert "holdout contact, who was sent nothing" in found[("7", "event")]["reason"]
    # the same row with a limit that allows it is imported
    big = tmp_path / "big.csv"
    big.write_text("contact_id,campaign_id,event,at,value\nv1-x-9,spring-boots,converted,2025-03-05T10:00:00Z,"
                   "2500000\n", encoding="utf-8")
    assert cli("outcomes", "import", str(big), "--as", "max").code == 1
    assert cli("outcomes", "import", str(big), "--as", "max", "--max-value", "5000000").code == 0


def test_rejected_rows_are_listed_with_file_line_and_field(  # type: ignore[no-untyped-def]
    cli, library: Workspace, tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    results.write_text("contact_id,campaign_id,event,at,value\n"
                       "holdout-x-3,spring-boots,opened,2025-03-02T10:00:00Z,\n", encoding="utf-8")
    result = cli("outcomes", "import", str(results), "--as", "max")
    assert result.code == 1
    assert "results.csv:2: field 'event': 'opened' for a holdout contact" in result.err
