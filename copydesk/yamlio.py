"""Read YAML files into pydantic models with errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from copydesk.errors import InputError

M = TypeVar("M", bound=BaseModel)


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """Walk a composed YAML node tree along a pydantic error location."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    found = value
                    break
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` in ``text`` (best effort)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    node = _node_at(root, loc)
    return node.start_mark.line + 1 if node is not None else None


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; a syntax error becomes an InputError naming source and line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML: {problem}", source=source, line=line) from None


def validation_error(
    exc: ValidationError, text: str, source: str, base: tuple[int | str, ...] = ()
) -> InputError:
    """Turn the first pydantic error into an InputError with file, line and field."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    full = base + loc
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return InputError(message, source=source, line=line_of(text, full), field=_field_path(loc))


def load_model(path: Path | str, model: type[M], *, text: str | None = None) -> M:
    """Load ``path`` (a YAML file) into ``model``; errors name file, line and field."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("file not found", source=str(path)) from None
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", source=str(path)) from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise InputError("expected a mapping of fields at the top level", source=str(path), line=1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, text, str(path)) from None
