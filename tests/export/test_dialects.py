"""Each dialect's placeholder, literal and comment forms, and what each refuses."""

from __future__ import annotations

import pytest

from copydesk.export.dialect import TranslationError, Untranslatable, comment_text, get, names
from copydesk.export.parse import ParseProblem, Placeholder, parse_text
from copydesk.export.translate import translate_text


def write(dialect: str, text: str, field_map: dict[str, str] | None = None, *, html: bool = False) -> str:
    out, problems = translate_text(get(dialect), parse_text(text), field_map or {}, html=html, attributes={})
    if problems:
        raise problems[0]
    return out


def problem(dialect: str, text: str, field_map: dict[str, str] | None = None) -> str:
    try:
        parts = parse_text(text)
    except ParseProblem as exc:
        return exc.reason
    _, problems = translate_text(get(dialect), parts, field_map or {}, html=False, attributes={})
    assert problems, f"{dialect} wrote {text!r}"
    return problems[0].reason


def test_parse_keeps_literals_placeholders_and_drops_comments() -> None:
    parts = parse_text("Hi {{ first_name | d('you') | upper }}{# note #}, ok  {{- city | default(3) }}")
    assert parts[0] == "Hi " and parts[2] == ", ok"
    first = parts[1]
    assert isinstance(first, Placeholder) and first.field == "first_name" and first.fallback == "you"
    assert [f.name for f in first.filters] == ["upper"] and first.fallback_shown == "YOU"
    assert isinstance(parts[3], Placeholder) and parts[3].fallback == "3"


@pytest.mark.parametrize(("text", "reason"), [
    ("{{ first_name | title | default('x') }}", "runs before the default"),
    ("{{ first_name | default('x', true) }}", "default(..., true)"),
    ("{{ first_name | default('x') | default('y') }}", "more than one default"),
    ("{% if first_name %}x{% endif %}", "statements"),
    ("{{ contact.first_name | default('x') }}", "attribute and item access"),
    ("{{ consent_email | default('x') }}", "not an allowed personalization field"),
])
def test_copy_no_platform_can_reproduce_is_refused(text: str, reason: str) -> None:
    for dialect in names():
        assert reason in problem(dialect, text)


def test_no_default_is_refused_everywhere() -> None:
    for dialect in names():
        assert "no default: copydesk rejects a contact without 'first_name'" in problem(
            dialect, "Hi {{ first_name }}", {"first_name": "FNAME"} if dialect == "mailchimp" else None)


def test_braze_forms() -> None:
    assert write("braze", "Hi {{ first_name | default('there') }}") == "Hi {{${first_name} | default: 'there'}}"
    assert write("braze", "{{ fav | default(\"it's\") | lower }}", html=True) == \
        "{{custom_attribute.${fav} | default: \"it's\" | downcase | escape}}"
    assert "literal '${'" in problem("braze", "Price ${x}")
    assert "both quote marks" in problem("braze", "{{ x | default(\"it's \\\"q\\\"\") }}")
    assert "has no Liquid equivalent" in problem("braze", "{{ x | default('a') | truncate(3) }}")


def test_iterable_forms() -> None:
    assert write("iterable", "Hi {{ first_name | default('there') }}") == 'Hi {{{defaultIfEmpty firstName "there"}}}'
    assert write("iterable", "{{ first_name | default('there') }}", html=True) == '{{defaultIfEmpty firstName "there"}}'
    assert write("iterable", "{{ x | default('say \"hi\"') }}") == "{{{defaultIfEmpty x 'say \"hi\"'}}}"
    assert "not translated to Iterable" in problem("iterable", "{{ x | default('a') | upper }}")
    assert "close the Handlebars tag" in problem("iterable", "{{ x | default('a') }}}")


def test_klaviyo_forms() -> None:
    assert write("klaviyo", "{{ first_name | default('there') | capitalize }}") == \
        "{{ first_name|default:'there'|lower|capfirst }}"
    assert write("klaviyo", "{{ phone | default('n/a') }}") == "{{ person.phone_number|default:'n/a' }}"
    assert write("klaviyo", "{{ fav | default('x') }}", {"fav": "event.Activity"}) == "{{ event.Activity|default:'x' }}"
    assert "holds '|'" in problem("klaviyo", "{{ x | default('a|b') }}")


def test_mailchimp_forms() -> None:
    assert write("mailchimp", "Hi {{ first_name | default('there') }}!") == \
        "Hi *|IF:FNAME|**|FNAME|**|ELSE:|*there*|END:IF|*!"
    assert write("mailchimp", "Hi {{ first_name | default('') }}!") == "Hi *|FNAME|*!"
    assert "holds '*|'" in problem("mailchimp", "Use *|FNAME|* {{ first_name | default('x') }}")
    assert "no Mailchimp (merge tags) attribute is mapped for field 'city'" in problem(
        "mailchimp", "{{ city | default('x') }}")
    assert "would read as '*|'" in problem("mailchimp", "5*{{ first_name | default('x') }}")
    assert "not translated to Mailchimp" in problem("mailchimp", "{{ first_name | default('x') | upper }}")


def test_sfmc_forms() -> None:
    assert write("sfmc", "{{ first_name | default(\"it's\") | upper }}") == \
        "%%=Uppercase(IIF(Empty(AttributeValue(\"FirstName\")),'it''s',AttributeValue(\"FirstName\")))=%%"
    assert write("sfmc", "100%% sure, 5% off") == "100%%=Char(37,2)=%% sure, 5% off"
    assert write("sfmc", "x%{{ city | default('y') }}%") == (
        "x%%=Char(37)=%%%%=IIF(Empty(AttributeValue(\"city\")),'y',AttributeValue(\"city\"))=%%%%=Char(37)=%%")
    assert "holds '%%'" in problem("sfmc", "{{ city | default('%%') }}")


def test_hubspot_forms() -> None:
    assert write("hubspot", "{{ first_name | default('there') | trim }}", html=True) == \
        "{{ contact.firstname|default('there', true)|trim|escape }}"
    assert write("hubspot", "{{ Favourite | default('x') }}") == "{{ contact.favourite|default('x', true) }}"


def test_comments_cannot_be_closed_by_their_content() -> None:
    text = comment_text("by x#}{{!-- --}}*/ ]%% {% endcomment %}\nnext")
    assert not any(s in text for s in ("#}", "--}}", "*/", "]%%", "%}", "\n"))


def test_translation_error_lists_every_problem() -> None:
    problems = [Untranslatable("V1", "subject", "{{ x }}", "no default"),
                Untranslatable("V2", "body", "{{ y | title }}", "filter 'title'")]
    message = str(TranslationError("braze", problems))
    assert "2 placeholder(s) cannot be exported to braze" in message
    assert "V1 field subject: '{{ x }}': no default" in message and "V2 field body" in message


def test_field_map_keys_and_values_are_checked() -> None:
    from pydantic import ValidationError

    from copydesk.workspace import WorkspaceConfig

    with pytest.raises(ValidationError) as info:
        WorkspaceConfig.model_validate({"esp": {"braze": {"consent_email": "x", "first name": "y"},
                                                "hubspot": {"city": "town"}}})
    text = str(info.value)
    assert "esp.braze.consent_email: not a personalization field" in text
    assert "esp.braze.first name: not a personalization field" in text
    assert "esp.hubspot.city: 'town' is not a HubL property" in text
    assert WorkspaceConfig.model_validate({"esp": {"iterable": {"city": "profile.city"}}}).esp.iterable
