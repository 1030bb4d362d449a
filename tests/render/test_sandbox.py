"""Contact data is data: injection, escaping, long values, unicode, sandbox limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copydesk.errors import NotFoundError, RenderError, TemplateSafetyError
from copydesk.render.sandbox import compile_text, make_env
from copydesk.render.templates import MessageRenderer, load_channel_template
from tests.rules.rules_helpers import content

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"

EMAIL = content("V1", "boots-onboarding", fields={
    "subject": "Ready for the hills, {{ first_name | default('walker') }}?",
    "preheader": "Boot care tips inside",
    "body": "Hi {{ first_name | default('there') }},\n\nYour new boots deserve a proper break-in.",
    "cta": "Read the guide",
})
SMS = content("S1", "sms-active-restock", channel="sms",
              fields={"text": "{{ first_name | default('Hi') }}, trail runners are back in stock."})
PUSH = content("P1", "push-loyal-points", channel="push",
               fields={"title": "{{ first_name | default('Hey') }}, points!",
                       "body": "You have {{ points | default(0) }} points"})


def email_renderer() -> MessageRenderer:
    return MessageRenderer("email", load_channel_template(TEMPLATES, "email/default"),
                           campaign_id="spring-boots")


def render_email(**fields: Any) -> dict[str, str]:
    return email_renderer().render(EMAIL, {"contact_id": "C1", **fields})


@pytest.mark.parametrize(
    "value",
    [
        "{{ 7*7 }}",
        "{% for x in range(10) %}x{% endfor %}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{# comment #}",
        "{{ config }}",
    ],
)
def test_template_code_in_a_contact_field_prints_as_typed(value: str) -> None:
    out = render_email(first_name=value)
    assert out["subject"] == f"Ready for the hills, {value}?"
    assert value in out["rendered_txt"]


def test_html_in_a_name_is_escaped_in_html_and_kept_in_text() -> None:
    out = render_email(first_name="<script>alert('x')</script>")
    assert "<script>" not in out["rendered_html"]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in out["rendered_html"]
    assert "<script>alert('x')</script>" in out["rendered_txt"]


def test_quotes_cannot_break_out_of_html_attributes() -> None:
    out = render_email(contact_id='C1" onclick="x')
    assert 'onclick="x' not in out["rendered_html"]


def test_push_payload_stays_valid_json_whatever_the_name() -> None:
    r = MessageRenderer("push", load_channel_template(TEMPLATES, "push/default"), campaign_id="p")
    name = 'Zoë "the hiker" \\ </script> \n 🥾'
    out = r.render(PUSH, {"contact_id": "C1", "first_name": name, "points": 1200})
    payload = json.loads(out["rendered_json"])
    assert payload["title"] == f"{name}, points!"
    assert payload["body"] == "You have 1200 points"
    assert payload["data"] == {"campaign": "p", "variant": "P1"}


def test_sms_template_adds_opt_out() -> None:
    r = MessageRenderer("sms", load_channel_template(TEMPLATES, "sms/default"), campaign_id="s")
    out = r.render(SMS, {"contact_id": "C1", "first_name": "Siân"})
    assert out["rendered_txt"] == "Siân, trail runners are back in stock. Reply STOP to opt out."


def test_sms_template_does_not_repeat_an_opt_out_the_copy_carries() -> None:
    sms = content("S2", "sms-active-restock", channel="sms",
                  fields={"text": "Trail runners are back. Reply STOP to opt out."})
    r = MessageRenderer("sms", load_channel_template(TEMPLATES, "sms/default"), campaign_id="s")
    out = r.render(sms, {"contact_id": "C1"})
    assert out["rendered_txt"] == "Trail runners are back. Reply STOP to opt out."


def test_very_long_values_render_intact() -> None:
    name = "A" * 1_000_000
    out = render_email(first_name=name)
    assert out["subject"] == f"Ready for the hills, {name}?"
    assert name in out["rendered_html"]


@pytest.mark.parametrize("name", ["Siân", "Chloé", "زينب", "山田", "👩‍🦰 Ann", "e\u0301", "Zoë\u200b"])
def test_unicode_survives(name: str) -> None:
    out = render_email(first_name=name)
    assert out["subject"] == f"Ready for the hills, {name}?"
    assert name in out["rendered_html"] and name in out["rendered_txt"]


def test_missing_field_uses_the_default() -> None:
    out = render_email()
    assert out["subject"] == "Ready for the hills, walker?"
    assert out["body"].startswith("Hi there,")


def test_missing_field_without_default_is_a_render_error() -> None:
    v = content("V9", "b", fields={"subject": "Hi {{ first_name }}", "body": "b"})
    with pytest.raises(RenderError, match="first_name"):
        email_renderer().render(v, {"contact_id": "C1"})
    assert email_renderer().render(v, {"contact_id": "C1", "first_name": "Bo"})["subject"] == "Hi Bo"


def test_only_the_fields_a_variant_uses_reach_it() -> None:
    t = compile_text(make_env(), "{{ first_name | default('x') }}", source="s")
    assert t.fields == ("first_name",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ name | attr('__class__') }}", "filter 'attr' is not allowed"),
        ("{{ consent_email }}", "may not use field(s) consent_email"),
        ("{{ name ", "line 1"),
    ],
)
def test_unsafe_variant_text_is_refused_at_compile_time(text: str, message: str) -> None:
    with pytest.raises(TemplateSafetyError, match="may not|not allowed|line"):
        compile_text(make_env(), text, source="V1.body")
    with pytest.raises(TemplateSafetyError) as info:
        compile_text(make_env(), text, source="V1.body")
    assert message in str(info.value)


def test_sandbox_blocks_attribute_escapes_at_render_time() -> None:
    t = compile_text(make_env(), "{{ first_name.__class__.__mro__ }}", source="s")
    with pytest.raises(RenderError, match="unsafe"):
        t.render({"first_name": "a"})


def test_no_globals_are_available() -> None:
    t = compile_text(make_env(), "{{ range(3) }}", source="s")
    with pytest.raises(RenderError):
        t.render({})


def test_channel_templates_never_see_consent_flags(tmp_path: Path) -> None:
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "peek.txt.j2").write_text(
        "{{ contact.consent_sms | default('hidden') }}|{{ contact.first_name }}", encoding="utf-8")
    r = MessageRenderer("sms", load_channel_template(tmp_path, "sms/peek"), campaign_id="s")
    out = r.render(SMS, {"contact_id": "C1", "first_name": "Bo", "consent_sms": True})
    assert out["rendered_txt"] == "hidden|Bo"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ message.text ", "peek.txt.j2:1"),
        ("{{ secrets }}", "unknown variable(s) secrets"),
        ("{{ message.text | attr('x') }}", "filter 'attr' is not allowed"),
    ],
)
def test_bad_channel_templates_are_refused(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "peek.txt.j2").write_text(source, encoding="utf-8")
    with pytest.raises(TemplateSafetyError) as info:
        load_channel_template(tmp_path, "sms/peek")
    assert message in str(info.value)


def test_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="email/fancy"):
        load_channel_template(TEMPLATES, "email/fancy")


@pytest.mark.parametrize("ref", ["email/default", "sms/default", "push/default", "web/default",
                                 "ad/default"])
def test_every_sample_template_compiles(ref: str) -> None:
    parts = load_channel_template(TEMPLATES, ref).parts
    assert parts


def test_email_has_unsubscribe_link_and_text_part() -> None:
    out = render_email(first_name="Amelia")
    assert "unsubscribe?c=C1&amp;campaign=spring-boots" in out["rendered_html"]
    assert "Unsubscribe: https://" in out["rendered_txt"]
    assert "<p>Hi Amelia,</p>" in out["rendered_html"]
