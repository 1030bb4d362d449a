"""What a variant's text may hold and needs at render time: its placeholders.

A variant's copy is text with placeholders, never code. The supported subset (see
docs/reference/campaigns.md, "Placeholders"): ``{{ field }}`` or ``{{ field | filter(...)
| ... }}`` where the field is a contact field templates may read, every filter is in
:data:`VARIANT_FILTERS`, and filter arguments are short literals. Statements
(``{% ... %}``), attribute or item access, calls and operators are not copy: the service
layer records them as a block finding that cannot be waived (invariant 7), and the
renderer refuses to compile them. Parsed with Jinja, never executed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment()

#: Filters a variant's placeholders may use (a subset of the render sandbox's: none of
#: them can make the output much longer than the contact value and the literals).
VARIANT_FILTERS: frozenset[str] = frozenset(
    {"default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "format_date"}
)
#: The longest literal a filter argument may be (a default, a date format).
MAX_LITERAL = 200
#: The rule id of the finding the service layer records; reviewers cannot waive it.
UNSUPPORTED_RULE = "template.unsupported"

#: Every ``{{ }}``, ``{% %}`` and ``{# #}`` chunk, and unclosed openers.
CHUNK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{\{|\{%|\{#", re.DOTALL)
_STATEMENT = re.compile(r"\{%-?\s*(\w+)")
_LOOPS = {"for", "while"}
_IMPORTS = {"import", "from", "include", "extends"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _template_field(name: str) -> bool:
    # the render sandbox's rule: identifiers, never consent flags
    return bool(_IDENT.fullmatch(name)) and not name.startswith("consent_")


def _argument_problem(arg: nodes.Node) -> str | None:
    """Why a filter argument is not a short literal (``None`` when it is)."""
    if isinstance(arg, nodes.Name):
        return f"'{arg.name}': filter arguments must be literals"
    if not isinstance(arg, nodes.Const):
        return f"expression '{type(arg).__name__}' is not allowed"
    if isinstance(arg.value, str) and len(arg.value) > MAX_LITERAL:
        return f"a literal longer than {MAX_LITERAL} characters"
    if not isinstance(arg.value, str | int | float | bool | None):
        return "filter arguments must be text or numbers"
    return None


def _subject_problem(node: nodes.Node, variables: Callable[[str], bool]) -> str | None:
    """Why what a placeholder prints (under its filters) is not one allowed field."""
    if isinstance(node, nodes.Name):
        return None if variables(node.name) else f"variable '{node.name}' is not an allowed personalization field"
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        return "attribute and item access are not allowed"
    if isinstance(node, nodes.Call):
        return "calls are not allowed"
    if isinstance(node, nodes.Const):
        return "a placeholder must name a personalization field"
    return f"expression '{type(node).__name__}' is not allowed"


def _walk(expr: nodes.Node, variables: Callable[[str], bool], filters: frozenset[str],
          require_default: bool) -> list[str]:
    """Problems of one placeholder: a filter chain over one field name."""
    problems: list[str] = []
    has_default = False
    node = expr
    while isinstance(node, nodes.Filter):
        has_default = has_default or node.name in ("default", "d")
        if node.name not in filters:
            problems.append(f"filter '{node.name}' is not allowed")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            problems.append("filter arguments must be literals")
        args = [*node.args, *(kw.value for kw in node.kwargs)]
        problems += [p for p in map(_argument_problem, args) if p]
        if node.node is None:
            return [*problems, "filter blocks are not allowed"]
        node = node.node
    subject = _subject_problem(node, variables)
    if subject:
        problems.append(subject)
    elif require_default and not has_default:
        problems.append('needs a default, e.g. | default("there")')
    return problems


@lru_cache(maxsize=4096)
def chunk_problems(
    chunk: str, variables: Callable[[str], bool] | frozenset[str] = _template_field,
    filters: frozenset[str] = VARIANT_FILTERS, *, require_default: bool = False,
) -> tuple[str, ...]:
    """What is wrong with one ``{{ }}``/``{% %}``/``{# #}`` chunk (empty when nothing).
    ``variables`` says which field names a placeholder may use (a set or a predicate)."""
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
    except (TemplateSyntaxError, RecursionError) as exc:
        return (f"syntax error: {getattr(exc, 'message', None) or 'nested too deeply'}",)
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return ("syntax error: not a single placeholder",)
    allowed = variables.__contains__ if isinstance(variables, frozenset) else variables
    return tuple(_walk(body[0].nodes[0], allowed, filters, require_default))


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A span of copy that is not a supported placeholder, and why."""

    start: int
    end: int
    text: str
    reason: str


def unsupported(text: str) -> list[Unsupported]:
    """Every span of ``text`` outside the supported placeholder subset."""
    found: list[Unsupported] = []
    if "{" not in text:
        return found
    for m in CHUNK.finditer(text):
        start, end = m.span()
        if m.group(0) in ("{{", "{%", "{#"):
            end = len(text)
        for reason in chunk_problems(m.group(0)):
            found.append(Unsupported(start, end, text[start:end], reason))
    return found


def fields_unsupported(fields: dict[str, str]) -> dict[str, list[Unsupported]]:
    """:func:`unsupported` for every field of a revision (fields with none left out)."""
    return {name: spans for name, text in fields.items() if (spans := unsupported(text))}


def placeholders(text: str) -> dict[str, str | None]:
    """Map each variable used in ``text`` to its ``default(...)`` value (``None`` when the
    placeholder has no constant default). Unparseable text yields ``{}``."""
    if "{" not in text:
        return {}
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError:
        return {}
    found: dict[str, str | None] = {}
    for flt in tree.find_all(nodes.Filter):
        base = flt.node
        while isinstance(base, nodes.Filter):
            base = base.node
        if flt.name == "default" and isinstance(base, nodes.Name) and flt.args:
            arg = flt.args[0]
            if isinstance(arg, nodes.Const):
                found[base.name] = str(arg.value)
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load":
            found.setdefault(name.name, None)
    return found


def fields_placeholders(fields: dict[str, str]) -> dict[str, str | None]:
    """Placeholders across all fields of a revision."""
    out: dict[str, str | None] = {}
    for text in fields.values():
        for name, default in placeholders(text).items():
            if out.get(name) is None:
                out[name] = default
    return out
