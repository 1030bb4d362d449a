"""The Generate page's copywriter controls: tone, length and temperature for a run, and
regenerating one of your drafts with an instruction (as its next revision)."""

from __future__ import annotations

from copydesk.services import Desk
from tests.app.conftest import open_page
from tests.app.test_generate_live import BRIEF, clean_draft
from tests.fake_openai import FakeOpenAI


def test_tone_length_and_temperature_reach_the_request(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    fake_llm.default = lambda request: clean_draft(len(fake_llm.requests))
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select(BRIEF).run()
    at.number_input(key=f"generate_n_{BRIEF}").set_value(1)
    at.text_input(key="generate_tone").input("much warmer")
    at.selectbox(key="generate_length").select("short")
    at.checkbox(key="generate_set_temperature").check()
    at.slider(key="generate_temperature").set_value(0.3)
    at.button(key="generate_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (req,) = fake_llm.chat_requests()
    assert "much warmer" in req.text and req.body["temperature"] == 0.3
    (v,) = team_desk.list_variants(brief_id=BRIEF)
    assert "much warmer" in str(v.current.provenance)


def test_regenerate_one_draft_with_an_instruction(team_desk: Desk, fake_llm: FakeOpenAI) -> None:
    fake_llm.default = lambda request: clean_draft(len(fake_llm.requests))
    at = open_page("ana", "generate")
    at.selectbox(key="generate_brief").select(BRIEF).run()
    at.number_input(key=f"generate_n_{BRIEF}").set_value(1)
    at.button(key="generate_go").click().run()
    (v,) = team_desk.list_variants(brief_id=BRIEF)
    at.text_input(key=f"gen_regen_text_{v.id}").input("shorter, mention the kit")
    at.button(key=f"gen_regen_{v.id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "shorter, mention the kit" in fake_llm.chat_requests()[-1].text
    again = team_desk.get_variant(v.id)
    assert again.current.number == 2 and len(team_desk.list_variants(brief_id=BRIEF)) == 1
