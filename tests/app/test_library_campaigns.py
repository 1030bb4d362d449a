"""Library search, history, retire and export; campaign validation, preview, dry run;
audit verification; settings."""

from __future__ import annotations

import csv
import io
import json

from copydesk.services import Desk
from copydesk.ui import esp_export
from copydesk.vocab import Status
from tests.app.conftest import EMAIL, approved, in_review, open_page, texts


def test_library_search_history_and_provenance(stocked_desk: Desk) -> None:
    vid = approved(stocked_desk, fields={**EMAIL, "body": "Waxed leather needs a gentle brush."})
    at = open_page("max", "library")
    at.text_input(key="lib_text").input("leather").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == [vid]
    history = at.dataframe[1].value
    assert list(history["model"]) == ["written by hand"] and list(history["author"]) == ["ana"]
    reviews = at.dataframe[2].value
    assert list(reviews["reviewer"]) == ["ben"] and list(reviews["decision"]) == ["approved"]
    v = stocked_desk.get_variant(vid)
    assert any(f"approval hash `{v.approved_hash}`" in s.value for s in at.success)


def test_library_filters_and_pages(stocked_desk: Desk) -> None:
    for i in range(55):
        stocked_desk.add_variant("boots-onboarding", {**EMAIL, "cta": f"Guide {i}"}, actor="ana")
    at = open_page("ben", "library")
    at.selectbox(key="lib_status").select("draft").run()
    assert len(at.dataframe[0].value) == 50
    assert "1–50 of 56 (page 1 of 2)" in texts(at)
    at.number_input(key="lib_page").set_value(2).run()
    assert len(at.dataframe[0].value) == 6 and set(at.dataframe[0].value["status"]) == {"draft"}
    at.selectbox(key="lib_status").select("retired").run()
    assert list(at.dataframe[0].value["status"]) == ["retired"]
    assert "1–1 of 1 (page 1 of 1)" in texts(at)


def test_retire_from_library(stocked_desk: Desk) -> None:
    vid = approved(stocked_desk)
    at = open_page("ben", "library")
    at.selectbox(key="lib_status").select("approved").run()
    at.selectbox(key="lib_variant").select(vid).run()
    at.text_input(key=f"retire-{vid}-reason").input("season over")
    at.button(key=f"FormSubmitter:retire-{vid}-Retire").click().run()
    assert not at.error, [e.value for e in at.error]
    assert stocked_desk.get_variant(vid).status == Status.RETIRED


def test_export_download(stocked_desk: Desk) -> None:
    [approved_id] = [v.variant_id for v in stocked_desk.approved_content()]
    at = open_page("max", "library")
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Download CSV (1 variant(s))", "Download JSON (1 variant(s))"}  # one click, data ready
    assert not stocked_desk.audit_log(action="library.export")  # nothing handed over yet
    rows = list(csv.DictReader(io.StringIO(stocked_desk.prepare_export("csv", actor="max").text)))
    assert [r["variant_id"] for r in rows] == [approved_id]
    export = stocked_desk.prepare_export("json", actor="max")
    assert [r["variant_id"] for r in json.loads(export.text)] == [approved_id]
    esp_export.record(stocked_desk, export, "max")  # what a click on the button runs
    assert [e.actor for e in stocked_desk.audit_log(action="library.export")] == ["max"]


def test_copywriter_gets_no_export(stocked_desk: Desk) -> None:
    at = open_page("ana", "library")
    assert not at.exception
    assert not at.get("download_button")


def _campaigns(user: str = "max"):  # type: ignore[no-untyped-def]
    at = open_page(user, "campaigns")
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="camp_file").select("spring-boots.yaml").run()
    return at


def test_campaign_preview_of_a_decision(stocked_desk: Desk) -> None:
    approved(stocked_desk, author="ana", reviewer="bea")
    ids = {v.variant_id for v in stocked_desk.approved_content() if v.brief_id == "boots-onboarding"}
    at = _campaigns()
    assert any("Valid: campaign **spring-boots**" in s.value for s in at.success)
    at.selectbox(key="camp_contact").select_index(2).run()  # C1003, onboarding, consents to email
    assert not at.exception, [e.value for e in at.exception]
    verdicts = [s.value for s in at.success] + [w.value for w in at.warning]
    [chosen] = [v for v in verdicts if v.startswith("**selected**")]
    assert "by rule new-customers" in chosen and any(f"send variant {i} " in chosen for i in ids), chosen
    trace = at.dataframe[1].value
    assert "consent" in set(trace["step"]) and "✓" in set(trace[""])
    assert any("Isla" in c.value for c in at.code), "the rendered text part names the contact"
    [frame] = at.get("iframe")
    assert '<iframe sandbox=""' in frame.proto.srcdoc and "Isla" in frame.proto.srcdoc
    # the decision as data is a file to download, never JSON on the marketer's screen
    assert "Download this decision (JSON)" in [b.proto.label for b in at.get("download_button")]
    assert not [c for c in at.code if '"contact_id"' in c.value]


def test_campaign_preview_typed_contact_without_consent(stocked_desk: Desk) -> None:
    at = _campaigns()
    at.radio(key="camp_contact_how").set_value("Type the fields").run()
    at.text_area(key="camp_typed").input("contact_id = Z9\nlifecycle_stage = onboarding\nconsent_email = false").run()
    assert not at.exception
    assert any("**suppressed**" in w.value and "no-consent" in w.value for w in at.warning)
    at.text_area(key="camp_typed").input("just words").run()
    assert any("expected 'field = value'" in e.value for e in at.error)


def test_bad_campaign_yaml_shows_file_line_and_field(stocked_desk: Desk) -> None:
    at = _campaigns()
    key = "camp_text_spring-boots.yaml"
    text = at.text_area(key=key).value
    at.text_area(key=key).input(text.replace("holdout: 0.05", "holdout: 2")).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "spring-boots.yaml:" in error and "field 'holdout'" in error
    at.text_area(key=key).input("id: [unclosed").run()
    assert not at.exception and at.error


def test_dry_run_over_an_uploaded_audience(stocked_desk: Desk) -> None:
    approved(stocked_desk, author="ana", reviewer="bea")
    at = _campaigns()
    audience = (stocked_desk.workspace.audiences_dir / "sample-contacts.csv").read_bytes()  # type: ignore[union-attr]
    audience += b"\n,no id here,,,,,,,,,,,,,,,,,,,,\n"
    at.file_uploader(key="camp_upload").upload("contacts.csv", audience, "text/csv")
    at.run()
    at.button(key="camp_dry_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["rendered"]) >= 1 and metrics["rejected"] == "1"
    assert at.get("vega_lite_chart"), "outcome-by-reason chart"
    labels = [b.proto.label for b in at.get("download_button") if b.proto.label != "Download this decision (JSON)"]
    assert labels == ["Download rendered messages (CSV)", "Download rejected rows (CSV)"]
    rows = list(csv.DictReader(io.StringIO(at.session_state["camp_dry"].messages.decode())))
    assert {r["decision"] for r in rows} >= {"selected"}


def test_dry_run_of_a_malformed_upload_shows_a_message(stocked_desk: Desk) -> None:
    at = _campaigns()
    at.file_uploader(key="camp_upload").upload("contacts.csv", b"\xff\xfe\x00bad", "text/csv")
    at.run()
    at.button(key="camp_dry_run").click().run()
    assert not at.exception
    assert any("not UTF-8" in e.value for e in at.error)


def test_results_tab_without_sends_says_so(stocked_desk: Desk) -> None:
    at = _campaigns()
    assert any("No results yet" in i.value for i in at.info)


def test_audit_verify_and_filter(stocked_desk: Desk) -> None:
    vid = in_review(stocked_desk)
    at = open_page("ben", "audit")
    at.button(key="audit_verify").click().run()
    assert any("audit chain intact" in s.value for s in at.success)
    at.text_input(key="audit_entity").input(vid).run()
    assert list(at.dataframe[0].value["action"]) == ["variant.submit", "variant.add"]
    stocked_desk.db.execute("DROP TRIGGER audit_events_no_update")
    stocked_desk.db.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    stocked_desk.db.conn.commit()
    at.button(key="audit_verify").click().run()
    assert any("does not verify" in e.value for e in at.error)
    assert any("event 3" in c.value for c in at.code), [c.value for c in at.code]


def test_admin_adds_user_and_changes_roles(stocked_desk: Desk) -> None:
    at = open_page("admin", "settings")
    at.text_input(key="nu_name").input("dee")
    at.text_input(key="nu_password").input("another long password")
    at.multiselect(key="nu_roles").select("reviewer")
    at.button(key="FormSubmitter:new_user-Add user").click().run()
    assert not at.error, [e.value for e in at.error]
    assert [r.value for r in stocked_desk.get_user("dee").roles] == ["reviewer"]
    at.multiselect(key="roles_dee").select("marketer")
    at.checkbox(key="active_dee").uncheck()
    at.button(key="FormSubmitter:user_dee-Save").click().run()
    dee = stocked_desk.get_user("dee")
    assert sorted(r.value for r in dee.roles) == ["marketer", "reviewer"] and not dee.active


def test_admin_sees_policy_packs_and_embedded_label(stocked_desk: Desk) -> None:
    at = open_page("admin", "settings")
    assert not at.exception
    assert any("embedded offline demo model" in m.value for m in at.markdown)
    rules = at.dataframe[0].value
    assert "claims.absolute" in set(rules["rule"]) and any("claims.yaml" in s for s in rules["source"])


def test_connection_test_against_fake_and_dead_endpoint(stocked_desk: Desk, fake_llm) -> None:  # type: ignore[no-untyped-def]
    from tests.fake_openai import Reply, answer_the_sum

    fake_llm.default = answer_the_sum
    at = open_page("admin", "settings")
    at.button(key="llm_test").click().run()
    assert any("the endpoint answered" in s.value for s in at.success), [e.value for e in at.error]
    fake_llm.default = lambda _req: Reply.text("I")  # bytes came back, but not the answer
    at.button(key="llm_test").click().run()
    assert any("The connection test failed" in e.value and "I" in e.value for e in at.error)
    at.text_input(key="llm_base_url").input("http://127.0.0.1:9/v1")
    at.button(key="llm_test").click().run()
    assert not at.exception
    assert any("The connection test failed" in e.value for e in at.error)


def test_non_admin_settings_is_account_only(stocked_desk: Desk) -> None:
    at = open_page("ana", "settings")
    assert "managed by admins" in texts(at)
    at.text_input(key="pw_new").input("a brand new password")
    at.text_input(key="pw_again").input("a brand new password")
    at.button(key="FormSubmitter:password-Change password").click().run()
    assert "Password changed." in texts(at)
    assert stocked_desk.authenticate("ana", "a brand new password").name == "ana"


def test_a_broken_audit_chain_shows_as_a_message_on_every_page(stocked_desk: Desk) -> None:
    in_review(stocked_desk)
    stocked_desk.db.execute("DROP TRIGGER audit_events_no_delete")
    stocked_desk.db.execute("DELETE FROM audit_events WHERE seq = 2")
    stocked_desk.db.conn.commit()
    for module in ("overview", "campaigns"):  # the pages that read approved content
        at = open_page("max", module)
        assert not at.exception, (module, at.exception)
        assert at.error, module
