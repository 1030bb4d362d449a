"""copydesk's placeholder text as parts a platform dialect can translate.

A variant field is literal text and placeholders (``{{ first_name | default("there") }}``;
the subset is :mod:`copydesk.placeholders`). This module parses it with the same Jinja
lexer and parser the renderer uses (whitespace control and comments included), and never
executes it. What the renderer does with each placeholder, and so what a translation must
reproduce:

- ``{{ x }}`` without a default fails for a contact without ``x`` (``StrictUndefined``):
  the contact is rejected, never sent;
- ``{{ x | default("L") | f | g }}`` prints ``g(f(x))`` when the contact has ``x`` and
  ``g(f("L"))`` otherwise; audience readers drop empty cells, so an empty value is a
  missing one;
- a filter *before* the default (``{{ x | title | default("L") }}``) runs on the missing
  value first and fails: the default never applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from copydesk.placeholders import unsupported
from copydesk.render.sandbox import make_env

_ENV = make_env()
_DEFAULTS = ("default", "d")


class ParseProblem(Exception):
    """Text that is not copydesk copy, or a placeholder no platform can reproduce."""

    def __init__(self, placeholder: str, reason: str) -> None:
        super().__init__(reason)
        self.placeholder = placeholder
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter after the default, with its literal arguments."""

    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Placeholder:
    """``{{ field | default("fallback") | filters... }}``.

    ``fallback`` is the default as the renderer prints it (``None``: no default, so a
    contact without the field is rejected); ``filters`` apply to the value or the fallback."""

    field: str
    fallback: str | None
    filters: tuple[Filter, ...]
    source: str

    @property
    def fallback_shown(self) -> str | None:
        """What copydesk prints for a contact without the field (the fallback through
        the filters, computed with copydesk's own filter functions)."""
        if self.fallback is None:
            return None
        value: Any = self.fallback
        for flt in self.filters:
            value = _ENV.filters[flt.name](value, *flt.args)
        return str(value)


Part = str | Placeholder


def _literal(node: nodes.Node) -> Any:
    if not isinstance(node, nodes.Const):
        raise ValueError("filter arguments must be literals")
    return node.value


def _placeholder(expr: nodes.Node, source: str) -> Placeholder:
    chain: list[nodes.Filter] = []
    node = expr
    while isinstance(node, nodes.Filter):
        chain.append(node)
        if node.node is None:
            raise ParseProblem(source, "filter blocks are not copy")
        node = node.node
    if not isinstance(node, nodes.Name):
        raise ParseProblem(source, "a placeholder must name one field")
    chain.reverse()  # innermost (first applied) first
    fallback: str | None = None
    after: list[Filter] = []
    for i, flt in enumerate(chain):
        try:
            args = tuple(_literal(a) for a in flt.args)
            kwargs: dict[str, Any] = {str(kw.key): _literal(kw.value) for kw in flt.kwargs}
        except ValueError as exc:
            raise ParseProblem(source, str(exc)) from None
        if flt.name in _DEFAULTS:
            if fallback is not None:
                raise ParseProblem(source, "more than one default")
            if i > 0:
                raise ParseProblem(
                    source, f"filter '{chain[0].name}' runs before the default, so copydesk rejects "
                    f"a contact without '{node.name}' and the default never applies; put the default first")
            value = args[0] if args else kwargs.get("default_value", "")
            boolean = args[1] if len(args) > 1 else kwargs.get("boolean", False)
            if boolean:
                raise ParseProblem(source, "default(..., true) (falsy values count as missing) is not exported")
            fallback = str(value)
        else:
            if kwargs:
                raise ParseProblem(source, f"filter '{flt.name}' with keyword arguments is not exported")
            after.append(Filter(flt.name, args))
    return Placeholder(node.name, fallback, tuple(after), source)


def parse_text(text: str) -> list[Part]:
    """``text`` as literal strings and :class:`Placeholder` objects, in order (adjacent
    literals joined, comments dropped: they print nothing). Raises :class:`ParseProblem`
    for text outside copydesk's placeholder subset."""
    if "{" not in text:
        return [text] if text else []
    bad = unsupported(text)
    if bad:
        raise ParseProblem(bad[0].text, bad[0].reason)
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:  # unsupported() parsed it, so this is rare
        raise ParseProblem(text, f"syntax error: {exc.message}") from None
    parts: list[Part] = []
    for out in tree.body:
        if not isinstance(out, nodes.Output):
            raise ParseProblem(text, "statements are not copy")
        for node in out.nodes:
            if isinstance(node, nodes.TemplateData):
                if parts and isinstance(parts[-1], str):
                    parts[-1] += node.data
                elif node.data:
                    parts.append(node.data)
            else:
                parts.append(_placeholder(node, _source(node)))
    return parts


def _source(node: nodes.Node) -> str:
    """A readable form of a placeholder for error messages."""
    chain: list[str] = []
    while isinstance(node, nodes.Filter):
        args = ", ".join(repr(a.value) if isinstance(a, nodes.Const) else "?" for a in node.args)
        chain.append(f"{node.name}({args})" if node.args else node.name)
        if node.node is None:
            break
        node = node.node
    name = node.name if isinstance(node, nodes.Name) else "?"
    return "{{ " + " | ".join([name, *reversed(chain)]) + " }}"
