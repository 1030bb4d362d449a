"""Messages for marketer-facing screens: errors and paths without server paths, and
records as readable key/value text rather than raw JSON. Plain functions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from copydesk.errors import CopydeskError, InputError


def relative_name(path: str | Path, root: Path | None) -> str:
    """``path`` relative to the workspace ``root`` (``campaigns/x.yaml``); a path
    outside it by its file name only, so no server path reaches the screen."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    if root is not None:
        for base in (root, root.resolve()):
            try:
                return str(p.relative_to(base))
            except ValueError:
                continue
        try:
            return str(p.resolve().relative_to(root.resolve()))
        except (ValueError, OSError):
            pass
    return p.name


def strip_paths(text: str, root: Path | None) -> str:
    """``text`` with the workspace root (as given and resolved) taken out of any path in it."""
    if root is None:
        return text
    for base in sorted({str(root), str(root.resolve())}, key=len, reverse=True):
        text = text.replace(base.rstrip("/") + "/", "").replace(base, ".")
    return text


def error_text(exc: CopydeskError, root: Path | None) -> str:
    """The error's message with its source named relative to the workspace."""
    if isinstance(exc, InputError) and exc.source:
        return strip_paths(str(InputError(exc.reason, source=relative_name(exc.source, root), line=exc.line,
                                          field=exc.field)), root)
    return strip_paths(str(exc), root)


def _value_text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    return str(value)


def readable_rows(data: Mapping[str, Any], *, prefix: str = "") -> list[dict[str, str]]:
    """A nested record as ``field`` / ``value`` rows (nested keys joined with a dot, lists
    as comma-separated text, empty values as a dash): for a table, not a JSON tree."""
    rows: list[dict[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, Mapping) and value:
            rows += readable_rows(value, prefix=f"{prefix}{key}.")
        else:
            rows.append({"field": name, "value": _value_text(value)})
    return rows


def readable_line(data: Mapping[str, Any], *, limit: int = 300) -> str:
    """A short ``key: value; key: value`` line of ``data`` (for a table cell)."""
    text = _value_text(data) if data else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
