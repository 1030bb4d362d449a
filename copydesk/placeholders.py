"""What a variant's text needs at render time: its placeholders and their defaults.

Parsed with Jinja, never executed.
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment()


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
