"""The campaign commands through ``copydesk.cli.main`` on a temporary workspace."""

from __future__ import annotations

import json

import pytest

from copydesk.services import Desk
from copydesk.workspace import Workspace


def summary_of(out: str) -> dict[str, int]:
    """The render summary table as {outcome: count}."""
    found: dict[str, int] = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) == 2 and cells[1].replace(",", "").isdigit():
            found[cells[0]] = int(cells[1].replace(",", ""))
    return found


@pytest.fixture
def ws(campaign_ws: Workspace) -> Workspace:
    return campaign_ws


def test_validate_lists_what_each_rule_can_send(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    r = cli("-w", str(ws.root), "campaign", "validate", "campaigns/spring-boots.yaml")
    assert r.code == 0, r
    assert "campaign spring-boots (email)" in r.out and "html, txt" in r.out
    assert "new-customers: brief boots-onboarding → V" in r.out


def test_validate_finds_campaign_by_name_and_reports_bad_files(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    assert cli("-w", str(ws.root), "campaign", "validate", "sms-restock").code == 0
    bad = ws.campaigns_dir / "bad.yaml"
    bad.write_text("id: bad\nchannel: email\ntemplate: email/default\nholdout: 2\n"
                   "fallback: {brief: spring-generic}\n", encoding="utf-8")
    r = cli("-w", str(ws.root), "campaign", "validate", str(bad))
    assert r.code == 1
    assert f"{bad}:4: field 'holdout'" in r.err and "Traceback" not in r.err


def test_render_explain_and_record(cli, ws: Workspace, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    out = ws.root / "messages.jsonl"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(out), "--explain")
    assert r.code == 0, r
    assert "rendered" in r.out and "suppressed: no-consent" in r.out
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and all(row["trace"] for row in rows)
    selected = [row for row in rows if row["decision"] == "selected"]
    assert selected and all(row["content_hash"] and row["rendered_html"] for row in selected)
    cid = selected[0]["contact_id"]

    r = cli("-w", str(ws.root), "explain", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--contact", cid)
    assert r.code == 0, r
    assert f"contact {cid}" in r.out and "send variant" in r.out and "subject:" in r.out

    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max")
    assert r.code == 0, r
    held = sum(row["decision"] == "holdout" for row in rows)
    assert f"recorded {len(selected) + held} new send(s)" in r.out
    r = cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max")
    assert "recorded 0 new send(s)" in r.out

    # a second send within the week reaches the cap of 2 for everyone who got one
    from datetime import UTC, datetime, timedelta

    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert cli("-w", str(ws.root), "sends", "record", str(out), "--as", "max",
               "--sent-at", yesterday).code == 0
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(ws.root / "again.csv"))
    assert r.code == 0, r
    counts = summary_of(r.out)
    assert counts["frequency-capped"] == len(selected)
    assert counts["rendered"] == 0


def test_history_file_feeds_the_frequency_cap(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    hist = ws.root / "sends.csv"
    now = datetime.now(UTC).isoformat()
    lines = ["contact_id,campaign_id,channel,sent_at"]
    lines += [f"C{1001 + i},older,email,{now}" for i in range(40)] * 2
    hist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = ws.root / "m.csv"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(out), "--history", str(hist))
    assert r.code == 0, r
    counts = summary_of(r.out)
    assert counts["rendered"] == 0 and counts["frequency-capped"] > 0


def test_bad_history_row_is_an_error_naming_the_line(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    hist = ws.root / "sends.csv"
    hist.write_text("contact_id,campaign_id,channel,sent_at\nC1,a,email,2026-01-01T00:00:00\n"
                    "C2,a,fax,2026-01-01T00:00:00\n", encoding="utf-8")
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(ws.root / "m.csv"),
            "--history", str(hist))
    assert r.code == 1 and f"{hist}:3: field 'channel'" in r.err


def test_explain_unknown_contact(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    r = cli("-w", str(ws.root), "explain", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--contact", "NOPE")
    assert r.code == 1 and "contact NOPE is not in" in r.err


def test_render_rejects_unknown_output_type(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--out", str(ws.root / "m.xlsx"))
    assert r.code == 2 and ".xlsx" in r.err
