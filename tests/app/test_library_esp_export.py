"""The Library page's per-platform downloads: ready in one click, problems listed,
audited when downloaded."""

from __future__ import annotations

import json

from copydesk.services import Desk
from copydesk.ui import esp_export
from tests.app.conftest import EMAIL, approved, open_page, texts

BAD = {**EMAIL, "cta": "Go {{ first_name | default('now') | title }}"}


def _buttons(at) -> list[str]:  # type: ignore[no-untyped-def]
    """The platform download buttons (the plain CSV/JSON ones are always there)."""
    return [b.proto.label for b in at.get("download_button") if " for " in b.proto.label]


def test_platform_download_is_ready_without_a_prepare_step(stocked_desk: Desk) -> None:
    [vid] = [v.variant_id for v in stocked_desk.approved_content()]
    at = open_page("max", "library")
    assert _buttons(at) == []
    assert at.selectbox(key="esp_dialect").options == ["choose a platform", "Braze (Liquid)", "Iterable (Handlebars)",
                                                       "Klaviyo", "Mailchimp (merge tags)",
                                                       "Salesforce Marketing Cloud (AMPscript)", "HubSpot (HubL)"]
    at.selectbox(key="esp_dialect").set_value("iterable").run()
    assert not at.exception and not at.error
    assert _buttons(at) == ["Download 1 variant(s) for Iterable (Handlebars)"]
    at.selectbox(key="esp_format").set_value("json").run()
    assert _buttons(at) == ["Download 1 variant(s) for Iterable (Handlebars)"]
    # nothing is audited until the file is downloaded
    assert stocked_desk.audit_log(action="library.export") == []
    download = esp_export.build(stocked_desk, "iterable", "json", actor="max", partial=False)
    assert download.export is not None and download.file_name == "copydesk-approved-iterable.json"
    [record] = json.loads(download.export.text)
    assert record["variant_id"] == vid and '{{{defaultIfEmpty firstName "there"}}}' in record["fields"]["subject"]
    esp_export.record(stocked_desk, download.export, "max")
    [event] = stocked_desk.audit_log(action="library.export")
    assert event.actor == "max" and event.entity_id == "json:iterable" and event.data["variants"] == [vid]


def test_untranslatable_copy_is_listed_and_only_exported_when_asked(stocked_desk: Desk) -> None:
    bad = approved(stocked_desk, fields=BAD)
    at = open_page("max", "library")
    at.selectbox(key="esp_dialect").set_value("braze").run()
    assert _buttons(at) == []
    assert f"{bad} field cta" in texts(at) and "filter 'title' has no Liquid equivalent" in texts(at)
    at.checkbox(key="esp_partial").check().run()
    assert _buttons(at) == ["Download 1 variant(s) for Braze (Liquid)"]
    assert at.warning and f"{bad} field cta" in texts(at)


def test_copywriter_gets_no_platform_export(stocked_desk: Desk) -> None:
    at = open_page("ana", "library")
    assert not at.exception
    assert [s for s in at.selectbox if s.key == "esp_dialect"] == []
