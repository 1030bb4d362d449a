"""Style rules: shouting in capitals (``capitalization``) and ``readability``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import pyphen
from pydantic import Field

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, collect
from copydesk.models import Finding

# A word in capitals: two or more upper-case letters (digits and inner ' or - allowed).
_CAPS_WORD = re.compile(r"(?<![\w'])[A-Z][A-Z0-9'-]*[A-Z0-9](?![\w'])")
_HAS_CAPS_RUN = re.compile(r"[A-Z]{2}")


class Capitalization(RuleBase):
    """Shouting: runs of all-capital words. Words in ``allow`` and acronyms up to
    ``acronym_max`` letters (GPS, UV) are fine."""

    type: Literal["capitalization"]
    allow: list[str] = Field(default_factory=list)
    acronym_max: int = Field(default=3, ge=0)
    min_words: int = Field(default=1, ge=1, description="capital words in a row to flag")


class CapitalizationRule(CompiledRule):
    """Runs of all-capital words, ignoring allowed words and short acronyms."""

    spec_model = Capitalization
    lexical = True
    spec: Capitalization

    def __init__(self, spec: Capitalization, source: str, index: int) -> None:
        super().__init__(spec, source, index)
        self._allow = frozenset(a.upper() for a in spec.allow)

    def _shouting(self, word: str) -> bool:
        letters = sum(c.isalpha() for c in word)
        if letters <= self.spec.acronym_max:
            return False
        return word.upper() not in self._allow and word.rstrip("'S") not in self._allow

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        text = msg.text
        if not _HAS_CAPS_RUN.search(text):
            return []
        # runs of adjacent capital words; a run shouts when it holds a shouting word
        # (so "BIG SALE" is one span even though "BIG" alone could be an acronym)
        runs: list[list[int]] = []  # [start, end, shouting words]
        last_end = -10
        for m in _CAPS_WORD.finditer(text):
            s, e = m.span()
            loud = int(self._shouting(m.group(0)))
            gap = text[last_end:s]
            if runs and gap.strip(" ,") == "" and "\n" not in gap:
                runs[-1][1] = e
                runs[-1][2] += loud
            else:
                runs.append([s, e, loud])
            last_end = e
        return collect(msg.finding(self, s, e) for s, e, n in runs if n and n >= self.spec.min_words)


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SENTENCE = re.compile(r"[.!?]+(?:\s|$)")


@lru_cache(maxsize=1)
def _dictionary() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_GB")


@lru_cache(maxsize=50_000)
def syllables(word: str) -> int:
    """Syllables of ``word`` by pyphen hyphenation points (at least one)."""
    return len(_dictionary().positions(word.lower())) + 1


def fk_grade(text: str) -> tuple[float, int]:
    """Flesch-Kincaid grade level of ``text`` and its word count."""
    words = _WORD.findall(text)
    if not words:
        return 0.0, 0
    sentences = max(1, len(_SENTENCE.findall(text)))
    syl = sum(syllables(w) for w in words)
    n = len(words)
    return 0.39 * n / sentences + 11.8 * syl / n - 15.59, n


class Readability(RuleBase):
    """Flesch-Kincaid grade above ``max_grade``, on texts of at least ``min_words``."""

    type: Literal["readability"]
    max_grade: float = 9.0
    min_words: int = Field(default=60, ge=10)


class ReadabilityRule(CompiledRule):
    """Grade level too high; only fields with enough words to score are judged."""

    spec_model = Readability
    spec: Readability

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        found = []
        for view in msg.views:
            if not self.wants_field(view.name):
                continue
            text = view.norm.text
            if text.count(" ") + 1 < self.spec.min_words:
                continue
            grade, n = fk_grade(text)
            if n < self.spec.min_words or grade <= self.spec.max_grade:
                continue
            message = self.spec.message.replace("{grade}", f"{grade:.1f}")
            found.append(msg.finding(self, 0, len(text), local=view, message=message))
        return collect(found)
