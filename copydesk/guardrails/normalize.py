"""Text normalisation before matching, with an offset map back to the original text.

A banned term split by a zero-width character (``che\u200bapest``) or written with
look-alike letters (Cyrillic ``сheapest``, full-width ``ｃｈｅａｐｅｓｔ``) must still be
caught, but findings must point at the text the writer actually typed. So
:func:`normalize` returns the normalised text together with ``origin``: for every
normalised character, the index of the original character it came from.

Steps, per character: drop invisible characters (zero-width, soft hyphen, BOM,
bidirectional controls, Unicode tag characters, Hangul fillers; variation selectors too,
though they are not reported as invisible),
NFKC, drop combining marks (``f\u0301uck``, ``sh\u0336it``), then fold a small table of look-alikes (Cyrillic and
Greek letters that render like Latin ones, curly quotes) to ASCII. The length of the
text never changes under ``str.lower`` afterwards (U+0130 is folded first), so the
lower-cased text shares the same map.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import re2

#: Characters that render as nothing; removed before matching.
INVISIBLE = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
    # bidirectional controls (Trojan Source)
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    # Hangul fillers: render as blank but count as letters, so they split a word unseen
    "\u115f\u1160\u3164\uffa0"
    # Unicode tag characters (U+E0000 block): invisible, used to smuggle text
    + "".join(chr(c) for c in range(0xE0000, 0xE0080))
)

#: Variation selectors pick how the character before them is drawn (U+FE0F after an
#: emoji): legitimate, so not reported, but dropped before matching.
VARIATION_SELECTORS = frozenset(
    "".join(chr(c) for c in range(0xFE00, 0xFE10)) + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
_DROPPED = INVISIBLE | VARIATION_SELECTORS

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
    if ch in _DROPPED or unicodedata.combining(ch):
        return ""
    out = unicodedata.normalize("NFKC", ch)
    if len(out) == 1:
        return _LOOKALIKES.get(out, out)
    return "".join(_LOOKALIKES.get(c, c) for c in out if c not in _DROPPED and not unicodedata.combining(c))


#: Three or more single letters, each followed by the same separator: "c u r e", "s.h.i.t".
_SPACED = re.compile(r"(?<![\w'’])[^\W\d_]([ .*_·-])(?:[^\W\d_]\1){1,}[^\W\d_](?![\w'’])")


#: A cheap RE2 test for the above (no backreference), run first on every text.
_MAYBE_SPACED = re2.compile(r"(?:^|[^\pL\pN_'’])\pL[ .*_·-]\pL[ .*_·-]\pL(?:$|[^\pL\pN_'’])")


#: Digits standing in for letters inside a word ("b1sexual", "Tr41lm4rt").
_LEET_DIGITS = str.maketrans("0134578", "oieastb")
_LEET_RUN = re.compile(r"(?<=[A-Za-z])[0134578]{1,2}(?=[A-Za-z])")
_WORD = re.compile(r"[A-Za-z0-9]*[A-Za-z][0134578]{1,2}[A-Za-z][A-Za-z0-9]*")
_MAYBE_LEET = re2.compile(r"[A-Za-z][0134578]{1,2}[A-Za-z]")


def _deleet(text: str) -> str:
    """Read digits between letters as the letters they stand for, in words that are
    mostly letters (so codes like RSSMRA85T10A562S or MORGA753116SM9IJ stay as typed).
    Same length, so the offset map is unchanged."""

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        letters = sum(c.isalpha() for c in w)
        if letters < 3 or letters < 2 * (len(w) - letters):
            return w
        return _LEET_RUN.sub(lambda d: d.group(0).translate(_LEET_DIGITS), w)

    return _WORD.sub(word, text)


#: Either of the two pre-tests above, in one pass (most copy has neither).
_MAYBE_EITHER = re2.compile(_MAYBE_LEET.pattern + "|" + _MAYBE_SPACED.pattern)


def _unspace(text: str, origin: list[int]) -> tuple[str, list[int]]:
    """Join letters spaced out to dodge matching ("m i s s  o u t" -> "miss out")."""
    parts: list[str] = []
    where: list[int] = []
    last = 0
    prev_end = -1
    for m in _SPACED.finditer(text):
        s, e = m.span()
        gap = text[last:s]
        if prev_end == last and gap and not gap.strip():
            gap = " "  # spaced-out words keep one space between them
            parts.append(gap)
            where.append(origin[s - 1])
        else:
            parts.append(gap)
            where.extend(origin[last:s])
        for i in range(s, e, 2):
            parts.append(text[i])
            where.append(origin[i])
        last = prev_end = e
    parts.append(text[last:])
    where.extend(origin[last:])
    return "".join(parts), where


@lru_cache(maxsize=8192)
def _unchanged(ch: str) -> bool:
    return _fold(ch) == ch


def normalize(text: str) -> Normalized:
    """NFKC, invisible characters removed, look-alikes folded, spaced-out letters
    joined; with an offset map."""
    # most copy is ASCII plus characters folding leaves alone (£, é, —): no per-character pass
    if text.isascii() or all(_unchanged(c) for c in set(text) if not c.isascii()):
        if _MAYBE_EITHER.search(text) is None:
            return Normalized(text, text, None)
        out = _deleet(text) if _MAYBE_LEET.search(text) else text
        if _MAYBE_SPACED.search(out) is None or _SPACED.search(out) is None:
            return Normalized(text, out, None if out == text else tuple(range(len(text))))
        out, where = _unspace(out, list(range(len(out))))
        return Normalized(text, out, tuple(where))
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
    if _MAYBE_LEET.search(out):
        out = _deleet(out)
    if _MAYBE_SPACED.search(out) is not None and _SPACED.search(out) is not None:
        out, origin = _unspace(out, origin)
    if out == text:
        return Normalized(text, text, None)
    return Normalized(text, out, tuple(origin))
