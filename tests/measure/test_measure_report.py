"""The report: verdicts a marketer reads, the harm flag, per-stage baselines, the
formats and the charts built from it."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlite_utils

from copydesk.errors import NotFoundError, UsageError
from copydesk.measure import charts
from copydesk.measure.formats import render
from copydesk.measure.report import CampaignReport, Scope, Verdict, campaign_report
from tests.measure.measure_fixtures import Arm, add_campaign


def row(report: CampaignReport, scope: Scope, key: str):  # type: ignore[no-untyped-def]
    return next(g for g in report.groups if g.scope is scope and g.key == key)


@pytest.fixture
def spring(db: sqlite_utils.Database) -> sqlite_utils.Database:
    add_campaign(
        db,
        "spring-boots",
        [
            Arm("holdout", 1000, converted=20, unsubscribed=2, stage="active", value=30.0),
            Arm("v-win", 1000, converted=60, unsubscribed=3, opened=300, stage="active", rule="r1", value=30.0),
            Arm("v-harm", 1000, converted=22, unsubscribed=30, opened=250, stage="active", rule="r1", value=30.0),
            Arm("v-lose", 1000, converted=4, unsubscribed=1, opened=250, stage="dormant", rule="r2", value=30.0),
        ],
    )
    return db


def test_clear_winner_loser_and_not_enough_data(spring: sqlite_utils.Database) -> None:
    report = campaign_report(spring, "spring-boots")
    win = row(report, Scope.VARIANT, "v-win")
    assert win.verdict is Verdict.WINS
    assert win.lift is not None
    assert win.lift.estimate == pytest.approx(0.04)
    assert (win.lift.n, win.lift.n_holdout) == (1000, 1000)
    assert win.lift.lower > 0
    assert win.relative_lift is not None
    assert win.relative_lift.estimate == pytest.approx(2.0)  # 6% vs 2%: +200%
    assert not win.harm and not win.flagged
    assert row(report, Scope.VARIANT, "v-lose").verdict is Verdict.LOSES
    assert row(report, Scope.VARIANT, "v-lose").flagged
    assert row(report, Scope.VARIANT, "v-harm").verdict is Verdict.NOT_ENOUGH_DATA


def test_harm_flag_when_unsubscribes_are_significantly_higher(
    spring: sqlite_utils.Database,
) -> None:
    report = campaign_report(spring, "spring-boots")
    harm = row(report, Scope.VARIANT, "v-harm")
    assert harm.harm and harm.flagged
    assert harm.rates["unsubscribed"].rate == pytest.approx(0.03)
    assert harm.harm_lifts["unsubscribed"].lower > 0
    assert "unsubscribed" in harm.harm_reasons[0]
    # the rule that picked it wins on conversions, and is still flagged for harm
    rule = row(report, Scope.RULE, "r1")
    assert rule.verdict is Verdict.WINS and rule.harm and rule.flagged
    assert {(g.scope, g.key) for g in report.flagged()} >= {
        (Scope.VARIANT, "v-harm"),
        (Scope.VARIANT, "v-lose"),
        (Scope.RULE, "r1"),
    }


def test_stage_rows_compare_with_the_holdout_of_the_same_stage(
    spring: sqlite_utils.Database,
) -> None:
    report = campaign_report(spring, "spring-boots")
    active = row(report, Scope.STAGE, "active")
    assert (active.recipients, active.holdout_recipients) == (2000, 1000)
    dormant = row(report, Scope.STAGE, "dormant")
    assert dormant.holdout_recipients == 0
    assert dormant.lift is None
    assert dormant.verdict is Verdict.NOT_ENOUGH_DATA
    assert "no holdout recipients" in dormant.summary


def test_small_campaign_says_not_enough_data(db: sqlite_utils.Database) -> None:
    add_campaign(db, "tiny", [Arm("holdout", 30, converted=1), Arm("v1", 30, converted=4)])
    report = campaign_report(db, "tiny")
    variant = row(report, Scope.VARIANT, "v1")
    assert variant.verdict is Verdict.NOT_ENOUGH_DATA
    assert variant.lift is not None and variant.lift.lower < 0 < variant.lift.upper
    assert "not enough data" in variant.summary and "n = 30 vs 30" in variant.summary


def test_no_outcomes_yet_is_not_enough_data(db: sqlite_utils.Database) -> None:
    add_campaign(db, "quiet", [Arm("holdout", 100, delivered=0), Arm("v1", 100, delivered=0)])
    report = campaign_report(db, "quiet")
    assert all(g.verdict is Verdict.NOT_ENOUGH_DATA for g in report.groups)
    assert report.trend == []


def test_revenue_metric_uses_welch(spring: sqlite_utils.Database) -> None:
    report = campaign_report(spring, "spring-boots", metric="revenue")
    win = row(report, Scope.VARIANT, "v-win")
    assert win.revenue_per_recipient == pytest.approx(60 * 30 / 1000)
    assert win.lift is not None and win.lift.method.startswith("Welch")
    assert win.lift.estimate == pytest.approx(1.8 - 0.6)
    assert win.verdict is Verdict.WINS
    assert report.holdout.revenue_per_recipient == pytest.approx(0.6)


def test_opens_cannot_pick_a_winner(spring: sqlite_utils.Database) -> None:
    with pytest.raises(UsageError, match="holdout contacts got no message"):
        campaign_report(spring, "spring-boots", metric="opened")


def test_unknown_campaign(spring: sqlite_utils.Database) -> None:
    with pytest.raises(NotFoundError, match="no send records for campaign 'nope'"):
        campaign_report(spring, "nope")


def test_first_send_decides_the_arm(db: sqlite_utils.Database) -> None:
    sends: list[dict[str, object]] = [
        {
            "contact_id": "c1",
            "campaign_id": "k",
            "channel": "email",
            "variant_id": None,
            "holdout": 1,
            "sent_at": "2025-03-01T08:00:00+00:00",
        },
        {
            "contact_id": "c1",
            "campaign_id": "k",
            "channel": "email",
            "variant_id": "v1",
            "holdout": 0,
            "sent_at": "2025-03-02T08:00:00+00:00",
        },
    ]
    db.table("sends").insert_all(sends)
    report = campaign_report(db, "k")
    assert report.holdout.recipients == 1
    assert report.groups[0].recipients == 0


def test_trend_is_cumulative_per_arm(spring: sqlite_utils.Database) -> None:
    report = campaign_report(spring, "spring-boots")
    win = [p for p in report.trend if p.arm == "v-win"]
    assert [p.day for p in win] == ["2025-03-02", "2025-03-03", "2025-03-04"]
    assert win[-1].cumulative == 60
    assert win[-1].cumulative_per_recipient == pytest.approx(0.06)
    assert [p.cumulative for p in win] == sorted(p.cumulative for p in win)


def test_text_json_and_csv(spring: sqlite_utils.Database) -> None:
    report = campaign_report(spring, "spring-boots")
    text = render(report, "text")
    assert "primary metric: converted" in text
    assert "variant v-win wins on converted: +4.00 pts" in text
    assert "not enough data + HARM" in text
    assert "Flagged for review" in text
    data = json.loads(render(report, "json"))
    win = next(g for g in data["groups"] if g["key"] == "v-win")
    assert win["lift"]["n"] == 1000 and win["lift"]["n_holdout"] == 1000
    assert win["verdict"] == "wins"
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len([r for r in rows if r["scope"] not in ("head-to-head", "srm")]) == 1 + len(report.groups)
    assert rows[0]["scope"] == "holdout"
    harm = next(r for r in rows if r["key"] == "v-harm")
    assert (harm["harm"], harm["verdict"], harm["unsubscribed_rate"]) == ("1", "not enough data", "0.03")
    with pytest.raises(UsageError):
        render(report, "xml")


def test_charts_carry_the_intervals(spring: sqlite_utils.Database) -> None:
    report = campaign_report(spring, "spring-boots")
    lift = {r["row"]: r for r in charts.lift_rows(report)}
    assert set(lift) == {"campaign: spring-boots", "variant: v-win", "variant: v-harm", "variant: v-lose"}
    assert lift["variant: v-win"]["lift"] == pytest.approx(4.0)  # percentage points
    assert lift["variant: v-win"]["lower"] > 0
    assert lift["variant: v-harm"]["harm"] == "harm"
    spec = charts.lift_chart(report).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert "errorbar" in marks and "rule" in marks
    funnel = charts.funnel_rows(report)
    assert len(funnel) == 4 * 4  # holdout + 3 variants, 4 funnel steps
    assert {r["event"] for r in funnel} == {"delivered", "opened", "clicked", "converted"}
    assert charts.funnel_chart(report).to_dict()["layer"]
    trend = charts.trend_chart(report).to_dict()
    assert trend["encoding"]["y"]["field"] == "cumulative_per_recipient"
