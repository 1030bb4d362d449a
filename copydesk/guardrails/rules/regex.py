"""Regular-expression rules: ``pattern`` (RE2, so a pack's regex runs in linear time
and cannot hang a check) and ``occurrence`` (a literal counted per field)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import re2
from pydantic import Field

from copydesk.errors import PolicyError
from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import (
    CompiledRule,
    Hit,
    Message,
    Term,
    collect,
    exception_spans,
    inside,
    norm_term,
)
from copydesk.models import Finding


def compile_re2(pattern: str, *, ignorecase: bool, where: str) -> re2._Regexp:
    """Compile with RE2; an invalid or unsupported pattern is a PolicyError."""
    options = re2.Options()
    options.case_sensitive = not ignorecase
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PolicyError(f"{where}: invalid RE2 pattern {pattern!r}: {reason}") from None


class Pattern(RuleBase):
    """Flag matches of a regular expression (RE2 syntax: linear time, no backreferences)."""

    type: Literal["pattern"]
    pattern: str = Field(min_length=1)
    ignorecase: bool = True
    exceptions: list[str] = Field(default_factory=list)


class PatternRule(CompiledRule):
    spec_model = Pattern
    lexical = True
    spec: Pattern

    def __init__(self, spec: Pattern, source: str, index: int) -> None:
        super().__init__(spec, source, index)
        self._regex = compile_re2(spec.pattern, ignorecase=spec.ignorecase, where=f"{source}: rule '{spec.id}'")

    def prefilter_pattern(self) -> str | None:
        return f"(?i:{self.spec.pattern})" if self.spec.ignorecase else f"(?:{self.spec.pattern})"

    def terms(self) -> Iterable[Term]:
        for t in self.spec.exceptions:
            yield Term(self.index, "exception", norm_term(t), False)

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        skip = exception_spans(hits)
        found = []
        text = msg.text
        for m in self._regex.finditer(text):
            s, e = m.span()
            # a pattern's leading \s* may reach back into the separator between fields
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s and not inside(skip, s, e):
                found.append(msg.finding(self, s, e))
        return collect(found)


class Occurrence(RuleBase):
    """Flag ``token`` (a literal) beyond ``max`` occurrences in one field, or in the
    whole message with ``per: message``."""

    type: Literal["occurrence"]
    token: str = Field(min_length=1)
    max: int = Field(ge=0)
    per: Literal["field", "message"] = "field"


class OccurrenceRule(CompiledRule):
    """Flags every occurrence of ``token`` after the first ``max`` in a field."""

    spec_model = Occurrence
    lexical = True
    spec: Occurrence

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        token = self.spec.token
        if token not in msg.text:
            return []
        found = []
        size = len(token)
        per_message = self.spec.per == "message"
        if per_message and msg.text.count(token) <= self.spec.max:
            return []
        seen = 0
        for view in msg.views:
            text = view.norm.text
            if not per_message:
                if text.count(token) <= self.spec.max:
                    continue
                seen = 0
            i = text.find(token)
            while i != -1:
                seen += 1
                if seen > self.spec.max:
                    found.append(msg.finding(self, i, i + size, local=view))
                i = text.find(token, i + size)
        return collect(found)
