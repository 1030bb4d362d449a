"""The reviewer's word diff reads as text: spaces kept between removed and added words."""

from __future__ import annotations

import re

from copydesk.ui.diff import word_diff_html


def plain(html: str) -> str:
    """The diff as ~~removed~~ and ++added++ text."""
    html = re.sub(r"<del[^>]*>(.*?)</del>", r"~~\1~~", html)
    return re.sub(r"<ins[^>]*>(.*?)</ins>", r"++\1++", html)


def test_a_replaced_run_is_shown_whole_with_a_space() -> None:
    out = word_diff_html("It takes 5 days to dry.", "A few days to dry.")
    assert plain(out) == "~~It takes 5~~ ++A few++ days to dry."


def test_deleted_and_inserted_words_keep_their_spaces() -> None:
    assert plain(word_diff_html("Clean your boots now", "Clean boots now")) == "Clean ~~your~~ boots now"
    assert plain(word_diff_html("Clean boots now", "Clean your boots now")) == "Clean ++your++ boots now"
    assert plain(word_diff_html("Read the guide", "See the guide")) == "~~Read~~ ++See++ the guide"
    assert plain(word_diff_html("Dry them.", "Dry them slowly.")) == "Dry them ++slowly++."


def test_spacing_only_changes_and_escaping() -> None:
    assert plain(word_diff_html("a  b", "a b")) == "a b"
    assert plain(word_diff_html("x", "x\ny")) == "x<br>++y++"
    out = word_diff_html("Read the guide", "See the <guide>")
    assert "&lt;" in out and "<guide>" not in out
