"""What every compiled rule works on: a prepared :class:`Message` and its term hits.

A message's fields are normalised (see :mod:`copydesk.guardrails.normalize`),
placeholders are blanked out (they are not copy; string literals inside them stay,
since a default is shown to readers), and the fields are joined with a blank line so
one Aho-Corasick pass and one pass of each regex cover the whole message. Rules
report spans of the joined text; :meth:`Message.finding` maps them back to a field
and to offsets into that field's *original* text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from copydesk.guardrails.normalize import Normalized, normalize
from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.registry import register
from copydesk.models import Finding
from copydesk.vocab import Category, Severity

SEPARATOR = "\n\n"
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_STRING_LITERAL = re.compile(r"\"([^\"]*)\"|'([^']*)'")


def mask_placeholders(text: str) -> str:
    """Blank out Jinja placeholders (same length), keeping string literals inside them."""
    if "{" not in text:
        return text

    def blank(m: re.Match[str]) -> str:
        chunk = m.group(0)
        out = [" "] * len(chunk)
        for lit in _STRING_LITERAL.finditer(chunk):
            s, e = lit.span()
            out[s + 1 : e - 1] = chunk[s + 1 : e - 1]
        return "".join(out)

    return _PLACEHOLDER.sub(blank, text)


def is_bounded(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is not part of a longer word."""
    if start > 0 and text[start].isalnum() and text[start - 1].isalnum():
        return False
    return not (end < len(text) and text[end - 1].isalnum() and text[end].isalnum())


@dataclass(slots=True)
class FieldView:
    """One field of a message, prepared for matching."""

    name: str
    norm: Normalized
    offset: int  # where the field starts in the joined text


@dataclass(slots=True)
class Message:
    """The fields of one draft (or brief) prepared for every rule."""

    channel: str | None
    views: list[FieldView]
    text: str  # joined, normalised, placeholders blanked; case kept
    lower: str
    starts: list[int] = field(default_factory=list)
    variables: frozenset[str] | None = None  # a brief's personalization fields, if any

    @classmethod
    def prepare(cls, channel: str | None, fields: Mapping[str, str]) -> Message:
        views: list[FieldView] = []
        parts: list[str] = []
        offset = 0
        for name, value in fields.items():
            if not value:
                continue
            norm = normalize(value)
            views.append(FieldView(name, norm, offset))
            masked = mask_placeholders(norm.text)
            parts.append(masked)
            offset += len(masked) + len(SEPARATOR)
        text = SEPARATOR.join(parts)
        return cls(channel, views, text, text.lower(), [v.offset for v in views])

    def locate(self, start: int, end: int) -> tuple[FieldView, int, int] | None:
        """The field holding joined span ``[start, end)`` and the local span; ``None``
        when the span crosses a field boundary or lies in a separator."""
        i = bisect.bisect_right(self.starts, start) - 1
        if i < 0:
            return None
        view = self.views[i]
        local_start = start - view.offset
        local_end = end - view.offset
        if local_end > len(view.norm.text):
            return None
        return view, local_start, local_end

    def finding(
        self,
        rule: CompiledRule,
        start: int,
        end: int,
        *,
        message: str | None = None,
        suggestion: str | None = None,
        local: FieldView | None = None,
    ) -> Finding | None:
        """A finding for joined span ``[start, end)`` (or local span when ``local``)."""
        if local is None:
            where = self.locate(start, end)
            if where is None:
                return None
            view, ls, le = where
        else:
            view, ls, le = local, start, end
        if not rule.wants_field(view.name):
            return None
        o_start, o_end = view.norm.span(ls, le)
        match = view.norm.original[o_start:o_end]
        spec = rule.spec
        text = message if message is not None else spec.message
        sugg = suggestion if suggestion is not None else spec.suggestion
        return Finding(
            rule_id=spec.id,
            category=spec.category,
            severity=spec.severity,
            field=view.name,
            start=o_start,
            end=o_end,
            match=match,
            message=fill(text, match, sugg),
            suggestion=fill(sugg, match, None) if sugg else None,
        )


def fill(template: str, match: str, suggestion: str | None) -> str:
    """Put the match (and suggestion) into a rule message without ``str.format``."""
    out = template.replace("{match}", match)
    if suggestion is not None:
        out = out.replace("{suggestion}", suggestion)
    return out


@dataclass(frozen=True, slots=True)
class Term:
    """A literal the policy automaton looks for, on behalf of one rule."""

    rule: int
    role: str  # "term" | "exception" | "anchor" | "when" | "requires"
    text: str
    whole_words: bool = True
    data: str | None = None  # e.g. the preferred term of a substitution


Hit = tuple[int, int, Term]  # start, end (joined lower text), term


@dataclass(frozen=True)
class RuleContext:
    """What a rule may need from the rest of its policy (see :meth:`CompiledRule.bind`)."""

    #: personalization variables and filters a placeholder may use
    variables: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset({"default"})
    #: the brand's name and registered product names, as written
    brand_terms: tuple[str, ...] = ()


class CompiledRule:
    """A rule ready to run. Subclasses implement :meth:`check`.

    A subclass that sets ``spec_model`` declares a rule type and is registered under
    the name in that model's ``type`` Literal (see :mod:`.registry`)::

        class Shout(RuleBase):
            type: Literal["shout"]
            limit: int = 3

        class ShoutRule(CompiledRule):
            spec_model = Shout
            lexical = True
            spec: Shout

            def check(self, msg, hits): ...
    """

    #: The pack model of this rule type's options (a :class:`RuleBase` subclass).
    spec_model: ClassVar[type[RuleBase]]
    #: True when the rule only looks at words and characters (the "lexical" set).
    lexical: ClassVar[bool] = False
    #: True when the rule can only fire on automaton hits (skipped when it has none).
    needs_hits = False
    #: The source file of the inherited rule this one replaces, if any.
    overrides: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec_model" in cls.__dict__:
            register(cls)

    def __init__(self, spec: RuleBase, source: str, index: int) -> None:
        self.spec = spec
        self.source = source
        self.index = index
        self._fields = frozenset(spec.fields)
        self._channels = frozenset(str(c) for c in spec.channels)

    def bind(self, context: RuleContext) -> None:
        """Take what this rule needs from its policy (called once, when the policy is built)."""

    def terms(self) -> Iterable[Term]:
        """Literals this rule wants the shared automaton to find."""
        return ()

    def prefilter_pattern(self) -> str | None:
        """An RE2 pattern that must match a message's joined text for this rule to
        fire; the policy runs all of them in one pass and skips the rules whose
        pattern does not match (``None``: always run)."""
        return None

    def applies(self, channel: str | None, scope: str) -> bool:
        """Whether this rule runs on a message of ``channel`` in ``scope`` (draft/brief)."""
        if scope not in self.spec.applies_to:
            return False
        if channel is None:
            return not self._channels
        return not self._channels or channel in self._channels

    def wants_field(self, name: str) -> bool:
        return not self._fields or name in self._fields

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        raise NotImplementedError


def builtin_rule(rule_id: str, category: Category, severity: Severity, message: str, *,
                 suggestion: str | None = None, source: str = "built-in") -> CompiledRule:
    """A rule the engine itself applies (grounding, a brief's must-include and
    must-avoid lists): it has no pack entry, only an id, a category and a message."""
    spec = RuleBase(id=rule_id, category=category, severity=severity, message=message, suggestion=suggestion)
    return CompiledRule(spec, source, -1)


def norm_term(term: str) -> str:
    """A pack term as it is matched: normalised and lower-cased."""
    return normalize(term).text.lower().strip()


def exception_spans(hits: Sequence[Hit]) -> list[tuple[int, int]]:
    """Spans of exception phrases among ``hits``."""
    return [(s, e) for s, e, t in hits if t.role == "exception"]


def inside(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """True when ``[start, end)`` lies inside one of ``spans``."""
    return any(s <= start and end <= e for s, e in spans)


def find_all(haystack: str, needle: str) -> Iterable[tuple[int, int]]:
    """Word-bounded occurrences of ``needle`` in ``haystack``."""
    i = haystack.find(needle)
    while i != -1:
        if is_bounded(haystack, i, i + len(needle)):
            yield i, i + len(needle)
        i = haystack.find(needle, i + 1)


def collect(findings: Iterable[Finding | None]) -> list[Finding]:
    """Drop the ``None`` of spans that fell outside the rule's fields."""
    return [f for f in findings if f is not None]
