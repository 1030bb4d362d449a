"""Word-level differences between two revisions, as escaped HTML."""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
#: a word or punctuation mark with the whitespace before it
_SPACED = re.compile(r"(\s*)(\w+|[^\w\s])", re.UNICODE)

INS_STYLE = "background:#d3f9d8;text-decoration:none"
DEL_STYLE = "background:#ffd8d8"


@dataclass(frozen=True)
class FieldDiff:
    """One field's change: ``html`` marks removed words with ``<del>``, added with ``<ins>``."""

    name: str
    changed: bool
    html: str


def tokens(text: str) -> list[str]:
    """Words, runs of whitespace and single punctuation marks, in order."""
    return _TOKENS.findall(text)


def _esc(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def spaced_words(text: str) -> list[tuple[str, str]]:
    """``(whitespace before, word)`` pairs; trailing whitespace is a last pair with no word."""
    pairs = [(m.group(1), m.group(2)) for m in _SPACED.finditer(text)]
    tail = text[len("".join(a + b for a, b in pairs)):]
    return pairs + ([(tail, "")] if tail else [])


def _run(pairs: list[tuple[str, str]]) -> str:
    """The text of consecutive pairs, without the whitespace before the first."""
    return "".join(a + b for a, b in pairs)[len(pairs[0][0]):] if pairs else ""


def word_diff_html(old: str, new: str) -> str:
    """``new`` with the words removed from ``old`` struck out and the added ones marked.

    Words are compared without their spacing, and a changed run is shown whole: the
    removed words, a space, the added words ("~~It takes 5~~ A few days"), never
    interleaved word by word."""
    a, b = spaced_words(old), spaced_words(new)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=[w for _, w in a], b=[w for _, w in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(_esc("".join(sp + w for sp, w in b[j1:j2])))
            continue
        gone, added = a[i1:i2], b[j1:j2]
        out.append(_esc((added or gone)[0][0]))  # the spacing before the change
        if gone and _run(gone).strip():
            out.append(f'<del style="{DEL_STYLE}">{_esc(_run(gone))}</del>')
        if added and _run(added).strip():
            out.append((" " if gone and _run(gone).strip() else "")
                       + f'<ins style="{INS_STYLE}">{_esc(_run(added))}</ins>')
        elif added:
            out.append(_esc(_run(added)))
    return "".join(out)


def revision_diff(old: dict[str, str], new: dict[str, str]) -> list[FieldDiff]:
    """Per field (in ``new``'s order, then fields only ``old`` has), what changed."""
    names = list(new) + [n for n in old if n not in new]
    out = []
    for name in names:
        before, after = old.get(name, ""), new.get(name, "")
        if before == after:
            out.append(FieldDiff(name, False, _esc(after)))
        else:
            out.append(FieldDiff(name, True, word_diff_html(before, after)))
    return out
