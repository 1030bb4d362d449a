"""The Library page's per-platform downloads: the approved library in one platform's
personalisation syntax, ready to download in one click and audited when downloaded."""

from __future__ import annotations

from dataclasses import dataclass

from copydesk.export.dialect import TranslationError, Untranslatable, get, names
from copydesk.services import Desk
from copydesk.services.library import Export

#: Download formats offered per platform: label and MIME type.
FORMATS = {"csv": ("CSV", "text/csv"), "json": ("JSON", "application/json")}


def choices() -> dict[str, str]:
    """Dialect name -> the title people see, in the order they are offered."""
    return {name: get(name).title for name in names()}


@dataclass
class Download:
    """What the page offers for one platform and format: the export when there is one,
    and the placeholders the platform cannot express (listed, never dropped)."""

    dialect: str
    fmt: str
    export: Export | None
    problems: list[Untranslatable]

    @property
    def file_name(self) -> str:
        return f"copydesk-approved-{self.dialect}.{self.fmt}"

    @property
    def mime(self) -> str:
        return FORMATS[self.fmt][1]


def build(d: Desk, dialect: str, fmt: str, *, actor: str, partial: bool) -> Download:
    """The export of ``dialect`` in ``fmt``, not yet audited. With problems, there is an
    export only when ``partial`` (the variants that translate)."""
    try:
        export = d.prepare_export(fmt, actor=actor, dialect=dialect, skip_untranslatable=partial)
    except TranslationError as exc:
        return Download(dialect, fmt, None, exc.problems)
    return Download(dialect, fmt, export, export.skipped)


def record(d: Desk, export: Export, actor: str) -> None:
    """Audit a download (the download button's callback)."""
    d.record_export(export, actor=actor)
