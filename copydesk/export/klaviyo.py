"""Klaviyo: Django-style template tags.

``{{ first_name|default:'there' }}`` for profile fields, ``{{ person.phone_number }}``,
custom profile properties as ``{{ person|lookup:'name' }}``, event properties as
``event.name``. Django's ``default`` replaces every falsy value: missing and empty
(copydesk: missing, as its readers drop empty values) but also ``0`` and ``false``,
which copydesk prints — see docs/reference/esp-export.md.
"""

from __future__ import annotations

import re

from copydesk.export.dialect import Dialect, Unsupported, quoted, register
from copydesk.export.parse import Placeholder

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_ATTR = re.compile(rf"{_IDENT}|(person|event)\.{_IDENT}|person\|lookup:'[^'\\{{}}%]+'")
#: copydesk filter -> Django filters with the same result on text.
FILTERS = {"upper": "upper", "lower": "lower", "capitalize": "lower|capfirst"}


class Klaviyo(Dialect):
    """Klaviyo template tags."""

    name = "klaviyo"
    title = "Klaviyo"
    standard = {"first_name": "first_name", "last_name": "last_name", "email": "email",
                "phone": "person.phone_number"}

    def custom(self, field: str) -> str | None:
        return f"person|lookup:'{field}'"

    def check_attribute(self, attr: str) -> str | None:
        if _ATTR.fullmatch(attr):
            return None
        return f"'{attr}' is not a Klaviyo variable (NAME, person.NAME, event.NAME or person|lookup:'Name')"

    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        # html needs nothing: Klaviyo, like Django, autoescapes values in HTML content
        assert ph.fallback is not None
        chain = [f"default:{quoted(ph.fallback, forbidden=('}}', '%}', '#}', '|', ':'))}"]
        for flt in ph.filters:
            if flt.name not in FILTERS or flt.args:
                raise Unsupported(f"filter '{flt.name}' has no Klaviyo equivalent here")
            chain.append(FILTERS[flt.name])
        return "{{ " + attr + "|" + "|".join(chain) + " }}"

    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        return text  # copydesk's lexer already read every '{{', '{%', '{#' as syntax

    def comment(self, text: str) -> str | None:
        return "{# " + text + " #}"


register(Klaviyo())
