"""Free text a person must actually write: a waiver reason, a rejection comment.

A reason made of a zero-width space, a BOM, a Hangul filler or a run of spaces looks
written in a form and empty on the page. :func:`visible` keeps what a reader can see:
the text after NFKC with format and control characters, whitespace and blank "letters"
removed; :func:`require_visible` refuses text where nothing visible is left.
"""

from __future__ import annotations

import unicodedata

from copydesk.errors import InputError
from copydesk.inputs import check_text

#: Letters and symbols that render as blank space (Unicode classes them as visible).
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")

#: General categories of characters a reader can see; marks (M*) only decorate them.
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")


def visible(text: str) -> str:
    """The characters of ``text`` a reader can see, after NFKC normalisation."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(
        ch for ch in normal
        if ch not in BLANK_CHARACTERS and unicodedata.category(ch).startswith(_VISIBLE_CATEGORIES)
    )


def require_visible(text: str, message: str, *, field: str) -> str:
    """``text`` with surrounding whitespace removed; :class:`InputError` (``message``,
    naming ``field``) when nothing visible is left, or when it holds a NUL, a control
    character or a lone surrogate."""
    check_text(text, field)
    if not visible(text):
        raise InputError(message, field=field)
    return text.strip()


def optional_visible(text: str, *, field: str) -> str:
    """For text that may be left empty (an approval comment): ``text`` without
    surrounding whitespace, or ``""`` when nothing visible was written, so an invisible
    "comment" is stored as what it is, no comment. NUL, control characters and lone
    surrogates are still refused."""
    check_text(text, field)
    return text.strip() if visible(text) else ""
