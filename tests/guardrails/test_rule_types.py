"""Table-driven tests per rule type: text in, findings (rule, field, span, match) out."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from copydesk.guardrails import Policy

RULES = """
pack: table
personalization:
  variables: [first_name, city]
  filters: [default, title]
rules:
  - {id: exist, type: existence, category: claims, message: "'{match}'", terms: [cheapest, "#1"],
     exceptions: [not the cheapest]}
  - {id: swap, type: substitution, category: terminology, message: "use {suggestion}",
     swap: {raincoat: jacket}}
  - {id: bang, type: occurrence, category: tone, message: "!", token: "!", max: 1}
  - {id: regex, type: pattern, category: urgency, message: "'{match}'", pattern: 'ends in \\d+ hours?'}
  - {id: caps, type: capitalization, category: tone, message: "'{match}'", allow: [NASA]}
  - {id: near, type: proximity, category: special_category, message: "'{match}'",
     anchors: [you, your], terms: [pregnant, diabetes], window: 2}
  - {id: cond, type: conditional, category: disclaimer, message: "'{match}'",
     when: [waterproof], requires: [tested to ISO 811]}
  - {id: sms, type: length, category: length, message: "{length}", channel: sms, field: text,
     max: 1, unit: segments}
  - {id: subj, type: length, category: length, message: "{length}", channel: email, field: subject, max: 10}
  - {id: tpl, type: template, category: template, severity: block, message: "tpl"}
  - {id: zw, type: invisible, category: injection, message: "{match}"}
"""

CASES: list[tuple[str, str, dict[str, str], list[tuple[str, str, int, int, str]]]] = [
    # existence: whole words, exceptions, symbols
    ("exist", "email", {"body": "The cheapest tent"}, [("exist", "body", 4, 12, "cheapest")]),
    ("exist", "email", {"body": "Cheapestville is a town"}, []),
    ("exist", "email", {"body": "We are not the cheapest, we are the best value"}, []),
    ("exist", "email", {"body": "Rated #1 in tests"}, [("exist", "body", 6, 8, "#1")]),
    # normalisation: zero-width split, look-alike letters; spans index the original
    ("exist", "email", {"body": "so che\u200bapest!"}, [("exist", "body", 3, 12, "che\u200bapest")]),
    ("exist", "email", {"body": "the сheapest"}, [("exist", "body", 4, 12, "сheapest")]),
    ("exist", "email", {"body": "ｃｈｅａｐｅｓｔ deals"}, [("exist", "body", 0, 8, "ｃｈｅａｐｅｓｔ")]),
    ("swap", "email", {"cta": "Grab a raincoat"}, [("swap", "cta", 7, 15, "raincoat")]),
    ("bang", "email", {"subject": "Wow! Yes! Go!"}, [("bang", "subject", 8, 9, "!"), ("bang", "subject", 12, 13, "!")]),
    ("bang", "email", {"subject": "Wow!", "body": "Yes!"}, []),  # per field
    ("regex", "email", {"body": "Sale ENDS IN 3 hours."}, [("regex", "body", 5, 20, "ENDS IN 3 hours")]),
    ("caps", "email", {"body": "A GPS and UV and NASA"}, []),
    ("caps", "email", {"body": "BIG SALE now"}, [("caps", "body", 0, 8, "BIG SALE")]),
    ("caps", "email", {"body": "It is AMAZING"}, [("caps", "body", 6, 13, "AMAZING")]),
    ("near", "email", {"body": "Since you are pregnant"}, [("near", "body", 14, 22, "pregnant")]),
    ("near", "email", {"body": "A guide to pregnancy and pregnant hikers"}, []),
    ("near", "email", {"body": "You rock. Diabetes charity walk"}, []),  # other sentence
    ("cond", "email", {"subject": "Waterproof boots", "body": "Great"}, [("cond", "subject", 0, 10, "Waterproof")]),
    ("cond", "email", {"subject": "Waterproof boots", "body": "Tested to ISO 811."}, []),
    ("sms", "sms", {"text": "a" * 160}, []),
    ("sms", "sms", {"text": "a" * 161}, [("sms", "text", 160, 161, "a")]),
    ("sms", "sms", {"text": "a" * 70 + "🥾"}, [("sms", "text", 70, 71, "🥾")]),
    ("sms", "sms", {"text": "a" * 69 + "€"}, []),  # GSM-7: € is an extension char (2 septets)
    ("sms", "sms", {"text": "a" * 159 + "€"}, [("sms", "text", 159, 160, "€")]),
    ("subj", "email", {"subject": "0123456789X"}, [("subj", "subject", 10, 11, "X")]),
    ("subj", "sms", {"text": "0123456789X"}, []),  # other channel
    ("tpl", "email", {"body": 'Hi {{ first_name | default("you") | title }}'}, []),
    ("tpl", "email", {"body": "Hi {{ first_name }}!"}, [("tpl", "body", 3, 19, "{{ first_name }}")]),
    ("tpl", "email", {"body": "x {{ a.b | default(1) }}"}, [("tpl", "body", 2, 24, "{{ a.b | default(1) }}")]),
    ("tpl", "email", {"body": "x {% for i in y %}"}, [("tpl", "body", 2, 18, "{% for i in y %}")]),
    ("tpl", "email", {"body": "Hi {{ city | default('x') "}, [("tpl", "body", 3, 26, "{{ city | default('x') ")]),
    (
        "tpl",
        "email",
        {"body": "Hi {{ city | default('x') | upper }}"},
        [("tpl", "body", 3, 36, "{{ city | default('x') | upper }}")],
    ),
    (
        "tpl",
        "email",
        {"body": "Hi {{ city + | default('x') }}"},
        [("tpl", "body", 3, 30, "{{ city + | default('x') }}")],
    ),
    (
        "zw",
        "email",
        {"body": "a\u200b\u200bb \u202ec"},
        [("zw", "body", 1, 3, "\u200b\u200b"), ("zw", "body", 5, 6, "\u202e")],
    ),
]


@pytest.fixture(scope="module")
def table_policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    from copydesk.guardrails import load_policy

    path = tmp_path_factory.mktemp("table") / "table.yaml"
    path.write_text(RULES, encoding="utf-8")
    return load_policy(path)


@pytest.mark.parametrize(("rule", "channel", "fields", "expected"), CASES)
def test_rule_type(
    table_policy: Policy,
    rule: str,
    channel: str,
    fields: dict[str, str],
    expected: list[tuple[str, str, int, int, str]],
) -> None:
    found = [f for f in table_policy.check(channel, fields) if f.rule_id == rule]
    got = [(f.rule_id, f.field, f.start, f.end, f.match) for f in found]
    assert got == expected
    for f in found:
        assert fields[f.field][f.start : f.end] == f.match


def test_messages_carry_match_and_suggestion(table_policy: Policy) -> None:
    (f,) = table_policy.check("email", {"cta": "Grab a raincoat"})
    assert f.message == "use jacket"
    assert f.suggestion == "jacket"


def test_brief_personalization_narrows_variables(table_policy: Policy, make_policy: Callable[[str], Policy]) -> None:
    from copydesk.models import Brief

    brief = Brief(
        id="b", segment={"name": "s"}, stage="active", channel="email", goal="g", key_message="k",
        personalization=["first_name"],
    )  # fmt: skip
    found = table_policy.check("email", {"body": "In {{ city | default('x') }}"}, brief=brief)
    assert [f.rule_id for f in found] == ["tpl"]
    assert "for this brief" in found[0].message


def test_unknown_channel_is_an_input_error(table_policy: Policy) -> None:
    from copydesk.errors import InputError

    with pytest.raises(InputError, match="unknown channel"):
        table_policy.check("fax", {"text": "x"})
