"""Text normalisation before matching, with an offset map back to the original text.

A banned term split by a zero-width character (``che\u200bapest``) or written with
look-alike letters (Cyrillic ``сheapest``, full-width ``ｃｈｅａｐｅｓｔ``) must still be
caught, but findings must point at the text the writer actually typed. So
:func:`normalize` returns the normalised text together with ``origin``: for every
normalised character, the index of the original character it came from.

Steps, per character: drop invisible characters (zero-width, soft hyphen, BOM,
bidirectional controls, Unicode tag characters, Hangul fillers, variation selectors),
NFKC, drop combining marks (``f\u0301uck``, ``sh\u0336it``), then fold a small table of look-alikes (Cyrillic and
Greek letters that render like Latin ones, curly quotes) to ASCII. The length of the
text never changes under ``str.lower`` afterwards (U+0130 is folded first), so the
lower-cased text shares the same map.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: Characters that render as nothing; removed before matching.
INVISIBLE = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
    # bidirectional controls (Trojan Source)
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    # Hangul fillers: render as blank but count as letters, so they split a word unseen
    "\u115f\u1160\u3164\uffa0"
    # variation selectors
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    # Unicode tag characters (U+E0000 block): invisible, used to smuggle text
    + "".join(chr(c) for c in range(0xE0000, 0xE0080))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)

#: The bidirectional controls alone: these can reorder what a reader sees.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ѵ": "v", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u",
    "ε": "e", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin oddities
    "ı": "i", "ɡ": "g", "ℓ": "l", "\u0130": "I",
    # punctuation
    "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"',
    "\u201d": '"', "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised ``text`` of ``original``; ``origin[i]`` is the original index of
    ``text[i]`` (``None`` when the two are identical)."""

    original: str
    text: str
    origin: tuple[int, ...] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of the normalised text to the original text."""
        if self.origin is None:
            return start, end
        if start >= len(self.origin):
            n = len(self.original)
            return n, n
        o_start = self.origin[start]
        o_end = self.origin[end - 1] + 1 if end > start else o_start
        return o_start, o_end


def _fold(ch: str) -> str:
    if ch in INVISIBLE or unicodedata.combining(ch):
        return ""
    out = unicodedata.normalize("NFKC", ch)
    if len(out) == 1:
        return _LOOKALIKES.get(out, out)
    return "".join(_LOOKALIKES.get(c, c) for c in out if c not in INVISIBLE and not unicodedata.combining(c))


def normalize(text: str) -> Normalized:
    """NFKC, invisible characters removed, look-alikes folded; with an offset map."""
    if text.isascii():
        return Normalized(text, text, None)
    parts: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            parts.append(ch)
            origin.append(i)
            continue
        folded = _fold(ch)
        for c in folded:
            parts.append(c)
            origin.append(i)
    out = "".join(parts)
    if out == text:
        return Normalized(text, text, None)
    return Normalized(text, out, tuple(origin))
