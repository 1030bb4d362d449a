"""More of the fail-closed rules: condition bounds no row could be compared with, rows
given in code, and control characters in review text."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.errors import InputError
from copydesk.render.pipeline import render_campaign
from copydesk.rules.campaign import CampaignFile, parse_campaign
from copydesk.services import Desk
from tests.rules.rules_helpers import NOW, TODAY, content

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = """\
id: c
channel: email
template: email/default
suppress:
  - id: odd
    when: {{field: signup_at, {op}: "{value}"}}
select:
  - id: all
    variants: {{ids: [V1]}}
"""


@pytest.mark.parametrize(("op", "value"), [("is", "0001-01-01T00:00:00+05:00"), ("gt", "9999-12-31T23:59:59-23:59"),
                                           ("lte", "0001-01-01T00:30:00+01:00")])
def test_a_bound_no_row_could_be_compared_with_is_a_file_error(op: str, value: str) -> None:
    with pytest.raises(InputError) as err:
        parse_campaign(CAMPAIGN.format(op=op, value=value), "c.yaml")
    assert "c.yaml:6" in str(err.value) and "cannot be used" in str(err.value)


def test_rows_given_in_code_get_the_file_readers_checks(tmp_path: Path) -> None:
    cf = CampaignFile(parse_campaign(CAMPAIGN.format(op="is", value="x"), "c.yaml"), Path("c.yaml"), "0" * 64)
    people = [{"contact_id": "C1", "consent_email": True, "first_name": "Ann\ud800"},
              {"contact_id": "C2", "consent_email": True, "orders": float("nan")},
              {"contact_id": "C3", "consent_email": True, "first_name": "Bo"}]
    summary = render_campaign(cf, people, tmp_path / "out.csv", library=[content("V1", "b")],
                              templates_dir=REPO / "templates", today=TODAY, now=NOW)
    assert (summary.total, summary.rejected, summary.rendered) == (3, 2, 1)


@pytest.mark.parametrize("text", ["no\x00", "see\x1b[2J", "bad\ud800"])
def test_review_text_refuses_control_characters(desk: Desk, text: str) -> None:
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": "Walk on"}, actor="ana")
    desk.submit(v.id, actor="ana")
    with pytest.raises(InputError, match="field 'comment'"):
        desk.reject(v.id, actor="ben", comment=text)
    with pytest.raises(InputError, match="field 'comment'"):
        desk.approve(v.id, actor="ben", comment=text)
    assert desk.get_variant(v.id).status == "in_review"
