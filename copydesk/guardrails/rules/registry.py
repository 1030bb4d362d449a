"""The one registry of rule types, and everything derived from it.

A rule type is declared once: a compiled rule class (a subclass of
:class:`~copydesk.guardrails.rules.base.CompiledRule`) names its pack model in
``spec_model``; the ``Literal`` of that model's ``type`` field is the name packs use.
Defining the class registers it (``CompiledRule.__init_subclass__`` calls
:func:`register`), and the package imports every module in ``rules/``, so a new rule
type is one class in one new module. From the registry come the class to compile a
spec with (:func:`compile_rule`), the lexical set (:func:`lexical_types`) and the
discriminated union a pack's ``rules`` are validated with (:func:`validate_rule`).
"""

from __future__ import annotations

import functools
import operator
import typing
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, TypeAdapter

from copydesk.errors import PolicyError

if TYPE_CHECKING:
    from copydesk.guardrails.pack import RuleBase
    from copydesk.guardrails.rules.base import CompiledRule

#: rule type name -> compiled rule class. Filled as the rule modules are imported.
RULE_TYPES: dict[str, type[CompiledRule]] = {}


def type_name(spec_model: type[RuleBase]) -> str:
    """The rule type a spec model declares: the one value of its ``type`` Literal."""
    field = spec_model.model_fields.get("type")
    values = typing.get_args(field.annotation) if field is not None else ()
    if field is None or typing.get_origin(field.annotation) is not typing.Literal or len(values) != 1:
        raise TypeError(f"{spec_model.__name__} needs a field like type: Literal['name'] naming its rule type")
    if not isinstance(values[0], str):
        raise TypeError(f"{spec_model.__name__}.type must be a string Literal")
    return values[0]


def register(cls: type[CompiledRule]) -> None:
    """Add a compiled rule class under the type name of its ``spec_model``.

    Redefining the same class (same module and name, e.g. on reload) replaces it;
    a second class claiming a type name is an error."""
    name = type_name(cls.spec_model)
    previous = RULE_TYPES.get(name)
    if previous is not None and _where(previous) != _where(cls):
        raise TypeError(f"rule type '{name}' is declared twice: by {_where(previous)} and by {_where(cls)}")
    RULE_TYPES[name] = cls


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def lexical_types() -> frozenset[str]:
    """Rule types that only look at words and characters (the benchmark's "lexical" set)."""
    return frozenset(name for name, cls in RULE_TYPES.items() if cls.lexical)


def compile_rule(spec: RuleBase, source: str, index: int) -> CompiledRule:
    """Build the runnable form of one rule, with the class its spec's type registered."""
    name = getattr(spec, "type", None)
    cls = RULE_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise PolicyError(f"{source}: rule '{spec.id}': no rule type '{name}' (known: {', '.join(sorted(RULE_TYPES))})")
    return cls(spec, source, index)


_ADAPTER: tuple[tuple[tuple[str, type[CompiledRule]], ...], TypeAdapter[Any]] | None = None


def _adapter() -> TypeAdapter[Any]:
    """The discriminated union of every registered spec model, rebuilt when the
    registry changes. Tags are sorted, so error messages list the types A to Z."""
    global _ADAPTER
    key = tuple(sorted(RULE_TYPES.items()))
    if _ADAPTER is None or _ADAPTER[0] != key:
        union: Any = functools.reduce(operator.or_, (cls.spec_model for _, cls in key))
        _ADAPTER = (key, TypeAdapter(Annotated[union, Field(discriminator="type")]))
    return _ADAPTER[1]


def validate_rule(data: Any) -> RuleBase:
    """One rule of a pack, validated by the spec model its ``type`` names.

    A ``ValidationError`` raised here keeps its locations (``existence.terms``...) when
    pydantic validates a whole pack, so errors still name the rule's field."""
    spec: RuleBase = _adapter().validate_python(data)
    return spec
