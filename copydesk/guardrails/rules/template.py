"""Placeholder safety, checked by parsing with Jinja's sandbox, never by rendering.

Each ``{{ ... }}`` must name one allow-listed variable, use only allow-listed
filters, and carry a ``default(...)``; attribute or item access, calls, statements
(``{% for %}``, ``{% import %}``...) and syntax errors are findings on the span of
the placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, collect
from copydesk.models import Finding

_ENV = ImmutableSandboxedEnvironment()
_CHUNK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{\{|\{%|\{#", re.DOTALL)
_STATEMENT = re.compile(r"\{%-?\s*(\w+)")
_LOOPS = {"for", "while"}
_IMPORTS = {"import", "from", "include", "extends"}


def _walk(expr: nodes.Node, variables: frozenset[str], filters: frozenset[str]) -> list[str]:
    problems: list[str] = []
    has_default = False
    names: list[str] = []

    def visit(node: nodes.Node, in_filter_args: bool = False) -> None:
        nonlocal has_default
        if isinstance(node, nodes.Filter):
            if node.name == "default":
                has_default = True
            if node.name not in filters:
                problems.append(f"filter '{node.name}' is not allowed")
            if node.node is not None:
                visit(node.node)
            for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
                visit(arg, in_filter_args=True)
        elif isinstance(node, nodes.Name):
            names.append(node.name)
            if in_filter_args:
                problems.append(f"'{node.name}': filter arguments must be literals")
            elif node.name not in variables:
                problems.append(f"variable '{node.name}' is not an allowed personalization field")
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            problems.append("attribute and item access are not allowed")
        elif isinstance(node, nodes.Call):
            problems.append("calls are not allowed")
        elif isinstance(node, nodes.Const):
            return
        else:
            problems.append(f"expression '{type(node).__name__}' is not allowed")

    visit(expr)
    if not names and not problems:
        problems.append("a placeholder must name a personalization field")
    elif not has_default:
        problems.append('needs a default, e.g. | default("there")')
    return problems


@lru_cache(maxsize=4096)
def placeholder_problems(chunk: str, variables: frozenset[str], filters: frozenset[str]) -> tuple[str, ...]:
    """What is wrong with one ``{{ }}``/``{% %}`` chunk (empty when nothing)."""
    if chunk.startswith("{#"):
        return () if chunk.endswith("#}") else ("unclosed comment '{#'",)
    if chunk in ("{{", "{%"):
        return (f"syntax error: '{chunk}' is never closed",)
    if chunk.startswith("{%"):
        m = _STATEMENT.match(chunk)
        word = m.group(1) if m else "?"
        if word in _LOOPS:
            return (f"loops ('{{% {word} %}}') are not allowed",)
        if word in _IMPORTS:
            return (f"imports ('{{% {word} %}}') are not allowed",)
        return (f"statements ('{{% {word} %}}') are not allowed; use placeholders only",)
    try:
        tree = _ENV.parse(chunk)
    except TemplateSyntaxError as exc:
        return (f"syntax error: {exc.message}",)
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return ("syntax error: not a single placeholder",)
    return tuple(_walk(body[0].nodes[0], variables, filters))


class Template(RuleBase):
    """Placeholder safety: allow-listed variables and filters, a default on each
    placeholder, no attribute access, calls, loops, imports; syntax errors reported."""

    type: Literal["template"]


class TemplateRule(CompiledRule):
    spec_model = Template
    spec: Template
    variables: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset({"default"})

    def configure(self, variables: frozenset[str], filters: frozenset[str]) -> None:
        """Set the allow-lists (the policy's personalization section)."""
        self.variables = variables
        self.filters = filters

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        found = []
        variables = self.variables
        if msg.variables is not None:
            variables = variables & msg.variables
        for view in msg.views:
            text = view.norm.text
            if "{" not in text:
                continue
            for m in _CHUNK.finditer(text):
                s, e = m.span()
                if m.group(0) in ("{{", "{%", "{#"):
                    e = len(text)
                problems = placeholder_problems(m.group(0), variables, self.filters)
                if msg.variables is not None and any(p.startswith("variable ") for p in problems):
                    problems = tuple(p + " for this brief" if p.startswith("variable ") else p for p in problems)
                for problem in problems:
                    found.append(msg.finding(self, s, e, local=view, message=f"{self.spec.message}: {problem}"))
        return collect(found)
