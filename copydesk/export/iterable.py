"""Iterable: Handlebars with Iterable's ``defaultIfEmpty`` helper.

``{{defaultIfEmpty firstName "there"}}`` prints the fallback when the field is missing
or empty. Double braces HTML-escape the value (used in HTML fields, as copydesk's HTML
templates escape it); triple braces print it as is (plain-text fields: subject, SMS...).
Iterable's string helpers are not translated: a filter is an error.
"""

from __future__ import annotations

import re

from copydesk.export.dialect import Dialect, Unsupported, quoted, register
from copydesk.export.parse import Placeholder

_QUOTES = "\"'"  # Handlebars strings: double quotes first, as Iterable's examples
_ATTR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class Iterable(Dialect):
    """Iterable Handlebars."""

    name = "iterable"
    title = "Iterable (Handlebars)"
    standard = {"first_name": "firstName", "last_name": "lastName", "email": "email",
                "phone": "phoneNumber"}

    def custom(self, field: str) -> str | None:
        return field  # user profile fields are free-form: the same name

    def check_attribute(self, attr: str) -> str | None:
        return None if _ATTR.fullmatch(attr) else f"'{attr}' is not an Iterable field path"

    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        assert ph.fallback is not None
        if ph.filters:
            raise Unsupported(f"filter '{ph.filters[0].name}' is not translated to Iterable")
        if self.check_attribute(attr):
            raise Unsupported(self.check_attribute(attr) or attr)
        expr = f"defaultIfEmpty {attr} {quoted(ph.fallback, _QUOTES, forbidden=('}}',))}"
        return "{{" + expr + "}}" if html else "{{{" + expr + "}}}"

    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        if after_placeholder and text.startswith("}"):
            raise Unsupported("a '}' right after a placeholder would close the Handlebars tag")
        if before_placeholder and text.endswith("\\"):
            # handlebars.js reads '\{{' as an escaped mustache and '\\{{' as a backslash then
            # the value; pybars3 reads neither: implementations disagree, so refuse
            raise Unsupported("a backslash right before a placeholder is an escape in some "
                              "Handlebars implementations and not in others")
        return text  # copydesk's lexer already read every '{{' as syntax

    def comment(self, text: str) -> str | None:
        return "{{!-- " + text + " --}}"


register(Iterable())
