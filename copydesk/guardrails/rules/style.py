"""Style rules: shouting in capitals (``capitalization``) and ``readability``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import pyphen
from pydantic import Field

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, FieldView, Hit, Message, RuleContext, collect
from copydesk.models import Finding

# A word in capitals: two or more upper-case letters (digits and inner ' or - allowed).
_CAPS_WORD = re.compile(r"(?<![\w'])[A-Z][A-Z0-9'-]*[A-Z0-9](?![\w'])")
_HAS_CAPS_RUN = re.compile(r"[A-Z]{2}")
_TAG_EDGES = frozenset("|%[]{}<>$_")


class Capitalization(RuleBase):
    """Shouting in capitals. A word shouts when it is in capitals, longer than
    ``acronym_max`` letters (or in ``loud``), and neither an ``allow``-ed acronym, a mandated ``keyword``
    (SMS STOP/HELP/INFO) nor a brand or product name the registry writes in capitals. A run of ``run_words``
    capital words shouts even when each is short ("GET UP TO"), and so does a field whose
    letters are mostly capitals (``max_caps_share``)."""

    type: Literal["capitalization"]
    allow: list[str] = Field(default_factory=list, description="acronyms and initialisms that are fine")
    keywords: list[str] = Field(default_factory=list, description="mandated keywords, e.g. STOP, HELP")
    loud: list[str] = Field(default_factory=list, description="words that shout however short (FREE, SALE)")
    acronym_max: int = Field(default=3, ge=0)
    min_words: int = Field(default=1, ge=1, description="shouting words in a run to flag")
    run_words: int = Field(default=3, ge=2, description="capital words in a row that shout however short")
    max_caps_share: float = Field(default=0.6, gt=0, le=1, description="share of a field's letters")
    min_letters: int = Field(default=16, ge=1, description="fields shorter than this are not judged by share")


class CapitalizationRule(CompiledRule):
    """Runs of capital words, ignoring allowed words, keywords, brand names and short acronyms."""

    spec_model = Capitalization
    lexical = True
    spec: Capitalization

    def __init__(self, spec: Capitalization, source: str, index: int) -> None:
        super().__init__(spec, source, index)
        self._exempt = frozenset(a.upper() for a in [*spec.allow, *spec.keywords])
        self._loud = frozenset(w.upper() for w in spec.loud)

    def bind(self, context: RuleContext) -> None:
        # only names the brand itself writes in capitals: "SUMMIT TRAIL BOOTS" still shouts
        words = {w for term in context.brand_terms for w in re.findall(r"[\w'+-]+", term) if w.isupper()}
        self._exempt = self._exempt | words

    def _exempt_word(self, word: str) -> bool:
        up = word.upper()
        return up in self._exempt or up.removesuffix("'S") in self._exempt or up.removesuffix("S") in self._exempt

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        text = msg.text
        if not _HAS_CAPS_RUN.search(text):
            return []
        found: list[Finding | None] = []
        for view in msg.views:
            found += self._field(msg, view)
        return collect(found)

    def _field(self, msg: Message, view: FieldView) -> list[Finding | None]:
        text = view.norm.text
        # runs of adjacent capital words: [start, end, shouting words, counted words]
        runs: list[list[int]] = []
        last_end = -10
        caps_letters = 0
        for m in _CAPS_WORD.finditer(text):
            s, e = m.span()
            word = m.group(0)
            # codes (HELLO10, GB29), labels ("NOTE:") and merge tags (*|FNAME|*) are not shouting
            exempt = (self._exempt_word(word) or any(c.isdigit() for c in word)
                      or text[e:e + 1] == ":" or text[s - 1:s] in _TAG_EDGES or text[e:e + 1] in _TAG_EDGES)
            letters = sum(c.isalpha() for c in word)
            loud = int(not exempt and (letters > self.spec.acronym_max or word in self._loud))
            counted = int(not exempt)
            caps_letters += letters * counted
            gap = text[last_end:s]
            if runs and gap.strip(" ,") == "" and "\n" not in gap:
                runs[-1][1] = e
                runs[-1][2] += loud
                runs[-1][3] += counted
            else:
                runs.append([s, e, loud, counted])
            last_end = e
        spans = [(s, e) for s, e, loud, counted in runs
                 if (loud and loud >= self.spec.min_words) or counted >= self.spec.run_words]
        total = sum(c.isalpha() for c in text)
        if (not spans and runs and total >= self.spec.min_letters
                and caps_letters / total > self.spec.max_caps_share):
            spans = [(runs[0][0], runs[-1][1])]
        return [msg.finding(self, s, e, local=view) for s, e in spans]


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
