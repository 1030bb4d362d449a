"""Compiled rule types, one module per family; :func:`compile_rule` picks the class."""

from __future__ import annotations

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Message
from copydesk.guardrails.rules.invisible import InvisibleRule
from copydesk.guardrails.rules.length import LengthRule
from copydesk.guardrails.rules.lexical import (
    ConditionalRule,
    ExistenceRule,
    ProximityRule,
    SubstitutionRule,
)
from copydesk.guardrails.rules.regex import OccurrenceRule, PatternRule
from copydesk.guardrails.rules.style import CapitalizationRule, ReadabilityRule
from copydesk.guardrails.rules.template import TemplateRule

RULE_CLASSES: dict[str, type[CompiledRule]] = {
    "existence": ExistenceRule,
    "substitution": SubstitutionRule,
    "occurrence": OccurrenceRule,
    "pattern": PatternRule,
    "capitalization": CapitalizationRule,
    "proximity": ProximityRule,
    "conditional": ConditionalRule,
    "readability": ReadabilityRule,
    "length": LengthRule,
    "template": TemplateRule,
    "invisible": InvisibleRule,
}

#: Rule types that only look at words and characters (benchmark "lexical" set).
LEXICAL_TYPES = frozenset(
    {"existence", "substitution", "occurrence", "pattern", "capitalization", "proximity",
     "conditional", "length", "invisible"}
)  # fmt: skip


def compile_rule(spec: RuleBase, source: str, index: int) -> CompiledRule:
    """Build the runnable form of one rule."""
    kind = getattr(spec, "type")  # noqa: B009 - every concrete rule model has it
    if kind == "pii":
        from copydesk.guardrails.pii import PiiRule

        return PiiRule(spec, source, index)  # type: ignore[arg-type]
    return RULE_CLASSES[kind](spec, source, index)


__all__ = ["CompiledRule", "Message", "compile_rule", "RULE_CLASSES", "LEXICAL_TYPES"]
