"""What every platform dialect answers, and the registry of dialects.

A dialect turns copydesk's parts (:mod:`copydesk.export.parse`) into one platform's
personalisation syntax. Anything it cannot write faithfully raises :class:`Unsupported`;
the translator turns that into an :class:`Untranslatable` naming variant, field and
placeholder, and nothing is ever dropped silently.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from copydesk.errors import CopydeskError, InputError
from copydesk.export.parse import Placeholder
from copydesk.render.sandbox import field_allowed


class Unsupported(Exception):
    """Raised by a dialect: this placeholder or literal cannot be written faithfully."""


@dataclass(frozen=True, slots=True)
class Untranslatable:
    """One placeholder (or literal) of one variant field a dialect cannot express."""

    variant_id: str
    field: str
    placeholder: str
    reason: str

    def __str__(self) -> str:
        return f"{self.variant_id} field {self.field}: {self.placeholder!r}: {self.reason}"


class TranslationError(CopydeskError):
    """Approved content a dialect cannot express; lists every problem at once."""

    def __init__(self, dialect: str, problems: list[Untranslatable]) -> None:
        self.dialect = dialect
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} placeholder(s) cannot be exported to {dialect}:\n{lines}")


#: Characters kept in an approval comment: nothing a comment syntax could close on.
_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9 _.:@+=,;()'-]")


def comment_text(text: str) -> str:
    """``text`` safe inside any dialect's comment (braces, ``%``, ``#``, ``*``, ``/``,
    ``]``, ``|`` and line breaks become ``_``)."""
    return _COMMENT_UNSAFE.sub("_", text)


class Dialect(ABC):
    """One platform's personalisation language."""

    #: Registry key and CLI value (``braze``).
    name: str
    #: Shown to people (``Braze (Liquid)``).
    title: str
    #: The platform's standard attribute for copydesk's common contact fields.
    standard: Mapping[str, str] = {}

    def attribute(self, field: str, mapped: str | None) -> str:
        """The platform attribute for copydesk ``field``: ``mapped`` (from
        ``copydesk.yaml``) when given, else the standard name, else the platform's
        custom-attribute convention. Raises :class:`Unsupported` when there is none."""
        attr = mapped or self.standard.get(field) or self.custom(field)
        if attr is None:
            raise Unsupported(f"no {self.title} attribute is mapped for field '{field}' "
                              f"(add esp.{self.name}.{field} to copydesk.yaml)")
        return attr

    def custom(self, field: str) -> str | None:
        """The attribute a field without a standard name gets (``None``: no convention)."""
        return None

    @abstractmethod
    def check_attribute(self, attr: str) -> str | None:
        """Why a configured attribute is not valid for this platform (``None`` when it is)."""

    @abstractmethod
    def placeholder(self, ph: Placeholder, attr: str, *, html: bool) -> str:
        """The platform form of ``ph`` reading ``attr``. ``html``: the field is HTML
        content, so the value must arrive HTML-escaped (copydesk's HTML templates escape it)."""

    @abstractmethod
    def literal(self, text: str, *, after_placeholder: bool, before_placeholder: bool) -> str:
        """Literal copy, escaped where the platform would read it as syntax."""

    def comment(self, text: str) -> str | None:
        """A comment that renders as nothing (``None``: the platform has no comments)."""
        return None

    def field_map_problems(self, mapping: Mapping[str, str]) -> list[str]:
        """Problems of this dialect's ``esp:`` section: keys must be contact fields copy
        may use, values valid attributes of the platform."""
        problems = [f"esp.{self.name}.{field}: not a personalization field copy may use"
                    for field in mapping if not field_allowed(field)]
        return problems + [f"esp.{self.name}.{field}: {why}" for field, attr in mapping.items()
                           if (why := self.check_attribute(attr))]


def quoted(text: str, quotes: str = "'\"", *, forbidden: tuple[str, ...] = ()) -> str:
    """``text`` in the first of ``quotes`` it does not contain. Raises :class:`Unsupported`
    when it holds every quote mark, a line break or one of ``forbidden`` (sequences the
    platform would read as the end of its tag): these dialects' string literals have no
    escape we rely on."""
    bad = [s for s in (*forbidden, "\n", "\r", "\\") if s in text]
    if bad:
        raise Unsupported(f"the default {text!r} holds {bad[0]!r}, which the platform's "
                          "string literals cannot hold")
    for quote in quotes:
        if quote not in text:
            return f"{quote}{text}{quote}"
    raise Unsupported(f"the default {text!r} holds both quote marks")


REGISTRY: dict[str, Dialect] = {}


def register(dialect: Dialect) -> Dialect:
    """Add ``dialect`` to :data:`REGISTRY`."""
    REGISTRY[dialect.name] = dialect
    return dialect


def get(name: str) -> Dialect:
    """The dialect called ``name``; :class:`InputError` listing the known ones otherwise."""
    from copydesk.export import dialects  # noqa: F401  (registers every platform)

    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown dialect '{name}'; use one of {', '.join(names())}") from None


def names() -> list[str]:
    """Every dialect name, in registry order."""
    from copydesk.export import dialects

    return list(dialects.ORDER)
