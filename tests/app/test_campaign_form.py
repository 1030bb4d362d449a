"""The form-based campaign editor writes the same YAML the file holds."""

from __future__ import annotations

from pathlib import Path

import yaml

from copydesk.rules.campaign import parse_campaign
from copydesk.services import Desk
from copydesk.ui import campaign_form as cform
from tests.app.conftest import open_page

REPO = Path(__file__).resolve().parents[2]


def test_round_trip_keeps_the_campaign() -> None:
    text = (REPO / "campaigns" / "spring-boots.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    settings = cform.settings_of(data)
    suppress = cform.rule_rows(data["suppress"], select=False)
    select = cform.rule_rows(data["select"], select=True)
    assert suppress[0]["operator"] == cform.COMPLEX
    assert suppress[1] == {"id": "no-beginner-content-for-experts", "field": "skill_level", "operator": "in",
                           "value": "advanced, expert"}
    assert select[0] == {"id": "new-customers", "field": "lifecycle_stage", "operator": "is", "value": "onboarding",
                         "brief": "boots-onboarding"}
    again = cform.to_yaml(cform.apply_form(data, settings, suppress, select))
    assert parse_campaign(again, "x.yaml") == parse_campaign(text, "x.yaml")


def test_form_values_change_the_yaml() -> None:
    data = {"id": "c", "channel": "email", "template": "email/default", "metric": "revenue",
            "select": [{"id": "all", "variants": {"brief": "spring-generic"}}]}
    rows = [{"id": "all", "field": "", "operator": cform.EVERYONE, "value": "", "brief": "spring-generic"},
            {"id": "vip", "field": "orders", "operator": "gte", "value": "3", "brief": "rewards-loyal"},
            {"id": "", "field": "", "operator": "", "value": "", "brief": ""}]
    out = cform.apply_form(data, {**cform.settings_of(data), "holdout": 0.1, "cap_max": 2, "cap_days": 7},
                           [{"id": "no-sms", "field": "consent_sms", "operator": "exists", "value": ""}], rows)
    c = parse_campaign(cform.to_yaml(out), "c.yaml")
    assert c.holdout == 0.1 and c.frequency_cap is not None and c.frequency_cap.max == 2
    assert c.metric == "revenue", "keys the form does not edit are kept"
    assert [s.id for s in c.select] == ["all", "vip"] and c.select[1].variants.brief == "rewards-loyal"
    assert out["select"][1]["when"] == {"field": "orders", "gte": 3}
    assert out["suppress"] == [{"id": "no-sms", "when": {"field": "consent_sms", "exists": True}}]


def test_form_editor_on_the_page_writes_the_yaml(stocked_desk: Desk) -> None:
    at = open_page("max", "campaigns")
    at.selectbox(key="camp_file").select("spring-boots.yaml").run()
    at.toggle(key="camp_use_form").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    holdout = next(n for n in at.number_input if n.label == "Holdout share")
    assert holdout.value == 0.05
    holdout.set_value(0.2)
    at.button(key="FormSubmitter:camp_form_spring-boots.yaml-Apply to the YAML").click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = at.text_area(key="camp_text_spring-boots.yaml").value
    assert "holdout: 0.2" in text
    assert any("holdout 20%" in s.value for s in at.success)
    assert any(b.key == "camp_save" for b in at.button)
