"""Bulk-import presets for rendered content, tested on plain dict rows."""

from __future__ import annotations

import pytest

from copydesk.errors import InputError
from copydesk.export.presets import PLATFORMS, preset

COLUMNS = ["subject", "preheader", "body", "cta", "rendered_html", "rendered_txt"]
SELECTED = {"contact_id": "C1", "campaign_id": "spring", "decision": "selected", "variant_id": "V2",
            "revision": 1, "content_hash": "abc", "subject": "Hi Amelia", "preheader": None, "body": "B",
            "cta": "Go", "rendered_html": "<p>B</p>", "rendered_txt": "B", "email": "a@example.com"}


def test_braze_layout_and_row() -> None:
    p = preset("braze", "email", COLUMNS)
    assert p.columns == ["external_id", "copydesk_subject", "copydesk_preheader", "copydesk_body", "copydesk_cta",
                         "copydesk_rendered_html", "copydesk_rendered_txt", "copydesk_variant_id",
                         "copydesk_revision", "copydesk_content_hash", "copydesk_campaign_id"]
    row = p.row(SELECTED)
    assert row is not None and list(row) == p.columns
    assert row["external_id"] == "C1" and row["copydesk_preheader"] == "" and row["copydesk_content_hash"] == "abc"


@pytest.mark.parametrize("decision", ["holdout", "suppressed", "capped", "no_variant"])
def test_contacts_without_a_message_are_skipped(decision: str) -> None:
    assert preset("sfmc", "sms", ["text", "rendered_txt"]).row({**SELECTED, "decision": decision}) is None


def test_identifier_columns_per_platform() -> None:
    assert preset("iterable", "push", ["title", "body"]).columns[0] == "userId"
    assert preset("klaviyo", "sms", ["text"]).columns[0] == "external_id"
    assert preset("sfmc", "email", COLUMNS).columns[0] == "SubscriberKey"
    mc = preset("mailchimp", "email", [*COLUMNS, "email"], {"Email Address": "email"})
    assert mc.columns[0] == "Email Address"
    row = mc.row(SELECTED)
    assert row is not None and row["Email Address"] == "a@example.com"
    hs = preset("hubspot", "email", [*COLUMNS, "email"])
    assert hs.columns[:2] == ["Email", "copydesk_subject"]


def test_optional_identifier_is_added_when_the_output_has_it() -> None:
    assert preset("iterable", "email", [*COLUMNS, "email"]).columns[:2] == ["userId", "email"]


def test_identifiers_the_output_lacks_are_read_from_the_contact() -> None:
    mc = preset("mailchimp", "email", COLUMNS)
    assert mc.carry == ("email",) and mc.columns[0] == "Email Address"
    hs = preset("hubspot", "email", COLUMNS)
    assert hs.carry == ("email",) and "Record ID" not in hs.columns  # optional, not mapped
    assert preset("hubspot", "email", COLUMNS, {"Record ID": "hs_id"}).carry == ("email", "hs_id")
    assert preset("iterable", "email", COLUMNS, {"email": "mail"}).carry == ("mail",)
    assert preset("braze", "email", COLUMNS).carry == ()
    with pytest.raises(InputError, match="contact 'C1' has no value for mailchimp's Email Address column"):
        mc.row({**SELECTED, "email": None})


def test_selected_row_without_identifier_is_an_error_not_a_skip() -> None:
    p = preset("sfmc", "email", [*COLUMNS, "subscriber_key"], {"SubscriberKey": "subscriber_key"})
    with pytest.raises(InputError, match="contact 'C1' has no value for sfmc's SubscriberKey column"):
        p.row({**SELECTED, "subscriber_key": None})


def test_unknown_platform_channel_and_column() -> None:
    with pytest.raises(InputError, match="unknown render format 'sendgrid'; use one of braze, iterable"):
        preset("sendgrid", "email", COLUMNS)
    with pytest.raises(InputError, match="mailchimp does not send sms"):
        preset("mailchimp", "sms", ["text"])
    with pytest.raises(InputError, match="braze has no identifier column userId"):
        preset("braze", "email", COLUMNS, {"userId": "contact_id"})


def test_every_platform_has_a_preset() -> None:
    assert list(PLATFORMS) == ["braze", "iterable", "klaviyo", "mailchimp", "sfmc", "hubspot"]
