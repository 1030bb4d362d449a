"""The sample workspace's labelled eval set stays loadable and keeps its mix.

It does not run the policy; ``copydesk policy eval`` does that. It guards the data: every
line parses, every brief validates, and each category keeps enough rows to measure.
"""

from __future__ import annotations

from pathlib import Path

from copydesk.guardrails.evaluate import category_counts, load_cases
from copydesk.vocab import Channel

EVAL_SET = Path(__file__).resolve().parents[2] / "guardrails" / "eval" / "drafts.jsonl"

MEASURED = ("pii", "special_category", "claims", "disclaimer", "urgency", "competitor", "profanity",
            "tone", "length", "template", "injection", "grounding", "must_include", "leak")


def test_every_line_loads() -> None:
    cases, problems = load_cases(EVAL_SET)
    assert [str(p) for p in problems] == []
    assert len(cases) >= 330


def test_each_category_has_enough_rows_and_a_third_are_clean() -> None:
    cases, _ = load_cases(EVAL_SET)
    counts = category_counts(cases)
    assert {c: counts.get(c, 0) for c in MEASURED if counts.get(c, 0) < 20} == {}
    assert counts["clean"] / len(cases) >= 0.35
    assert {case.channel for case in cases} >= {Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.WEB}


def test_grounding_and_must_include_rows_have_a_brief() -> None:
    cases, _ = load_cases(EVAL_SET)
    needs_brief = [c.id for c in cases if c.expect & {"grounding", "must_include"} and c.brief is None]
    assert needs_brief == []
