"""The engines the dialect proofs render exported copy with, and the shims each needs.

What is a shim here, honestly:

- **Braze** (python-liquid): Braze resolves ``${name}`` inside a Liquid tag to the
  user's attribute before Liquid runs; Shopify Liquid (and python-liquid) has no ``${}``.
  :func:`braze_source` rewrites ``${name}`` to ``name`` inside ``{{ }}`` / ``{% %}`` only,
  and :func:`braze_context` puts standard attributes at the top level and custom ones
  under ``custom_attribute``. Everything else is python-liquid's own Liquid.
- **Iterable** (pybars3): ``defaultIfEmpty`` is Iterable's helper, not Handlebars';
  :func:`default_if_empty` implements Iterable's documented meaning (the default when
  the field is missing or empty).
- **Klaviyo** (Django templates): Klaviyo's ``lookup`` filter is registered
  (tests/export/klaviyo_filters.py); autoescape is on for HTML fields, off for
  plain-text ones (subject, SMS, push).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import django
from django.conf import settings
from django.template import Context, Engine, Template
from liquid import Environment
from pybars import Compiler

if not settings.configured:
    settings.configure(USE_I18N=False, USE_TZ=False)
    django.setup()

_LIQUID = Environment()
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_BRAZE_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BARS = Compiler()
_DJANGO = {
    html: Engine(autoescape=html, builtins=["tests.export.klaviyo_filters"]) for html in (True, False)
}


def braze_source(text: str) -> str:
    """Braze's ``${name}`` references as plain Liquid names (inside tags only)."""
    return _TAG.sub(lambda m: _BRAZE_REF.sub(r"\1", m.group(0)), text)


def braze_context(values: Mapping[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """A Braze user profile: ``attributes`` maps copydesk field -> Braze attribute."""
    ctx: dict[str, Any] = {"custom_attribute": {}}
    for name, value in values.items():
        attr = attributes.get(name, f"custom_attribute.{name}")
        if attr.startswith("custom_attribute."):
            ctx["custom_attribute"][attr.split(".", 1)[1]] = value
        else:
            ctx[attr] = value
    return ctx


def render_braze(text: str, values: Mapping[str, Any], attributes: Mapping[str, str]) -> str:
    """Exported Braze copy rendered by python-liquid for one profile."""
    return _LIQUID.from_string(braze_source(text)).render(**braze_context(values, attributes))


def default_if_empty(this: Any, value: Any, default: Any) -> Any:
    """Iterable's ``defaultIfEmpty``: the default when the field is missing or empty."""
    return default if value is None or value == "" else value


def render_iterable(text: str, values: Mapping[str, Any], attributes: Mapping[str, str]) -> str:
    """Exported Iterable copy rendered by pybars3 for one user profile."""
    ctx = {attributes.get(k, k): v for k, v in values.items()}
    return str(_BARS.compile(text)(ctx, helpers={"defaultIfEmpty": default_if_empty}))


def klaviyo_context(values: Mapping[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """A Klaviyo profile: top-level names, ``person.x`` and ``person|lookup:'x'``."""
    person: dict[str, Any] = {}
    ctx: dict[str, Any] = {"person": person, "event": {}}
    for name, value in values.items():
        attr = attributes.get(name, f"person|lookup:'{name}'")
        if attr.startswith("person|lookup:"):
            person[attr.split(":", 1)[1].strip("'")] = value
        elif "." in attr:
            scope, key = attr.split(".", 1)
            ctx[scope][key] = value
        else:
            ctx[attr] = value
            person[attr] = value
    return ctx


def render_klaviyo(text: str, values: Mapping[str, Any], attributes: Mapping[str, str], *, html: bool) -> str:
    """Exported Klaviyo copy rendered by Django's engine (autoescape for HTML fields)."""
    template = Template(text, engine=_DJANGO[html])
    return str(template.render(Context(klaviyo_context(values, attributes), autoescape=html)))
