"""Issue 13, "Found": each problem an analyst found, reproduced through the CLI
(``copydesk.cli.main`` in-process), so the fix is proven where users meet it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from copydesk.workspace import Workspace

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
