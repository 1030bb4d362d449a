"""The app's pure helpers: highlighting, diffs, coverage, paging, forms, contacts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from copydesk.errors import InputError
from copydesk.models import ApprovedContent, Finding, Waiver
from copydesk.ui.campaign_tools import outcome_rows, sandboxed_frame
from copydesk.ui.coverage import coverage_matrix, empty_cells
from copydesk.ui.diff import revision_diff, word_diff_html
from copydesk.ui.filters import filter_briefs, paginate, parse_contact_fields
from copydesk.ui.forms import brief_from_form, brief_to_form
from copydesk.ui.highlight import finding_lines, highlight_html, md_escape, waived_keys
from copydesk.vocab import Category, Channel, Severity, Stage


def _f(start: int, end: int, severity: Severity = Severity.BLOCK, rule: str = "r", field: str = "body",
       message: str = "m") -> Finding:
    return Finding(rule_id=rule, category=Category.CLAIMS, severity=severity, field=field, start=start, end=end,
                   match="x", message=message)


def test_highlight_escapes_text_and_marks_the_span() -> None:
    text = "<b>Free</b> & guaranteed"
    start = text.index("guaranteed")
    out = highlight_html(text, [_f(start, start + 10, message='say "no" <now>')])
    assert out.startswith("&lt;b&gt;Free&lt;/b&gt; &amp; <mark")
    assert 'class="cd-block"' in out and ">guaranteed</mark>" in out
    assert "&lt;now&gt;" in out and "<now>" not in out and "&quot;no&quot;" in out


def test_highlight_overlaps_take_the_most_severe_colour_and_clip() -> None:
    out = highlight_html("abcdef", [_f(0, 4, Severity.INFO, "a"), _f(2, 99, Severity.BLOCK, "b")])
    assert out.count("<mark") == 3
    assert 'class="cd-info"' in out and 'class="cd-block"' in out
    assert out.endswith(">ef</mark>")


def test_highlight_waived_is_struck_through() -> None:
    f = _f(0, 3)
    waiver = Waiver(rule_id="r", field="body", start=0, end=3, reason="ok", by="ben", at=datetime.now(UTC))
    out = highlight_html("abc def", [f], waived_keys([waiver]))
    assert "line-through" in out
    assert "waived" in finding_lines([f], waived_keys([waiver]))[0]


def test_highlight_no_findings_and_empty_span() -> None:
    assert highlight_html("a\nb", []) == "a<br>b"
    assert highlight_html("abc", [_f(1, 1)]) == "abc"


def test_md_escape() -> None:
    assert md_escape("*bold* [x](y) <i>") == r"\*bold\* \[x\](y) &lt;i&gt;"


def test_word_diff() -> None:
    out = word_diff_html("Read the guide", "See the <guide>")
    assert ">Read</del>" in out and ">See</ins>" in out and "&lt;" in out
    diffs = revision_diff({"a": "same", "b": "old"}, {"a": "same", "b": "new"})
    assert [(d.name, d.changed) for d in diffs] == [("a", False), ("b", True)]


def _item(stage: str, channel: str, segment: str = "hikers") -> ApprovedContent:
    return ApprovedContent(variant_id="V1", brief_id="b", revision=1, content_hash="h", channel=Channel(channel),
                           stage=Stage(stage),
                           segment=segment, fields={}, approved_by="ben", approved_at=datetime.now(UTC),
                           review_by=date(2099, 1, 1))


def test_coverage_matrix_counts_and_empty_cells() -> None:
    m = coverage_matrix([_item("onboarding", "email"), _item("onboarding", "email"), _item("loyal", "sms")])
    assert m.loc["onboarding", "email"] == 2 and m.loc["loyal", "sms"] == 1
    assert m.shape == (6, 5)
    assert len(empty_cells(m)) == 28
    seg = coverage_matrix([_item("loyal", "sms", "walkers")], by_segment=True, segments=["campers"])
    assert seg.loc["walkers · loyal", "sms"] == 1 and seg.loc["campers · loyal", "sms"] == 0


@pytest.mark.parametrize(("total", "page", "expect"), [
    (0, 1, (1, 1, 0)), (120, 1, (1, 3, 0)), (120, 3, (3, 3, 100)), (120, 9, (3, 3, 100)), (120, 0, (1, 3, 0)),
])
def test_paginate(total: int, page: int, expect: tuple[int, int, int]) -> None:
    p = paginate(total, page, 50)
    assert (p.number, p.pages, p.offset) == expect


def test_parse_contact_fields_types_values_and_names_bad_lines() -> None:
    c = parse_contact_fields("contact_id = 007\norders = 3\nconsent_email = true\nsignup_at = 2026-01-02\n# note")
    assert c == {"contact_id": "007", "orders": 3, "consent_email": True, "signup_at": date(2026, 1, 2)}
    assert parse_contact_fields('{"contact_id": "C1", "x": "2026-01-02"}')["x"] == date(2026, 1, 2)
    with pytest.raises(InputError, match="contact:2: expected 'field = value'"):
        parse_contact_fields("contact_id = 1\nnonsense")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_contact_fields("{oops")


def test_brief_form_round_trip_and_errors() -> None:
    values = {"id": "socks", "segment_name": "hikers", "stage": "active", "channel": "sms", "goal": "g",
              "key_message": "k", "must_include": "a\n\n b ", "personalization": "first_name, city", "variants": 2}
    brief = brief_from_form(values)
    assert brief.must_include == ["a", "b"] and brief.personalization == ["first_name", "city"]
    assert brief_from_form(brief_to_form(brief)) == brief
    with pytest.raises(InputError, match="field 'personalization'"):
        brief_from_form({**values, "personalization": "first name"})
    assert [b.id for b in filter_briefs([brief], text="SOCK", channel="sms")] == ["socks"]
    assert filter_briefs([brief], stage="loyal") == []


def test_sandboxed_frame_escapes_the_document() -> None:
    page = sandboxed_frame('<p onclick="x()">hi</p><script>alert(1)</script>')
    assert '<iframe sandbox=""' in page and "<script>" not in page and "&lt;script&gt;" in page


def test_outcome_rows() -> None:
    from collections import Counter

    from copydesk.render.pipeline import Summary

    s = Summary(total=5, rendered=2, held_out=1, suppressed=Counter({"no-consent": 2}), variants=Counter({"V1": 2}))
    assert outcome_rows(s) == [
        {"outcome": "rendered", "reason": "variant V1", "contacts": 2},
        {"outcome": "suppressed", "reason": "no-consent", "contacts": 2},
        {"outcome": "held out", "reason": "holdout", "contacts": 1},
    ]


def test_a_finding_without_matched_text_shows_no_empty_quotes() -> None:
    f = _f(0, 0).model_copy(update={"match": ""})
    line = finding_lines([f])[0]
    assert "“”" not in line and "on *body*:" in line
    assert "“abc”" in finding_lines([_f(0, 3).model_copy(update={"match": "abc"})])[0]
