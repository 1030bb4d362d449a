"""Term-list rules served by the policy's one Aho-Corasick automaton:
existence, substitution, proximity and conditional."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

import re2
from pydantic import Field

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import (
    CompiledRule,
    Hit,
    Message,
    Term,
    collect,
    exception_spans,
    inside,
    is_bounded,
    norm_term,
)
from copydesk.models import Finding

# Look-alike spellings for obfuscation-aware matching (profanity): l33t digits,
# symbols, and '*'/'#' standing in for a masked letter inside a word. 'l' also takes 'i':
# normalisation reads a 1 between letters as an i (b1sexual), which may have been an l.
_LEET = {
    "a": "a@4", "b": "b8", "e": "e3", "g": "g9", "i": "i1!|", "l": "l1|i", "o": "o0",
    "s": "s5$", "t": "t7+", "z": "z2", "u": "uv",
}  # fmt: skip
_SEP = r"[\s.\-_]?"


def obfuscation_pattern(term: str, sep: str = _SEP) -> str:
    """An RE2 pattern matching ``term`` with l33t letters, repeated letters, masked
    inner letters and single separators (``sep``) between letters (``f.u.c.k``, ``sh1t``);
    the words of a several-word term may be joined by any run of spaces or separators."""
    words = term.split()
    out: list[str] = []
    for w, word in enumerate(words):
        parts: list[str] = []
        for i, ch in enumerate(word):
            chars = _LEET.get(ch, ch)
            inner = (w > 0 or i > 0) and (w < len(words) - 1 or i < len(word) - 1)
            cls = "[" + "".join(re.escape(c) for c in chars) + (r"*#" if inner else "") + "]"
            parts.append(cls + "+")
        out.append(sep.join(parts))
    return r"[\s.\-_]*".join(out)


class Existence(RuleBase):
    """Flag any of ``terms`` (whole words unless ``whole_words`` is off), except
    inside one of ``exceptions``. ``obfuscations`` also catches l33t spellings,
    masked vowels and separators (``f*ck``, ``s.h.i.t``)."""

    type: Literal["existence"]
    terms: list[str] = Field(min_length=1)
    exceptions: list[str] = Field(default_factory=list)
    whole_words: bool = True
    obfuscations: bool = False
    spaced: bool = Field(default=True, description="with obfuscations, a space may separate letters too")


class ExistenceRule(CompiledRule):
    spec_model = Existence
    lexical = True
    spec: Existence

    def __init__(self, spec: Existence, source: str, index: int) -> None:
        super().__init__(spec, source, index)
        self._regex = None
        self.needs_hits = not spec.obfuscations
        if spec.obfuscations:
            # longest first: RE2 alternation is leftmost-first, like Perl
            terms = sorted((norm_term(t) for t in spec.terms), key=len, reverse=True)
            sep = _SEP if spec.spaced else r"[.\-_]?"
            alternation = "|".join(obfuscation_pattern(t, sep) for t in terms)
            self._regex = re2.compile(f"(?:{alternation})")

    def prefilter_pattern(self) -> str | None:
        # the obfuscation pattern also matches every term as written, so a message it
        # does not match has nothing for this rule
        return None if self._regex is None else f"(?i:{self._regex.pattern})"

    def terms(self) -> Iterable[Term]:
        whole = self.spec.whole_words
        for t in self.spec.terms:
            yield Term(self.index, "term", norm_term(t), whole)
        for t in self.spec.exceptions:
            yield Term(self.index, "exception", norm_term(t), False)

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        skip = exception_spans(hits)
        spans = {(s, e) for s, e, t in hits if t.role == "term" and not inside(skip, s, e)}
        if self._regex is not None and msg.lower:
            text = msg.lower
            for m in self._regex.finditer(text):
                s, e = m.span()
                if is_bounded(text, s, e) and not inside(skip, s, e):
                    spans.add((s, e))
        # drop spans inside longer ones (the regex and the automaton may both match)
        ordered = sorted(spans, key=lambda se: (se[0], -se[1]))
        out: list[tuple[int, int]] = []
        for s, e in ordered:
            if out and s < out[-1][1]:
                continue
            out.append((s, e))
        return collect(msg.finding(self, s, e) for s, e in out)


class Substitution(RuleBase):
    """Flag a term and suggest the preferred one: ``swap: {bad: good}``."""

    type: Literal["substitution"]
    swap: dict[str, str] = Field(min_length=1)
    exceptions: list[str] = Field(default_factory=list)


class SubstitutionRule(CompiledRule):
    spec_model = Substitution
    lexical = True
    spec: Substitution
    needs_hits = True

    def terms(self) -> Iterable[Term]:
        for bad, good in self.spec.swap.items():
            yield Term(self.index, "term", norm_term(bad), True, good)
        for t in self.spec.exceptions:
            yield Term(self.index, "exception", norm_term(t), False)

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        skip = exception_spans(hits)
        found = []
        for s, e, t in hits:
            if t.role == "term" and not inside(skip, s, e):
                found.append(msg.finding(self, s, e, suggestion=t.data))
        return collect(found)


#: A word between anchor and term (punctuation and dashes are not words; "well-being" is one).
_GAP_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?;:\n]")


class Proximity(RuleBase):
    """Flag a term within ``window`` words of an anchor in the same sentence, e.g.
    a second-person anchor ("you", "your") near a sensitive term."""

    type: Literal["proximity"]
    anchors: list[str] = Field(min_length=1)
    terms: list[str] = Field(min_length=1)
    window: int = Field(default=4, ge=1)
    exceptions: list[str] = Field(default_factory=list)


class ProximityRule(CompiledRule):
    """A sensitive term within ``window`` words of an anchor, same sentence."""

    spec_model = Proximity
    lexical = True
    spec: Proximity
    needs_hits = True

    def terms(self) -> Iterable[Term]:
        for t in self.spec.anchors:
            yield Term(self.index, "anchor", norm_term(t), True)
        for t in self.spec.terms:
            yield Term(self.index, "term", norm_term(t), True)
        for t in self.spec.exceptions:
            yield Term(self.index, "exception", norm_term(t), False)

    def _near(self, text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
        lo, hi = (a[1], b[0]) if a[0] <= b[0] else (b[1], a[0])
        if hi < lo:  # overlapping
            return True
        gap = text[lo:hi]
        if _SENTENCE_END.search(gap):
            return False
        return len(_GAP_WORD.findall(gap)) <= self.spec.window

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        anchors = [(s, e) for s, e, t in hits if t.role == "anchor"]
        if not anchors:
            return []
        skip = exception_spans(hits)
        found = []
        for s, e, t in hits:
            if t.role != "term" or inside(skip, s, e):
                continue
            if any(self._near(msg.lower, a, (s, e)) for a in anchors):
                found.append(msg.finding(self, s, e))
        return collect(found)


class Conditional(RuleBase):
    """If any ``when`` term appears in the message, one of ``requires`` must too."""

    type: Literal["conditional"]
    when: list[str] = Field(min_length=1)
    requires: list[str] = Field(min_length=1)


class ConditionalRule(CompiledRule):
    """A claim (``when``) in any field requires one of ``requires`` somewhere in the
    message; the finding sits on the first claim."""

    spec_model = Conditional
    lexical = True
    spec: Conditional
    needs_hits = True

    def terms(self) -> Iterable[Term]:
        for t in self.spec.when:
            yield Term(self.index, "when", norm_term(t), True)
        for t in self.spec.requires:
            yield Term(self.index, "requires", norm_term(t), False)

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        if any(t.role == "requires" for _, _, t in hits):
            return []
        for s, e, t in hits:
            if t.role == "when":
                found = msg.finding(self, s, e)
                if found is not None:
                    return [found]
        return []
