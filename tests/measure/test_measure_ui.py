"""The Results view draws a report without raising."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    import sqlite_utils

    from copydesk.measure.report import campaign_report
    from copydesk.measure.tables import migrate_outcomes
    from copydesk.ui.results import results_view
    from tests.measure.measure_fixtures import Arm, add_campaign, create_sends

    db = sqlite_utils.Database(memory=True)
    create_sends(db)
    migrate_outcomes(db)
    add_campaign(
        db,
        "spring-boots",
        [
            Arm("holdout", 500, converted=10, unsubscribed=1),
            Arm("v-win", 500, converted=40, opened=200),
            Arm("v-harm", 500, converted=12, unsubscribed=25, opened=150),
        ],
    )
    results_view(campaign_report(db, "spring-boots"))


def test_results_view_draws_charts_and_flags() -> None:
    app = AppTest.from_function(_page, default_timeout=60)
    app.run()
    assert not app.exception
    assert any("flagged for review" in e.value for e in app.error)
    assert any("v-harm" in m.value for m in app.markdown)
    assert len(app.get("vega_lite_chart")) == 3  # lift, funnel, trend


def _broken_page() -> None:
    from datetime import UTC, datetime

    import sqlite_utils

    from copydesk.measure.design import Design, SplitPlan
    from copydesk.measure.report import campaign_report
    from copydesk.measure.tables import migrate_outcomes
    from copydesk.ui.results import results_view
    from tests.measure.measure_fixtures import Arm, add_campaign, create_sends

    db = sqlite_utils.Database(memory=True)
    create_sends(db)
    migrate_outcomes(db)
    add_campaign(db, "spring-boots", [Arm("holdout", 96, converted=2), Arm("V1", 952, converted=95, rule="r1"),
                                      Arm("V2", 952, converted=90, rule="r1")])
    design = Design("spring-boots", "campaigns/spring-boots.yaml", "converted", 0.1,
                    {"r1": SplitPlan("r1", "brief b")}, ends_at=datetime(2025, 3, 15, tzinfo=UTC))
    report = campaign_report(db, "spring-boots", design=design, now=datetime(2025, 3, 8, tzinfo=UTC))
    results_view(report)


def test_results_view_shows_the_trust_checks_first() -> None:
    app = AppTest.from_function(_broken_page, default_timeout=60)
    app.run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert any("Sample ratio mismatch" in e and "p = 9.1e-15" in e for e in errors)
    assert any("all verdicts are withheld" in e for e in errors)
    assert any("EARLY LOOK" in w.value for w in app.warning)
    assert any("Minimum for a verdict" in c.value for c in app.caption)
    assert len(app.table) == 1  # the head-to-head table
    assert any("verdict withheld" in m.value for m in app.markdown)


def _learning_page() -> None:
    import sqlite_utils

    from copydesk.measure.allocation import AllocationHistory, AllocationPoint
    from copydesk.measure.report import campaign_report
    from copydesk.measure.tables import migrate_outcomes
    from copydesk.ui.results import results_view
    from tests.measure.measure_fixtures import Arm, add_campaign, create_sends

    db = sqlite_utils.Database(memory=True)
    create_sends(db)
    migrate_outcomes(db)
    add_campaign(db, "spring-boots", [Arm("holdout", 500, converted=10), Arm("V1", 500, converted=20),
                                      Arm("V2", 500, converted=40)])
    points = [AllocationPoint(day=f"2026-03-0{d}", rule_id="r1", variant_id=v, weight=w, p_best=w, successes=s,
                              trials=t, sent=100, sent_share=w)
              for d, (v, w, s, t) in [(1, ("V1", 0.5, 0, 0)), (1, ("V2", 0.5, 0, 0)),
                                      (2, ("V1", 0.2, 4, 100)), (2, ("V2", 0.8, 9, 100))]]
    history = AllocationHistory(campaign_id="spring-boots", metric="converted", min_share={"r1": 0.1},
                                points=points, notes=["learns from outcomes imported before each day"])
    results_view(campaign_report(db, "spring-boots").model_copy(update={"allocation": history}))


def test_results_view_shows_allocation_over_time() -> None:
    app = AppTest.from_function(_learning_page, default_timeout=60)
    app.run()
    assert not app.exception
    assert any("Allocation that learns" in m.value for m in app.markdown)
    assert len(app.get("vega_lite_chart")) == 4  # lift, allocation, funnel, trend
