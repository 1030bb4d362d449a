"""Create a brief in the form; generate drafts against the fake OpenAI server; edit and submit."""

from __future__ import annotations

import json

from copydesk.services import Desk
from copydesk.vocab import Status
from tests.app.conftest import EMAIL, open_page, texts
from tests.fake_openai import FakeOpenAI, Reply


def _form_inputs(at):  # type: ignore[no-untyped-def]
    return {w.label: w for w in [*at.text_input, *at.text_area]}


def test_create_brief_in_form(team_desk: Desk) -> None:
    at = open_page("ana", "briefs")
    assert not at.exception
    f = _form_inputs(at)
    f["Id (slug)"].input("autumn-socks")
    f["Title"].input("Autumn socks")
    f["Segment name"].input("hikers")
    f["Goal"].input("sell merino socks")
    f["Key message"].input("Merino socks keep feet warm on wet walks.")
    f["Personalization fields (comma-separated)"].input("first_name, store_name")
    at.selectbox(key="bf-(new brief)-channel").select("sms")
    at.button(key="FormSubmitter:brief_form_(new brief)-Save brief").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Brief autumn-socks saved." in texts(at)
    brief = team_desk.get_brief("autumn-socks")
    assert brief.channel.value == "sms" and brief.personalization == ["first_name", "store_name"]
    assert team_desk.brief_info("autumn-socks")["created_by"] == "ana"


def test_invalid_brief_shows_field_and_saves_nothing(team_desk: Desk) -> None:
    at = open_page("ana", "briefs")
    f = _form_inputs(at)
    f["Id (slug)"].input("Bad Id")
    f["Segment name"].input("hikers")
    f["Goal"].input("g")
    f["Key message"].input("k")
    at.button(key="FormSubmitter:brief_form_(new brief)-Save brief").click().run()
    assert not at.exception
    assert any("field 'id'" in e.value and "slug" in e.value for e in at.error)
    assert len(team_desk.list_briefs()) == 8


def test_marketer_cannot_write_briefs(team_desk: Desk) -> None:
    at = open_page("max", "briefs")
    assert not at.exception
    assert "Writing briefs needs the copywriter or admin role." in texts(at)
    assert not [b for b in at.button if "Save brief" in b.label]


def test_generate_against_fake_server(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    at = open_page("ana", "generate")
    assert not at.exception
    assert at.radio(key="generate_where").proto.captions[0].startswith("fake-model via openai at http://127.0.0.1")
    at.selectbox(key="generate_brief").select("boots-onboarding").run()
    at.number_input(key="generate_n_boots-onboarding").set_value(2)
    at.button(key="generate_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(fake_llm.chat_requests()) >= 2
    drafts = team_desk.list_variants(brief_id="boots-onboarding")
    assert len(drafts) == 2 and all(v.status == Status.DRAFT for v in drafts)
    assert all(v.current.provenance["model"] == "fake-model" for v in drafts)
    assert "2 of 2 draft(s) created" in texts(at)
    shown = texts(at)
    assert all(f"**{v.id}**" in shown for v in drafts)


def test_generate_with_dead_endpoint_shows_message(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    fake_llm.default = Reply.error(401, "invalid api key")
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select("boots-onboarding").run()
    at.number_input(key="generate_n_boots-onboarding").set_value(1)
    at.button(key="generate_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value.replace("\\", "") for e in at.error] == [  # shown as escaped Markdown
        f"Stopped early, 1 draft(s) not made: {fake_llm.base_url} refused the API key (401): "
        "set COPYDESK_LLM_API_KEY or OPENAI_API_KEY, or pass --api-key-env"]
    assert team_desk.list_variants() == []


def test_edit_draft_in_place_then_submit(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    v = team_desk.add_variant("boots-onboarding", EMAIL, actor="ana")
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select("boots-onboarding").run()
    at.text_input(key=f"gen-edit-{v.id}-1-cta").input("See the care guide")
    at.button(key=f"FormSubmitter:gen-edit-{v.id}-1-Save as new revision").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    edited = team_desk.get_variant(v.id)
    assert edited.current.number == 2 and edited.current.content.fields["cta"] == "See the care guide"
    at.button(key=f"gen-submit-{v.id}-2").click().run()
    assert not at.error, [e.value for e in at.error]
    assert team_desk.get_variant(v.id).status == Status.IN_REVIEW
    assert f"{v.id} submitted for review." in texts(at)


def test_submit_of_stale_revision_is_refused(team_desk: Desk) -> None:
    v = team_desk.add_variant("boots-onboarding", EMAIL, actor="ana")
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select("boots-onboarding").run()
    team_desk.edit_variant(v.id, {"cta": "Changed elsewhere"}, actor="cy")
    at.button(key=f"gen-submit-{v.id}-1").click().run()
    assert not at.exception
    assert any("changed while you were looking" in e.value for e in at.error)
    assert team_desk.get_variant(v.id).status == Status.DRAFT


def test_generation_request_carries_no_contact_data(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select("boots-onboarding").run()
    at.number_input(key="generate_n_boots-onboarding").set_value(1)
    at.button(key="generate_go").click().run()
    sent = "\n".join(r.text for r in fake_llm.chat_requests())
    assert "amelia.hughes@example.com" not in sent and "boots" in sent.lower()
    assert json.dumps(fake_llm.chat_requests()[0].body)
