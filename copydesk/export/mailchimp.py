"""Mailchimp: merge tags.

``*|FNAME|*``; a fallback is a conditional merge block,
``*|IF:FNAME|**|FNAME|**|ELSE:|*there*|END:IF|*`` (``IF:TAG`` is true when the field
has a value). Mailchimp has no comments and no escape for a literal ``*|``: copy holding
one is an error. Audience fields are defined per audience, so a field without a standard
tag needs a mapping in ``copydesk.yaml``.
"""

from __future__ import annotations

import re

from copydesk.export.dialect import Dialect, Unsupported, register
from copydesk.export.parse import Placeholder

_TAG = re.compile(r"[A-Z0-9_]{1,10}")


def _check_text(text: str, what: str) -> None:
    for marker in ("*|", "|*"):
        if marker in text:
            raise Unsupported(f"{what} holds '{marker}', which Mailchimp reads as a merge tag")


class Mailchimp(Dialect):
    """Mailchimp merge tags."""

    name = "mailchimp"
    title = "Mailchimp (merge tags)"
    standard = {"first_name": "FNAME", "last_name": "LNAME", "email": "EMAIL", "phone": "PHONE"}

    def check_attribute(self, attr: str) -> str | None:
        if _TAG.fullmatch(attr):
            return None
        return f"'{attr}' is not a merge tag (up to 10 capital letters, digits or '_')"

    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        assert ph.fallback is not None
        if ph.filters:
            raise Unsupported(f"filter '{ph.filters[0].name}' is not translated to Mailchimp")
        if self.check_attribute(attr):
            raise Unsupported(self.check_attribute(attr) or attr)
        _check_text(ph.fallback, "the default")
        if not ph.fallback:
            return f"*|{attr}|*"  # an empty fallback: the tag alone prints nothing when empty
        return f"*|IF:{attr}|**|{attr}|**|ELSE:|*{ph.fallback}*|END:IF|*"

    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        _check_text(text, "the copy")
        if after_placeholder and text.startswith("|"):
            raise Unsupported("a '|' right after a merge tag would read as '*|'")
        if before_placeholder and text.endswith("*"):
            raise Unsupported("a '*' right before a merge tag would read as '*|'")
        return text


register(Mailchimp())
