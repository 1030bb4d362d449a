"""Placeholder safety as a policy rule, checked by parsing, never by rendering.

The same checker as the product's own copy-not-code rule (:mod:`copydesk.placeholders`),
narrowed by the policy: each ``{{ ... }}`` must name one of the brand's personalization
variables, use only its allowed filters, and carry a ``default(...)``; findings sit on
the span of the placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, RuleContext, collect
from copydesk.models import Finding
from copydesk.placeholders import CHUNK, chunk_problems


class Template(RuleBase):
    """Placeholder safety: allow-listed variables and filters, a default on each
    placeholder, no attribute access, calls, loops, imports; syntax errors reported."""

    type: Literal["template"]


class TemplateRule(CompiledRule):
    spec_model = Template
    spec: Template
    variables: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset({"default"})

    def bind(self, context: RuleContext) -> None:
        """Take the allow-lists from the policy's personalization section."""
        self.variables = context.variables
        self.filters = context.filters

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        found = []
        variables = self.variables
        if msg.variables is not None:
            variables = variables & msg.variables
        for view in msg.views:
            text = view.norm.text
            if "{" not in text:
                continue
            for m in CHUNK.finditer(text):
                s, e = m.span()
                if m.group(0) in ("{{", "{%", "{#"):
                    e = len(text)
                problems = chunk_problems(m.group(0), variables, self.filters, require_default=True)
                if msg.variables is not None and any(p.startswith("variable ") for p in problems):
                    problems = tuple(p + " for this brief" if p.startswith("variable ") else p for p in problems)
                for problem in problems:
                    found.append(msg.finding(self, s, e, local=view, message=f"{self.spec.message}: {problem}"))
        return collect(found)
