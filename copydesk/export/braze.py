"""Braze: Liquid with Braze's ``${attribute}`` references.

Standard attributes are ``{{${first_name}}}``; custom attributes
``{{custom_attribute.${name}}}``; the fallback is Liquid's ``default`` filter, which
replaces nil, false and empty values (copydesk's audience readers turn an empty value
into a missing one, so an empty string gets the fallback in both).
"""

from __future__ import annotations

import re

from copydesk.export.dialect import Dialect, Unsupported, quoted, register
from copydesk.export.parse import Placeholder

_ATTR = re.compile(r"(custom_attribute\.)?([A-Za-z_][A-Za-z0-9_]*)")
#: copydesk filter -> Liquid filter with the same result on text.
FILTERS = {"upper": "upcase", "lower": "downcase", "capitalize": "capitalize", "trim": "strip"}


class Braze(Dialect):
    """Braze Liquid."""

    name = "braze"
    title = "Braze (Liquid)"
    standard = {"first_name": "first_name", "last_name": "last_name", "email": "email_address",
                "phone": "phone_number", "city": "city", "country": "country"}

    def custom(self, field: str) -> str | None:
        return f"custom_attribute.{field}"

    def check_attribute(self, attr: str) -> str | None:
        if _ATTR.fullmatch(attr):
            return None
        return f"'{attr}' is not a Braze attribute (NAME or custom_attribute.NAME)"

    def reference(self, attr: str) -> str:
        """``first_name`` -> ``${first_name}``; ``custom_attribute.x`` -> ``custom_attribute.${x}``."""
        m = _ATTR.fullmatch(attr)
        if m is None:
            raise Unsupported(self.check_attribute(attr) or attr)
        return f"{m.group(1) or ''}${{{m.group(2)}}}"

    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        assert ph.fallback is not None
        chain = [f"default: {quoted(ph.fallback, forbidden=('}}', '%}'))}"]
        for flt in ph.filters:
            if flt.name not in FILTERS or flt.args:
                raise Unsupported(f"filter '{flt.name}' has no Liquid equivalent here")
            chain.append(FILTERS[flt.name])
        if html:
            chain.append("escape")  # Liquid never escapes; copydesk's HTML templates do
        return "{{" + self.reference(attr) + " | " + " | ".join(chain) + "}}"

    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        # copydesk's own lexer already read '{{', '{%' and '{#' as syntax, so literal copy
        # never holds a Liquid opener; '${' is Braze's attribute marker
        if "${" in text:
            raise Unsupported("literal '${' would be read by Braze as an attribute reference")
        return text

    def comment(self, text: str) -> str | None:
        return "{% comment %}" + text + "{% endcomment %}"


register(Braze())
