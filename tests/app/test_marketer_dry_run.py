"""Dry run: counters that add up to the audience, and a chart with one colour per outcome."""

from __future__ import annotations

from collections import Counter

from copydesk.render.pipeline import Summary
from copydesk.services import Desk
from copydesk.ui import campaign_tools as ct
from tests.app.conftest import approved, open_page


def _summary() -> Summary:
    return Summary(total=40, rendered=5, held_out=0, suppressed=Counter({"no-consent": 14}), capped=0,
                   no_variant=21, rejected=0, variants=Counter({"V1": 5}))


def test_counts_cover_every_contact() -> None:
    counts = dict(ct.outcome_counts(_summary()))
    assert counts["no eligible variant"] == 21
    assert sum(counts.values()) == 40
    assert ct.counts_sentence(_summary()) == (
        "rendered 5 + held out 0 + suppressed 14 + frequency-capped 0 + no eligible variant 21 + rejected 0"
        " = 40 contacts")


def test_counts_that_do_not_add_up_are_called_out() -> None:
    s = _summary()
    s.total = 41
    assert "add up to 40" in ct.counts_sentence(s)


def test_chart_has_a_colour_per_outcome_full_labels_and_a_legend() -> None:
    spec = ct.outcome_chart(_summary()).to_dict()  # type: ignore[union-attr]
    colour = spec["encoding"]["color"]
    assert colour["scale"]["domain"] == [label for label, _ in ct.OUTCOMES]
    assert len(set(colour["scale"]["range"])) == len(ct.OUTCOMES)
    assert colour["legend"]["title"] == "outcome"
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0
    assert spec["encoding"]["y"]["sort"][:1] == ["variant V1"]  # funnel order: rendered first
    # a band per row: a fixed pixel height was squashed by the page (seen in the browser walk)
    assert spec["height"] == {"step": 32}
    assert ct.outcome_chart(Summary()) is None


def test_dry_run_counters_add_up_on_the_page(stocked_desk: Desk) -> None:
    approved(stocked_desk, author="ana", reviewer="bea")
    at = open_page("max", "campaigns")
    at.selectbox(key="camp_file").select("spring-boots.yaml").run()
    audience = (stocked_desk.workspace.audiences_dir / "sample-contacts.csv").read_bytes()  # type: ignore[union-attr]
    at.file_uploader(key="camp_upload").upload("contacts.csv", audience, "text/csv")
    at.run()
    at.button(key="camp_dry_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: int(m.value.replace(",", "")) for m in at.metric}
    parts = [label for label, _ in ct.OUTCOMES]
    assert set(parts) <= set(metrics)
    assert sum(metrics[p] for p in parts) == metrics["contacts"] > 0
    assert any(f"= {metrics['contacts']} contacts" in c.value for c in at.caption)
