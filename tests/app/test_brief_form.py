"""The brief form: core fields first, required ones marked, every problem at once in
plain words next to its field."""

from __future__ import annotations

from copydesk.services import Desk
from copydesk.ui import forms
from tests.app.conftest import open_page

SAVE = "FormSubmitter:brief_form_(new brief)-Save brief"


def test_brief_form_errors_are_all_there_in_plain_words() -> None:
    errors = forms.brief_form_errors({"id": "Bad Id", "stage": "active", "channel": "sms", "goal": "",
                                      "key_message": "", "segment_name": "", "personalization": "first name",
                                      "variants": 99})
    assert set(errors) == {"id", "goal", "key_message", "segment_name", "personalization", "variants"}
    assert errors["goal"] == errors["key_message"] == "required: please fill this in"
    assert "slug" in errors["id"] and "e.g. autumn-socks" in errors["id"]
    assert errors["variants"] == "a whole number from 1 to 50"
    assert not any("String should" in e or "Input should" in e for e in errors.values())
    good = {"id": "socks", "segment_name": "hikers", "stage": "active", "channel": "sms", "goal": "g",
            "key_message": "k"}
    assert forms.brief_form_errors(good) == {}
    assert forms.brief_form_errors({**good, "id": ""}) == {"id": "required: please fill this in"}


def test_form_puts_goal_and_key_message_first_and_marks_required(team_desk: Desk) -> None:
    at = open_page("ana", "briefs")
    assert not at.exception
    labels = [w.label for w in at.get("text_input") + at.get("text_area")]
    order = [m.value for m in at.markdown if m.value.startswith("**")]
    assert order[:3] == ["**Goal** :red[*]", "**Key message** :red[*]", "**Id (slug)** :red[*]"], order
    assert "**Title**" in order and "**Segment name** :red[*]" in order
    assert "Goal" in labels and "Key message" in labels


def test_every_problem_shown_next_to_its_field_and_nothing_saved(team_desk: Desk) -> None:
    at = open_page("ana", "briefs")
    at.text_input(key="bf-(new brief)-id").input("Bad Id")
    at.text_input(key="bf-(new brief)-pers").input("first name")
    at.button(key=SAVE).click().run()
    assert not at.exception
    [summary] = [e.value for e in at.error]
    assert summary.startswith("5 problem(s)")
    for field in ("id", "goal", "key_message", "segment_name", "personalization"):
        assert f"(field '{field}')" in summary
    beside = [m.value for m in at.markdown if m.value.startswith(":red[⚠")]
    assert len(beside) == 5 and any("required: please fill this in" in m for m in beside)
    assert len(team_desk.list_briefs()) == 8
    at.text_input(key="bf-(new brief)-id").input("autumn-socks")
    at.text_input(key="bf-(new brief)-goal").input("sell socks")
    at.text_area(key="bf-(new brief)-key").input("Merino keeps feet warm.")
    at.text_input(key="bf-(new brief)-seg").input("hikers")
    at.text_input(key="bf-(new brief)-pers").input("first_name")
    at.button(key=SAVE).click().run()
    assert not at.error, [e.value for e in at.error]
    assert team_desk.get_brief("autumn-socks").goal == "sell socks"


def test_an_existing_id_is_explained_without_cli_advice(team_desk: Desk) -> None:
    at = open_page("ana", "briefs")
    for key, value in (("id", "boots-onboarding"), ("goal", "g"), ("seg", "hikers")):
        at.text_input(key=f"bf-(new brief)-{key}").input(value)
    at.text_area(key="bf-(new brief)-key").input("k")
    at.button(key=SAVE).click().run()
    [summary] = [e.value for e in at.error]
    assert "exists already" in summary and "copydesk" not in summary
