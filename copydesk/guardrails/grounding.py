"""Grounding: the model may not invent facts.

Numbers, prices, percentages, dates, offer terms and product names in a draft must
come from the *sources*: the brief's text, its registered offer, and the brand's
registered claims (with disclaimers) and products. Anything else is a ``claims``
finding, severity ``block`` by default, on the span of the invented fact.

Facts are compared by value, not by spelling: "£50" matches "£50.00", "15 %"
matches "15 per cent", "30th April" matches "30 April 2027". A bare number is
grounded by the same number anywhere in the sources. Placeholders are not facts,
and the digits inside registered product names (Basecamp 2 Tent) are not numbers.
Product names are recognised by the pack's ``product_nouns`` (Boots, Jacket...):
a capitalised name ending in one that is not registered is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from copydesk.guardrails.pack import Brand, Grounding, Offer
from copydesk.guardrails.rules.base import (
    Message,
    builtin_rule,
    find_all,
    mask_placeholders,
    norm_term,
)
from copydesk.models import Brief, Finding
from copydesk.vocab import Category, Severity

_MONTHS = {
    m[:3]: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"  # noqa: E501
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_FACT = re.compile(
    rf"(?P<dm>(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH.replace('(', '(?P<m1>', 1)}"
    rf"(?:,?\s+(?P<y1>\d{{4}}))?)\b"
    rf"|(?P<md>{_MONTH.replace('(', '(?P<m2>', 1)}\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"(?:,?\s+(?P<y2>\d{{4}}))?)\b"
    rf"|(?P<money>[£$€]\s?(?P<amount>{_NUM}))"
    rf"|(?P<pct>(?P<percent>{_NUM})\s?(?:%|per\s?cent\b|percent\b))"
    rf"|(?P<num>(?<![\w.]){_NUM})",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|midnight|tonight|tomorrow)\b",
    re.IGNORECASE,
)


def _value(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass(frozen=True, slots=True)
class Fact:
    kind: str  # money | percent | date | number | day
    value: tuple[float | str, ...]
    start: int
    end: int


def extract_facts(text: str) -> Iterable[Fact]:
    """The checkable facts of ``text`` (expected to be masked and normalised)."""
    for m in _FACT.finditer(text):
        s, e = m.span()
        if m.group("dm") or m.group("md"):
            day = int(m.group("d1") or m.group("d2"))
            month = _MONTHS[(m.group("m1") or m.group("m2")).lower()[:3]]
            year = m.group("y1") or m.group("y2")
            yield Fact("date", (day, month, float(year) if year else 0.0), s, e)
        elif m.group("money"):
            yield Fact("money", (_value(m.group("amount")),), s, e)
        elif m.group("pct"):
            yield Fact("percent", (_value(m.group("percent")),), s, e)
        else:
            yield Fact("number", (_value(m.group("num")),), s, e)
    for m in _WEEKDAY.finditer(text):
        yield Fact("day", (m.group(1).lower(),), m.start(), m.end())


def _blank(text: str, lower: str, phrases: Iterable[str]) -> str:
    """Blank out registered product names so their digits are not read as facts."""
    chars = None
    for phrase in phrases:
        for s, e in find_all(lower, phrase):
            if chars is None:
                chars = list(text)
            chars[s:e] = " " * (e - s)
    return text if chars is None else "".join(chars)


class Grounder:
    """Checks a draft's facts against a brief, its offer and the brand registries."""

    def __init__(self, brand: Brand, settings: Grounding) -> None:
        self.settings = settings
        self.products = sorted({norm_term(p) for p in brand.products}, key=len, reverse=True)
        registry = [p for p in brand.products]
        registry += [claim.text for claim in brand.claims]
        self._registry_text = "\n".join(registry)
        # A disclaimer grounds itself where it is quoted, never other facts: "50% off"
        # is not grounded by "at least 50% recycled polyester".
        self._disclaimers = sorted(
            {norm_term(c.disclaimer.rstrip(". ")) for c in brand.claims if c.disclaimer.strip(". ")},
            key=len, reverse=True,
        )
        self._offer_terms = [norm_term(t) for t in settings.offer_terms]
        nouns = "|".join(re.escape(n) for n in settings.product_nouns)
        self._product_re = re.compile(rf"(?:\b[A-Z][\w'-]*\s+){{1,4}}(?:{nouns})\b") if nouns else None

    def sources(self, brief: Brief, offer: Offer | None) -> str:
        """The text every fact must come from, normalised and lower-cased."""
        # what the brief forbids is not a source of facts
        parts = [v for k, v in brief.text_for_scan().items() if not k.startswith("must_avoid")]
        if offer is not None:
            parts += [offer.text, offer.terms]
        parts.append(self._registry_text)
        return norm_term(mask_placeholders("\n".join(parts)))

    def check(self, msg: Message, brief: Brief, offer: Offer | None) -> list[Finding]:
        if not self.settings.enabled:
            return []
        source = self.sources(brief, offer)
        spans = self._fact_spans(msg, source)
        source_words = frozenset(re.findall(r"[\w'£$€%]+", source))
        for term in self._offer_terms:
            # "double points" is grounded by "double Ridgeline Rewards points"
            if term in msg.lower and term not in source and not set(term.split()) <= source_words:
                spans += [(s, e, "offer term") for s, e in find_all(msg.lower, term)]
        if self._product_re is not None:
            spans += self._unregistered_products(msg.text, source)
        for m in _CODE.finditer(msg.text):
            if m.group(1).lower() not in source:
                spans.append((m.start(1), m.end(1), "promo code"))
        out = []
        for s, e, label in sorted(spans):
            f = msg.finding(_GROUNDING_RULE, s, e)
            if f is None:
                continue
            f.rule_id = f"grounding.{label.replace(' ', '-')}"
            f.severity = self.settings.severity
            f.message = (
                f"{label} '{f.match}' is not in the brief, its offer or the brand's "
                "registered claims: the model may not invent facts"
            )
            out.append(f)
        return out

    def _fact_spans(self, msg: Message, source: str) -> list[tuple[int, int, str]]:
        """Numbers, prices, percentages and dates in the draft that ``source`` lacks."""
        allowed: set[tuple[str, tuple[float | str, ...]]] = set()
        numbers: set[float | str] = set()
        for fact in extract_facts(_blank(source, source, self.products)):
            if fact.kind == "date":
                allowed.add(("date", fact.value[:2]))
                numbers.add(fact.value[2])  # the year
            else:
                allowed.add((fact.kind, fact.value))
            if fact.kind in ("money", "percent", "number"):
                numbers.add(fact.value[0])
        text = _blank(msg.text, msg.lower, [*self._disclaimers, *self.products])
        spans: list[tuple[int, int, str]] = []
        for fact in extract_facts(text):
            if fact.kind == "date":
                year = fact.value[2]
                if ("date", fact.value[:2]) in allowed and (not year or year in numbers):
                    continue
            elif (fact.kind, fact.value) in allowed:
                continue
            if fact.kind == "number" and fact.value[0] in numbers:
                continue
            spans.append((fact.start, fact.end, _LABEL[fact.kind]))
        return spans

    def _unregistered_products(self, text: str, source: str) -> list[tuple[int, int, str]]:
        assert self._product_re is not None
        out = []
        for m in self._product_re.finditer(text):
            words = m.group(0).split()
            # the longest tail of the phrase that is registered or in the brief wins
            for i in range(len(words)):
                tail = " ".join(words[i:]).lower()
                if tail in self.products or tail in source:
                    break
                if i == len(words) - 1 or words[i].lower() not in _LEADING:
                    start = m.start() + m.group(0).index(words[i])
                    out.append((start, m.end(), "product name"))
                    break
        return out


#: A promo code: a word in capitals or with digits after "code", "coupon", "voucher".
_CODE = re.compile(
    r"\b(?:[Cc]ode|CODE|[Cc]oupon|[Vv]oucher|[Pp]romo)\s*:?\s*([A-Z][A-Z0-9]{3,15}|[0-9]+[A-Z][A-Z0-9]*)\b"
)

_LABEL = {
    "money": "price",
    "percent": "percentage",
    "date": "date",
    "number": "number",
    "day": "deadline",
}
_LEADING = frozenset(
    [
        "the",
        "our",
        "your",
        "new",
        "a",
        "an",
        "shop",
        "buy",
        "get",
        "meet",
        "try",
        "discover",
        "explore",
        "grab",
        "save",
        "enjoy",
        "with",
        "and",
        "or",
        "for",
        "from",
        "all",
        "every",
        "this",
        "these",
    ]
)


_GROUNDING_RULE = builtin_rule(
    "grounding", Category.GROUNDING, Severity.BLOCK, "",
    suggestion="Use only facts from the brief, its offer or the registered claims, or remove it.",
)
