"""Issue 13, "Found": each problem an analyst found, reproduced through the CLI
(``copydesk.cli.main`` in-process), so the fix is proven where users meet it."""

from __future__ import annotations

import csv
import io
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


# -- the report's trust checks, through `copydesk report` ------------------------------


def campaign_file(
    ws: Workspace, *, holdout: float = 0.1, ends_at: str | None = None, metric: str = "converted"
) -> None:
    """``campaigns/spring-boots.yaml``: the sample file with this holdout, metric and planned end."""
    from tests.conftest import REPO

    ws.campaigns_dir.mkdir(exist_ok=True)
    text = (REPO / "campaigns" / "spring-boots.yaml").read_text(encoding="utf-8")
    text = text.replace("holdout: 0.05 ", f"holdout: {holdout} ").replace("metric: converted", f"metric: {metric}")
    if ends_at is not None:
        text += f"ends_at: {ends_at}\n"
    (ws.campaigns_dir / "spring-boots.yaml").write_text(text, encoding="utf-8")


def sent(ws: Workspace, arms: list[Arm]) -> None:
    from copydesk.services.desk import Desk

    desk = Desk.open(ws)
    add_campaign(desk.db, "spring-boots", arms)
    desk.close()


def report(cli, *args: str) -> tuple[str, dict, list[dict[str, str]]]:  # type: ignore[no-untyped-def,type-arg]
    """The report as text, JSON and CSV rows."""
    text = cli("report", "spring-boots", *args)
    assert text.code == 0, text
    data = json.loads(cli("report", "spring-boots", "--format", "json", *args).out)
    rows = list(csv.DictReader(io.StringIO(cli("report", "spring-boots", "--format", "csv", *args).out)))
    return text.out, data, rows


def test_a_half_sized_holdout_is_a_sample_ratio_mismatch_and_withholds_verdicts(  # type: ignore[no-untyped-def]
    cli, team_ws: Workspace
) -> None:
    campaign_file(team_ws, holdout=0.1)
    # 96 of 2,000 held out (4.8%) where the file says 10%; V1 clearly ahead of the holdout
    sent(team_ws, [Arm("holdout", 96, converted=2), Arm("V1", 952, converted=95, rule="new-customers"),
                   Arm("V2", 952, converted=90, rule="new-customers")])
    text, data, rows = report(cli)
    assert "SAMPLE RATIO MISMATCH: holdout share" in text
    assert "p = 9.1e-15: MISMATCH" in text
    assert "verdicts are withheld" in text
    assert " wins on " not in text and " beats " not in text
    check = next(c for c in data["checks"]["srm"] if c["check"] == "holdout share")
    assert check["mismatch"] and check["p_value"] == pytest.approx(9.066873946556938e-15, rel=1e-6)
    assert data["checks"]["mismatch"] is True
    assert {g["verdict"] for g in data["groups"] if g["lift"]} == {"withheld"}
    assert all(p["verdict"] != "beats" for p in data["pairs"])
    srm = next(r for r in rows if r["scope"] == "srm" and r["key"] == "holdout share")
    assert srm["verdict"] == "mismatch" and float(srm["srm_p_value"]) < 1e-13
    assert all(r["sample_ratio_mismatch"] == "1" for r in rows)
    assert next(r for r in rows if r["key"] == "V1")["verdict"] == "withheld"


def test_a_healthy_ratio_passes_and_a_broken_variant_split_is_caught(  # type: ignore[no-untyped-def]
    cli, team_ws: Workspace
) -> None:
    campaign_file(team_ws, holdout=0.1)
    # holdout 200 of 2,000 as configured; the rule splits evenly (brief) but V2 got 40%
    sent(team_ws, [Arm("holdout", 200, converted=10), Arm("V1", 1080, converted=60, rule="new-customers"),
                   Arm("V2", 720, converted=40, rule="new-customers")])
    text, data, _ = report(cli)
    by_check = {c["check"]: c for c in data["checks"]["srm"]}
    assert not by_check["holdout share"]["mismatch"] and by_check["holdout share"]["p_value"] == pytest.approx(1.0)
    split = by_check["split of rule new-customers"]
    assert split["mismatch"] and split["observed"] == {"V1": 1080, "V2": 720}
    assert "SAMPLE RATIO MISMATCH: split of rule new-customers" in text


def test_no_verdict_on_tiny_samples(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    # the "V1 wins ... n = 4 vs 7 holdout": 4 of 4 converted against 0 of 7
    sent(team_ws, [Arm("holdout", 7), Arm("V1", 4, converted=4)])
    text, data, rows = report(cli)
    assert " wins on " not in text
    v1 = next(g for g in data["groups"] if g["key"] == "V1")
    assert v1["verdict"] == "not enough data"
    assert "below the minimum for a verdict" in v1["verdict_reason"]
    assert "at least 100 recipients in each group" in data["checks"]["minimum"]["rule"]
    assert "Minimum for a verdict: a verdict needs at least 100 recipients" in text
    assert "below the minimum" in next(r for r in rows if r["key"] == "V1")["verdict_reason"]


def test_degenerate_intervals_say_na_with_the_reason(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    # everyone converts in both arms: no "+0% [+0%, +0%]"
    sent(team_ws, [Arm("holdout", 150, converted=150), Arm("V1", 150, converted=150)])
    text, data, rows = report(cli)
    assert "+0% [+0%, +0%]" not in text
    v1 = next(g for g in data["groups"] if g["key"] == "V1")
    assert v1["relative_lift"] is None
    assert "every recipient of both groups converted" in v1["relative_lift_note"]
    assert "n/a: every recipient of both groups converted" in text
    assert next(r for r in rows if r["key"] == "V1")["relative_lift"] == ""


def test_an_empty_holdout_has_no_rate_interval(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    sent(team_ws, [Arm("V1", 150, converted=15)])
    text, data, rows = report(cli)
    assert "[0.00%, 100.00%]" not in text
    assert "holdout: 0 recipients; converted n/a: no recipients" in text
    assert data["holdout"]["rates"]["converted"]["rate"] is None
    holdout = next(r for r in rows if r["scope"] == "holdout")
    assert (holdout["converted_rate"], holdout["converted_rate_lower"], holdout["converted_rate_upper"]) == ("", "", "")


def test_variants_are_compared_head_to_head_with_holm(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    sent(team_ws, [
        Arm("holdout", 2000, converted=40),
        Arm("V1", 20000, converted=420, rule="new-customers"),
        Arm("V2", 20000, converted=520, rule="new-customers"),
        Arm("V3", 20000, converted=430, rule="new-customers"),
    ])
    text, data, rows = report(cli)
    pairs = {(p["first"], p["second"]): p for p in data["pairs"]}
    v2 = pairs[("V2", "V1")]
    assert v2["verdict"] == "beats" and v2["rule"] == "new-customers"
    assert v2["difference"]["estimate"] == pytest.approx(0.005)
    assert v2["p_holm"] == pytest.approx(min(1.0, 3 * v2["p_value"]))  # the smallest of 3 Holm-adjusted p-values
    assert pairs[("V3", "V1")]["verdict"] == "not enough data"
    assert data["checks"]["tests"]["head_to_head"] == 3
    assert "new-customers: V2 beats V1 on converted: +0.50 pts" in text
    assert "Holm-adjusted p" in text
    row = next(r for r in rows if r["scope"] == "head-to-head" and r["key"] == "V2 vs V1")
    assert float(row["lift_p_holm"]) == pytest.approx(v2["p_holm"])


def test_the_multiple_comparison_note_counts_distinct_tests_including_harm(  # type: ignore[no-untyped-def]
    cli, team_ws: Workspace
) -> None:
    # one variant, one rule, one stage: the campaign, variant, rule and stage rows are one test
    sent(team_ws, [Arm("holdout", 500, converted=10, stage="active"),
                   Arm("V1", 500, converted=30, rule="new-customers", stage="active")])
    text, data, _ = report(cli)
    assert len([g for g in data["groups"] if g["lift"]]) == 4
    assert data["checks"]["tests"] == {"primary": 1, "harm": 2, "head_to_head": 0}
    assert "makes 3 distinct test(s) against the holdout (1 on the primary metric, 2 harm tests" in text


def test_csv_reconciles(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    from copydesk.services.desk import Desk

    sent(team_ws, [Arm("holdout", 300, converted=12, value=20.0), Arm("V1", 300, converted=30, value=25.0)])
    desk = Desk.open(team_ws)  # a repeat purchase: 2 events, still 1 converted recipient
    desk.db.table("outcomes").insert({"contact_id": "V1-x-0", "campaign_id": "spring-boots", "event": "converted",
                                      "at": "2025-03-06T12:00:00+00:00", "value": 25.0, "source": "t",
                                      "imported_at": "2025-03-09T00:00:00+00:00"})
    desk.close()
    _, _, rows = report(cli, "--metric", "revenue")
    header = list(rows[0])
    v1 = next(r for r in rows if r["key"] == "V1")
    assert v1["converted_recipients"] == "30" and v1["converted_events_total"] == "31"
    assert float(v1["converted_rate"]) == pytest.approx(int(v1["converted_recipients"]) / int(v1["recipients"]))
    assert header.index("converted_rate") == header.index("converted_recipients") + 1
    assert header.index("converted_events_total") > header.index("verdict")  # events apart, at the end
    assert float(v1["converted_rate_lower"]) < float(v1["converted_rate"]) < float(v1["converted_rate_upper"])
    assert float(v1["lift_df"]) > 1 and "Welch" in v1["lift_method"]  # df as its own column
    assert float(v1["revenue_lift_df"]) == pytest.approx(float(v1["lift_df"]))
    assert float(v1["mde"]) > 0


def test_an_early_look_is_flagged_in_every_format(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from copydesk import clock

    campaign_file(team_ws, holdout=0.05, ends_at="2025-03-15")
    sent(team_ws, [Arm("holdout", 100, converted=5), Arm("V1", 1900, converted=95, rule="new-customers")])
    clock.freeze(datetime(2025, 3, 8, 12, tzinfo=UTC))
    text, data, rows = report(cli)
    assert "EARLY LOOK: read 2025-03-08 12:00 UTC, before the planned end 2025-03-15 00:00 UTC (7 day(s) left)" in text
    assert data["checks"]["peeking"]["early"] is True and data["warnings"]
    assert rows[0]["early_look"] == "1" and rows[0]["ends_at"].startswith("2025-03-15")
    clock.freeze(datetime(2025, 3, 16, tzinfo=UTC))
    text, data, rows = report(cli)
    assert "EARLY LOOK" not in text and "read after the planned end" in text
    assert rows[0]["early_look"] == "0"


def test_winsorize_caps_revenue_with_the_raw_figure_beside(cli, team_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from copydesk.services.desk import Desk

    sent(team_ws, [Arm("holdout", 300, converted=150, value=20.0), Arm("V1", 300, converted=150, value=20.0)])
    desk = Desk.open(team_ws)  # one huge order, below --max-value so the import kept it
    desk.db.execute("UPDATE outcomes SET value = 900000 WHERE contact_id = 'V1-x-0'")
    desk.db.conn.commit()
    desk.close()
    _, raw, _ = report(cli, "--metric", "revenue")
    text, data, rows = report(cli, "--metric", "revenue", "--winsorize", "99")
    raw_v1 = next(g for g in raw["groups"] if g["key"] == "V1")
    assert raw_v1["verdict"] == "not enough data"
    assert raw_v1["revenue_per_recipient"] == pytest.approx((900000 + 149 * 20) / 300)
    capping = data["checks"]["winsorizing"]
    assert capping["cap"] == pytest.approx(float(np.percentile([20.0] * 299 + [900000.0], 99)))
    assert (capping["cap"], capping["capped"], capping["percentile"]) == (pytest.approx(20.0), 1, 99)
    v1 = next(g for g in data["groups"] if g["key"] == "V1")
    assert v1["revenue_per_recipient"] == pytest.approx(10.0)
    assert v1["revenue_per_recipient_raw"] == pytest.approx(raw_v1["revenue_per_recipient"])
    assert v1["revenue_lift"]["estimate"] == pytest.approx(0.0)
    assert v1["revenue_lift_raw"]["estimate"] == pytest.approx(raw_v1["revenue_lift"]["estimate"])
    assert "10.00 (raw 3009.93)" in text and "99th percentile" in text
    row = next(r for r in rows if r["key"] == "V1")
    assert float(row["revenue_per_recipient_raw"]) == pytest.approx(3009.93, abs=0.01)
    assert rows[0]["winsorize_percentile"] == "99.0" and float(rows[0]["winsorize_cap"]) == pytest.approx(20.0)
    bad = cli("report", "spring-boots", "--winsorize", "100")
    assert bad.code == 2 and "--winsorize takes a percentile" in bad.err
