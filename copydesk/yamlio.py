"""Read YAML files into pydantic models with errors that name file, line and field.

Every YAML reader in copydesk goes through :class:`StrictLoader` (``parse_yaml``,
``load_model``, ``line_of``): a key given twice in one mapping is an error naming both
lines (``yaml.safe_load`` silently keeps the last), nesting deeper than
:data:`~copydesk.inputs.MAX_DEPTH` levels and aliases that refer to themselves or expand
beyond :data:`MAX_NODES` nodes are errors with a line, and nothing the YAML library raises
escapes as anything but :class:`~copydesk.errors.InputError`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from copydesk.errors import InputError
from copydesk.inputs import MAX_DEPTH, to_utc

M = TypeVar("M", bound=BaseModel)

#: Most nodes a document may expand to once aliases are followed ("billion laughs").
MAX_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys, deep nesting and alias bombs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open = 0
        # id(node) -> (levels of nesting below and including it, nodes once aliases expand)
        self._shape: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._shape:
                raise ComposerError(None, None, f"alias *{event.anchor} refers to the collection it is in",
                                    event.start_mark)
            return super().compose_node(parent, index)
        collection = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        if collection and self._open >= MAX_DEPTH:
            raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        self._open += collection
        try:
            node = super().compose_node(parent, index)
        finally:
            self._open -= collection
        if node is not None:
            self._measure(node)
        return node

    def _measure(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            self._shape[id(node)] = (0, 1)
            return
        shapes = [self._shape[id(child)] for child in children]
        levels = 1 + max((s[0] for s in shapes), default=0)
        size = 1 + sum(s[1] for s in shapes)
        if levels > MAX_DEPTH:
            raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep (through aliases)",
                                node.start_mark)
        if size > MAX_NODES:
            raise ComposerError(None, None, f"more than {MAX_NODES:,} values once aliases are expanded",
                                node.start_mark)
        self._shape[id(node)] = (levels, size)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # SafeConstructor builds dates and numbers without catching their errors
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ConstructorError(None, None, f"unreadable value: {exc}", node.start_mark) from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        value = super().construct_yaml_timestamp(node)
        if isinstance(value, datetime):
            to_utc(value)  # ValueError, reported with the line by construct_object
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if first is not key_node:
                    lines = f"lines {first.start_mark.line + 1} and {key_node.start_mark.line + 1}"
                    raise ConstructorError(None, None, f"key '{key}' is given twice ({lines})",
                                           key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)


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
        root = yaml.compose(text, Loader=StrictLoader)
    except (yaml.YAMLError, RecursionError, ValueError):
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
    """Parse YAML text with :class:`StrictLoader`; anything wrong with it (syntax, a
    duplicate key, too deep, a value the YAML types cannot hold such as ``2026-13-45``
    written as a bare date) becomes an InputError naming source and line."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML: {problem}", source=source, line=line) from None
    except RecursionError:
        raise InputError(f"invalid YAML: nested more than {MAX_DEPTH} levels deep", source=source) from None
    except (ValueError, OverflowError, TypeError) as exc:  # belt and braces: see construct_object
        raise InputError(f"invalid YAML value: {exc}", source=source) from None


def validation_error(
    exc: ValidationError, text: str, source: str, base: tuple[int | str, ...] = ()
) -> InputError:
    """Turn the first pydantic error into an InputError with file, line and field."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    full = base + loc
    message = str(err["msg"]).removeprefix("Value error, ")
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
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise InputError("expected a mapping of fields at the top level", source=str(path), line=1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, text, str(path)) from None
