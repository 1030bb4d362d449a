"""The Jinja sandbox every template runs in (docs/design.md, invariant 7).

- :class:`jinja2.sandbox.ImmutableSandboxedEnvironment`: no unsafe attributes, no
  mutation of objects passed in;
- an allow-list of filters and no globals (no ``range``, ``lipsum``, ``cycler``...);
- ``StrictUndefined``: a placeholder for a missing field fails unless it has a
  ``default`` — the failure sends that one contact to the rejects file;
- contact values only ever enter as *context data*, never as template source, so
  ``{{ 7*7 }}`` typed into a first name prints as typed;
- HTML templates autoescape, so ``<script>`` in a name arrives as ``&lt;script&gt;``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.filters import do_urlencode
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from copydesk.errors import RenderError, TemplateSafetyError

#: Filters templates may use. Anything else is a template error at compile time.
ALLOWED_FILTERS: frozenset[str] = frozenset(
    {
        "default",
        "d",
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "truncate",
        "replace",
        "round",
        "int",
        "float",
        "string",
        "length",
        "first",
        "last",
        "join",
        "urlencode",
        "escape",
        "e",
        "tojson",
        "wordwrap",
        "striptags",
        "format_date",
        "paragraphs",
    }
)

#: Contact fields no template may read: consent flags are for the rule engine only.
DENIED_PREFIXES: tuple[str, ...] = ("consent_",)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BLANK_LINES = re.compile(r"\n\s*\n")


@functools.lru_cache(maxsize=4096)
def field_allowed(name: str) -> bool:
    """True when templates may read contact field ``name`` (cached: an audience has few
    field names and every contact asks about each)."""
    return bool(_IDENT.fullmatch(name)) and not name.startswith(DENIED_PREFIXES)


@functools.lru_cache(maxsize=1024)
def _quote(text: str) -> str:
    return do_urlencode(text)


def _urlencode(value: Any) -> str:
    """Jinja's ``urlencode``, remembered for text: a template quotes the same campaign id,
    variant id and contact id several times per message (a tenth of a render's time)."""
    if type(value) is str:
        return _quote(value)
    return do_urlencode(value)


def _format_date(value: Any, fmt: str = "%d %B %Y") -> str:
    if isinstance(value, datetime | date):
        return value.strftime(fmt)
    return str(value)


def _paragraphs(value: Any) -> Markup:
    """Plain text to HTML paragraphs: escaped, blank lines split paragraphs."""
    # escape once, then add tags to the already-safe text (much faster than Markup ops)
    text = str(escape(str(value))).replace("\r\n", "\n")
    paras = [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]
    return Markup("\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paras))


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.j2", ".htm.j2", ".xml.j2", ".html"))


#: What ``getattr`` finds on a plain dict: its methods. Any other name is not an attribute.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with ``message.subject`` on a plain dict answered from
    the dict straight away: the same answer Jinja reaches after ``getattr`` fails (a
    plain dict has no attributes but its methods), without raising and catching an
    AttributeError for every placeholder of every message."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def make_env(
    *, loader: BaseLoader | None = None, autoescape: bool | Callable[[str | None], bool] = False
) -> ImmutableSandboxedEnvironment:
    """A sandboxed environment with the allow-listed filters and no globals."""
    env = _Sandbox(
        loader=loader,
        autoescape=autoescape,
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters = {name: f for name, f in env.filters.items() if name in ALLOWED_FILTERS}
    filters["format_date"] = _format_date
    filters["paragraphs"] = _paragraphs
    filters["urlencode"] = _urlencode
    env.filters = filters
    env.globals = {}
    return env


def channel_env(loader: BaseLoader) -> ImmutableSandboxedEnvironment:
    """Environment for workspace channel templates: HTML ones autoescape."""
    return make_env(loader=loader, autoescape=_autoescape)


def check_filters(ast: nodes.Template, source: str) -> None:
    """Reject a template that uses a filter outside :data:`ALLOWED_FILTERS`."""
    for node in ast.find_all(nodes.Filter):
        if node.name not in ALLOWED_FILTERS:
            raise TemplateSafetyError(
                f"{source}: filter '{node.name}' is not allowed "
                f"(allowed: {', '.join(sorted(ALLOWED_FILTERS))})"
            )


@dataclass(frozen=True, slots=True)
class TextTemplate:
    """One variant field compiled once: constant text, or a sandboxed template.

    ``fields`` are the contact fields the text uses; only those are passed in."""

    source: str
    fields: tuple[str, ...]
    render_func: Callable[..., str] | None

    def render(self, contact: Mapping[str, Any]) -> str:
        """Render with the contact's values for :attr:`fields` as data."""
        if self.render_func is None:
            return self.source
        context = {name: contact[name] for name in self.fields if name in contact}
        try:
            return self.render_func(context)
        except UndefinedError as exc:
            raise RenderError(
                f"{exc.message} (add a default: {{{{ x | default(...) }}}})"
            ) from None
        except SecurityError as exc:
            raise RenderError(f"blocked by the sandbox: {exc}") from None
        except TemplateError as exc:
            raise RenderError(str(exc)) from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}") from None


def compile_text(
    env: ImmutableSandboxedEnvironment,
    text: str,
    *,
    source: str,
    allowed: Callable[[str], bool] = field_allowed,
) -> TextTemplate:
    """Compile a variant field's text. Raises :class:`TemplateSafetyError` when it does not
    parse, uses a filter outside the allow-list, or reads a field that is not allowed."""
    if "{" not in text:
        return TextTemplate(text, (), None)
    try:
        ast = env.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateSafetyError(f"{source}: line {exc.lineno}: {exc.message}") from None
    check_filters(ast, source)
    names = sorted(meta.find_undeclared_variables(ast))
    bad = [n for n in names if not allowed(n)]
    if bad:
        raise TemplateSafetyError(f"{source}: may not use field(s) {', '.join(bad)}")
    template = env.from_string(ast)
    return TextTemplate(text, tuple(names), template.render)

