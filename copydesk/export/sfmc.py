"""Salesforce Marketing Cloud: AMPscript.

``%%=IIF(Empty(AttributeValue("FirstName")),'there',AttributeValue("FirstName"))=%%``:
``AttributeValue`` reads a subscriber or sendable data extension attribute (empty when
it is missing), ``Empty`` is true for a missing or empty value. String literals escape
their quote by doubling it. A literal ``%%`` in copy is written ``%%=Char(37,2)=%%``.
"""

from __future__ import annotations

import re

from copydesk.export.dialect import Dialect, Unsupported, register
from copydesk.export.parse import Placeholder

_ATTR = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*")
#: copydesk filter -> AMPscript string function with the same result on text.
FUNCTIONS = {"upper": "Uppercase", "lower": "Lowercase", "trim": "Trim"}
_PERCENTS = re.compile(r"%{2,}")


def string(text: str) -> str:
    """An AMPscript string constant (quotes doubled)."""
    if "%%" in text or "\n" in text or "\r" in text:
        raise Unsupported(f"the default {text!r} holds '%%' or a line break")
    return "'" + text.replace("'", "''") + "'"


def _percent(n: int) -> str:
    return f"%%=Char(37,{n})=%%" if n > 1 else "%%=Char(37)=%%"


class Sfmc(Dialect):
    """SFMC AMPscript."""

    name = "sfmc"
    title = "Salesforce Marketing Cloud (AMPscript)"
    standard = {"first_name": "FirstName", "last_name": "LastName"}

    def custom(self, field: str) -> str | None:
        return field  # sendable data extension columns are free-form: the same name

    def check_attribute(self, attr: str) -> str | None:
        return None if _ATTR.fullmatch(attr) else f"'{attr}' is not an attribute name"

    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        assert ph.fallback is not None
        if self.check_attribute(attr):
            raise Unsupported(self.check_attribute(attr) or attr)
        value = f'AttributeValue("{attr}")'
        expr = f"IIF(Empty({value}),{string(ph.fallback)},{value})"
        for flt in ph.filters:
            if flt.name not in FUNCTIONS or flt.args:
                raise Unsupported(f"filter '{flt.name}' has no AMPscript equivalent here")
            expr = f"{FUNCTIONS[flt.name]}({expr})"
        return f"%%={expr}=%%"

    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        out = _PERCENTS.sub(lambda m: _percent(len(m.group(0))), text)
        # a single '%' touching a placeholder's '%%' would make '%%%'
        if before_placeholder and out.endswith("%") and not out.endswith("=%%"):
            out = out[:-1] + _percent(1)
        if after_placeholder and out.startswith("%") and not out.startswith("%%="):
            out = _percent(1) + out[1:]
        return out

    def comment(self, text: str) -> str | None:
        return "%%[ /* " + text + " */ ]%%"


register(Sfmc())
