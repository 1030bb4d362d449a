"""The proximity rule's window: a term with exactly ``window`` words between it and an
anchor is flagged, one more word and it is not, on either side of the anchor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from copydesk.guardrails import Policy

FILLER = ["kind", "old", "dear", "brave", "quiet", "keen", "tall", "calm", "wise"]


def pack(window: int) -> str:
    return f"""
        pack: near
        rules:
          - {{id: near, type: proximity, category: special_category, message: "'{{match}}'",
             anchors: [your], terms: [diabetes], window: {window}}}
        """


def sentence(gap: int, *, term_first: bool) -> tuple[str, int]:
    """A sentence with ``gap`` filler words between anchor and term; the term's offset."""
    words = FILLER[:gap]
    parts = ["diabetes", *words, "your"] if term_first else ["your", *words, "diabetes"]
    text = "We know " + " ".join(parts) + " matters."
    return text, text.index("diabetes")


def flagged(policy: Policy, text: str) -> list[tuple[int, int, str]]:
    return [(f.start, f.end, f.match) for f in policy.check("email", {"body": text}) if f.rule_id == "near"]


@pytest.mark.parametrize("window", [1, 2, 4, 7])
@pytest.mark.parametrize("term_first", [False, True], ids=["after-anchor", "before-anchor"])
def test_window_is_inclusive_and_exact(
    make_policy: Callable[[str], Policy], window: int, term_first: bool
) -> None:
    policy = make_policy(pack(window))
    for gap in range(window + 1):
        text, start = sentence(gap, term_first=term_first)
        assert flagged(policy, text) == [(start, start + 8, "diabetes")], (gap, text)
    text, _ = sentence(window + 1, term_first=term_first)
    assert flagged(policy, text) == [], text
    text, _ = sentence(window + 2, term_first=term_first)
    assert flagged(policy, text) == [], text


@pytest.mark.parametrize("term_first", [False, True], ids=["after-anchor", "before-anchor"])
def test_runs_of_whitespace_do_not_count_as_words(
    make_policy: Callable[[str], Policy], term_first: bool
) -> None:
    policy = make_policy(pack(2))
    text = "your \t kind  old,  diabetes" if not term_first else "diabetes  kind \t old,  your"
    start = text.index("diabetes")
    assert flagged(policy, text) == [(start, start + 8, "diabetes")]
    text = "your  kind old  dear diabetes" if not term_first else "diabetes  kind old  dear your"
    assert flagged(policy, text) == []


@pytest.mark.parametrize("text", ["your, kind old diabetes", "diabetes, kind old your",
                                  "your kind - old diabetes"])
def test_punctuation_is_not_a_word(make_policy: Callable[[str], Policy], text: str) -> None:
    policy = make_policy(pack(2))
    start = text.index("diabetes")
    assert flagged(policy, text) == [(start, start + 8, "diabetes")]


def test_the_nearest_anchor_counts(make_policy: Callable[[str], Policy]) -> None:
    policy = make_policy(pack(2))
    # far from the first anchor, within the window of the second one (on its other side)
    text = "your kind old dear brave diabetes quiet your"
    assert flagged(policy, text) == [(text.index("diabetes"), text.index("diabetes") + 8, "diabetes")]
    text = "your kind old dear brave diabetes quiet keen tall your"
    assert flagged(policy, text) == []
