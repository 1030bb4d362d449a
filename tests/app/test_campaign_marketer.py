"""Campaigns for marketers: every validation error at once without server paths, the
inbox line above a rendered e-mail, and sends and outcomes imported by upload."""

from __future__ import annotations

import csv
import io

from copydesk.services import Desk
from copydesk.services import validation_report as vr
from copydesk.ui import campaign_tools as ct
from copydesk.ui.messages import error_text, readable_rows, relative_name
from tests.app.conftest import approved, open_page

BAD = """id: spring
channel: fax
template: email/default
holdout: 2
select:
  - id: everyone
    variants: {brief: spring-generic}
    colour: blue
"""


def test_campaign_errors_lists_every_problem_in_file_order() -> None:
    problems = vr.campaign_errors(BAD, "campaigns/spring.yaml")
    assert [(p.line, p.field) for p in problems] == [(2, "channel"), (4, "holdout"), (8, "select[0].colour")]
    assert all(str(p).startswith("campaigns/spring.yaml:") for p in problems)
    assert vr.campaign_errors("id: [unclosed", "x.yaml")
    assert vr.campaign_errors(BAD.replace("fax", "email").replace("2", "0.1").replace("    colour: blue\n", ""),
                              "x.yaml") == []


def test_paths_and_records_are_shown_for_people(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from copydesk.errors import InputError

    assert relative_name(tmp_path / "briefs" / "a.yaml", tmp_path) == "briefs/a.yaml"
    assert relative_name("/elsewhere/b.yaml", tmp_path) == "b.yaml"
    exc = InputError("bad", source=str(tmp_path / "campaigns" / "c.yaml"), line=3, field="holdout")
    assert error_text(exc, tmp_path) == "campaigns/c.yaml:3: field 'holdout': bad"
    assert readable_rows({"segment": {"name": "new buyers"}, "must_avoid": ["a", "b"], "offer": None}) == [
        {"field": "segment.name", "value": "new buyers"}, {"field": "must avoid", "value": "a, b"},
        {"field": "offer", "value": "—"}]


def _campaigns(user: str = "max"):  # type: ignore[no-untyped-def]
    at = open_page(user, "campaigns")
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="camp_file").select("spring-boots.yaml").run()
    return at


def test_every_campaign_error_at_once_without_server_paths(stocked_desk: Desk) -> None:
    at = _campaigns()
    key = "camp_text_spring-boots.yaml"
    text = at.text_area(key=key).value
    at.text_area(key=key).input(text.replace("holdout: 0.05", "holdout: 2").replace("channel: email", "channel: fax"))
    at.run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "2 problem(s)" in error and "field 'holdout'" in error and "field 'channel'" in error
    assert "campaigns/spring-boots.yaml:" in error
    assert str(stocked_desk.workspace.root) not in error  # type: ignore[union-attr]


def test_email_preview_shows_subject_and_preheader_first(stocked_desk: Desk) -> None:
    assert ct.inbox_header({"subject": "Hi *you*", "preheader": "More"}) == (
        "**Subject:** Hi \\*you\\*  \n**Preheader:** :gray[More]")
    assert ct.inbox_header({"text": "sms"}) is None
    for other in stocked_desk.approved_content():  # only the variant with a preheader can be chosen
        stocked_desk.retire(other.variant_id, actor="ben")
    approved(stocked_desk, author="ana", reviewer="bea",
             fields={"subject": "Boot care, {{ first_name | default('there') }}",
                     "preheader": "Five minutes after each walk", "body": "Clean them after each walk.",
                     "cta": "Read the guide"})
    at = _campaigns()
    at.selectbox(key="camp_contact").select_index(2).run()  # C1003, onboarding, consents to email
    assert not at.exception
    inbox = [m.value for m in at.markdown if m.value.startswith("**Subject:**")]
    assert inbox and "Isla" in inbox[0] and "Five minutes after each walk" in inbox[0]


def _dry_run_messages(at, d: Desk) -> bytes:  # type: ignore[no-untyped-def]
    audience = (d.workspace.audiences_dir / "sample-contacts.csv").read_bytes()  # type: ignore[union-attr]
    at.file_uploader(key="camp_upload").upload("contacts.csv", audience, "text/csv")
    at.run()
    at.button(key="camp_dry_run").click().run()
    return bytes(at.session_state["camp_dry"].messages)


def test_results_tab_records_sends_and_imports_outcomes_by_upload(stocked_desk: Desk) -> None:
    approved(stocked_desk, author="ana", reviewer="bea")
    at = _campaigns()
    messages = _dry_run_messages(at, stocked_desk)
    at.file_uploader(key="camp_sends_upload").upload("spring-boots-messages.csv", messages, "text/csv")
    at.run()
    at.button(key="camp_sends_record").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("new send(s) recorded" in s.value for s in at.success), [e.value for e in at.error]
    rows = list(csv.DictReader(io.StringIO(messages.decode())))
    sent = next(r for r in rows if r["decision"] == "selected")
    outcomes = ("contact_id,campaign_id,event,at,value\n"
                f"{sent['contact_id']},spring-boots,converted,{sent['decided_at']},\n"
                f"{sent['contact_id']},spring-boots,exploded,{sent['decided_at']},\n")
    at.file_uploader(key="camp_outcomes_upload").upload("outcomes.csv", outcomes.encode(), "text/csv")
    at.run()
    at.button(key="camp_outcomes_import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("1 outcome(s) imported of 2 row(s) read" in s.value for s in at.success), \
        [e.value for e in at.error]
    problems = at.dataframe[-1].value
    assert list(problems["line"]) == [3] and list(problems["field"]) == ["event"]
    assert any(s.value.startswith("Results: spring-boots") for s in at.subheader)
    assert [e.actor for e in stocked_desk.audit_log(action="outcomes.import")] == ["max"]


def test_a_bad_messages_file_lists_every_bad_row_and_records_nothing(stocked_desk: Desk) -> None:
    approved(stocked_desk, author="ana", reviewer="bea")
    at = _campaigns()
    rows = list(csv.DictReader(io.StringIO(_dry_run_messages(at, stocked_desk).decode())))
    sends = [r for r in rows if r["decision"] in ("selected", "holdout")]
    assert len(sends) >= 2
    sends[0]["campaign_id"] = ""
    sends[1]["decided_at"] = "yesterday"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    at.file_uploader(key="camp_sends_upload").upload("sent.csv", out.getvalue().encode(), "text/csv")
    at.run()
    at.button(key="camp_sends_record").click().run()
    assert not at.exception
    assert any("2 row(s) of sent.csv cannot be recorded" in e.value for e in at.error), [e.value for e in at.error]
    table = at.dataframe[-1].value
    assert set(table["field"]) == {"campaign_id", "decided_at"}
    assert stocked_desk.db.execute("SELECT COUNT(*) FROM sends").fetchone()[0] == 0
