"""What the approved export says a variant needs at render time."""

from copydesk.placeholders import fields_placeholders, placeholders


def test_variables_and_their_defaults():
    text = 'Hi {{ first_name | default("there") }} in {{ city | title | default("your town") }}, {{ points }}'
    assert placeholders(text) == {"first_name": "there", "city": "your town", "points": None}


def test_plain_or_broken_text_needs_nothing():
    assert placeholders("No placeholders here") == {}
    assert placeholders("{{ unclosed") == {}


def test_a_default_anywhere_in_the_revision_counts():
    fields = {"subject": "Hi {{ first_name }}", "body": 'Dear {{ first_name | default("friend") }}'}
    assert fields_placeholders(fields) == {"first_name": "friend"}
