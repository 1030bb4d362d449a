"""Word-level differences between two revisions, as escaped HTML."""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

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


def word_diff_html(old: str, new: str) -> str:
    """``new`` with the words removed from ``old`` struck out and the added ones marked."""
    a, b = tokens(old), tokens(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(_esc("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f'<del style="{DEL_STYLE}">{_esc("".join(a[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            out.append(f'<ins style="{INS_STYLE}">{_esc("".join(b[j1:j2]))}</ins>')
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
