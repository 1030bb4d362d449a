"""Readable explanations."""

from __future__ import annotations

import json
from datetime import timedelta

from copydesk.rules import decide, explain_dict, explain_text
from tests.rules.rules_helpers import LIBRARY, NOW, TODAY, campaign, contact


def test_explain_names_the_rule_fields_and_values() -> None:
    c = contact("C7", lifecycle_stage="dormant", last_purchase_at=TODAY - timedelta(days=8))
    text = explain_text(decide(campaign(), c, [], LIBRARY, today=TODAY, now=NOW))
    assert "contact C7" in text
    assert "suppressed by no-reactivation-for-recent-buyers" in text
    assert "lifecycle_stage is dormant (actual: dormant)" in text
    assert "last_purchase_at within_days 30 (actual: 2026-05-24, 8 days ago)" in text
    assert "✓ consent: consent_email is true (actual: true)" in text


def test_explain_selected_shows_variant_and_hash() -> None:
    c = contact("C8", lifecycle_stage="loyal", orders=9)
    d = decide(campaign(), c, [], LIBRARY, today=TODAY, now=NOW)
    text = explain_text(d)
    assert d.variant is not None
    assert f"send variant {d.variant.variant_id}" in text and d.variant.content_hash[:12] in text
    assert "orders gte 3 (actual: 9)" in text


def test_missing_consent_is_shown_as_missing() -> None:
    text = explain_text(decide(campaign(), contact(consent_email=None), [], LIBRARY,
                               today=TODAY, now=NOW))
    assert "consent_email is true (actual: (missing)" in text
    assert "suppressed by no-consent" in text


def test_explain_dict_is_json() -> None:
    c = contact(lifecycle_stage="dormant", last_purchase_at=TODAY - timedelta(days=300))
    data = explain_dict(decide(campaign(), c, [], LIBRARY, today=TODAY, now=NOW))
    again = json.loads(json.dumps(data))
    assert again["decision"] == "selected" and again["trace"]
    assert {"field", "operator", "expected", "actual", "result"} <= set(again["trace"][1])
