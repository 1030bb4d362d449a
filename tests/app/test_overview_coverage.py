"""Overview coverage coloured by need: red only where a campaign sends from an empty cell."""

from __future__ import annotations

from collections import Counter

from copydesk.rules.campaign import parse_campaign
from copydesk.services import Desk
from copydesk.ui import coverage
from tests.app.conftest import open_page, texts

CAMPAIGN = """id: c1
channel: email
template: email/default
select:
  - id: new
    variants: {brief: boots-onboarding}
fallback: {brief: missing-brief}
"""


def test_needs_come_from_rules_and_fallback(team_desk: Desk) -> None:
    campaign = parse_campaign(CAMPAIGN, "c1.yaml")
    brief = team_desk.get_brief("boots-onboarding")
    needs = coverage.campaign_needs([campaign], lambda b: brief if b == brief.id else None, lambda _v: None)
    assert needs == [coverage.Need("onboarding", "email", "new boot buyers", "c1", "new")]


def test_cell_states_red_only_when_needed() -> None:
    frame = coverage.coverage_matrix([])
    needs = [coverage.Need("onboarding", "email", "seg a", "c1", "new")]
    states = coverage.cell_states(frame, needs)
    assert states.at["onboarding", "email"] == coverage.GAP
    assert states.at["loyal", "sms"] == coverage.NOT_NEEDED
    assert (states == coverage.GAP).to_numpy().sum() == 1
    assert coverage.cell_states(frame, needs, segment="seg b").at["onboarding", "email"] == coverage.NOT_NEEDED
    frame.at["onboarding", "email"] = 2
    assert coverage.cell_states(frame, needs).at["onboarding", "email"] == coverage.COVERED
    css = coverage.styled(frame, coverage.cell_states(frame, needs)).to_html()
    assert "#dff3e0" in css and "#f0f0f0" in css


def test_gap_rows_name_full_segment_and_campaign() -> None:
    long = "a very long segment name that must not be cut"
    needs = [coverage.Need("loyal", "email", long, "c1", "loyal")]
    assert coverage.gap_rows(needs, Counter()) == [{
        "segment": long, "stage": "loyal", "channel": "email", "needed by": "c1 · loyal"}]
    assert coverage.gap_rows(needs, Counter({(long, "loyal", "email"): 1})) == []


def test_overview_reds_only_needed_cells(stocked_desk: Desk) -> None:
    at = open_page("max", "overview")
    assert not at.exception, at.exception
    assert "needed, nothing approved" in texts(at)
    # the sample campaigns send from loyal/email, active/sms, loyal/push, dormant/email, ... not awareness/sms
    needs, problems = coverage.workspace_needs(stocked_desk)
    assert not problems
    wanted = {(n.stage, n.channel) for n in needs}
    assert ("loyal", "email") in wanted and ("awareness", "sms") not in wanted
    gaps = at.dataframe[1].value
    assert "loyal members" in set(gaps["segment"])
    caption = next(c.value for c in at.caption if "highlighted red" in c.value)
    covered = {("onboarding", "email")}  # stocked_desk approved one boots-onboarding variant
    assert caption.split(" empty cell(s)")[0].endswith(str(len(wanted - covered)))


def test_overview_one_segment_at_a_time(stocked_desk: Desk) -> None:
    at = open_page("max", "overview")
    at.toggle(key="overview_by_segment").set_value(True).run()
    assert not at.exception, at.exception
    at.selectbox(key="overview_segment").select("loyal members").run()
    assert any(m.value == "**loyal members**" for m in at.markdown)
    matrix = at.dataframe[0].value
    assert list(matrix.index)[:1] == ["awareness"]
