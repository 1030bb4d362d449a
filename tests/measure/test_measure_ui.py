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
