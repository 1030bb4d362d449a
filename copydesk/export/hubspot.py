"""HubSpot: HubL.

``{{ contact.firstname|default('there', true) }}``: HubL's ``default`` replaces an
undefined value; with ``true`` it also replaces an empty one, which is what copydesk does
(its audience readers turn an empty value into a missing one). Custom contact properties
are ``contact.<internal name>``. HTML fields add ``|escape``.
"""

from __future__ import annotations

import re

from copydesk.export.dialect import Dialect, Unsupported, quoted, register
from copydesk.export.parse import Placeholder

_ATTR = re.compile(r"(contact|company)\.[A-Za-z0-9_]+")
FILTERS = {"upper": "upper", "lower": "lower", "capitalize": "capitalize", "trim": "trim"}


class Hubspot(Dialect):
    """HubSpot HubL."""

    name = "hubspot"
    title = "HubSpot (HubL)"
    standard = {"first_name": "contact.firstname", "last_name": "contact.lastname",
                "email": "contact.email", "phone": "contact.phone", "city": "contact.city",
                "country": "contact.country", "postcode": "contact.zip"}

    def custom(self, field: str) -> str | None:
        return f"contact.{field.lower()}"

    def check_attribute(self, attr: str) -> str | None:
        return None if _ATTR.fullmatch(attr) else f"'{attr}' is not a HubL property (contact.NAME)"

    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        assert ph.fallback is not None
        chain = [f"default({quoted(ph.fallback, forbidden=('}}', '%}', '#}'))}, true)"]
        for flt in ph.filters:
            if flt.name not in FILTERS or flt.args:
                raise Unsupported(f"filter '{flt.name}' is not translated to HubL")
            chain.append(FILTERS[flt.name])
        if html:
            chain.append("escape")
        return "{{ " + attr + "|" + "|".join(chain) + " }}"

    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        return text  # copydesk's lexer already read every '{{', '{%', '{#' as syntax

    def comment(self, text: str) -> str | None:
        return "{# " + text + " #}"


register(Hubspot())
