"""Conditions over typed contact fields: ``all`` / ``any`` / ``not`` and field comparisons.

A condition is data, never code: it is parsed into pydantic models and compiled into
small closures. Each evaluation can append :class:`TraceStep` records saying which
field was compared, how, with what, and the result.

Semantics worth knowing (also in docs/reference/campaigns.md):

- a missing field (absent or empty) makes every comparison false, except ``missing``,
  ``is_not`` and ``not_in``, which are true;
- a field that is present but cannot be compared the way the rule asks (``2026-13-45``
  or ``5 days ago`` for ``within_days``, ``n/a`` for ``gt: 100``, a number for
  ``contains``) raises :class:`~copydesk.errors.UnreadableValue`: the contact is
  rejected, never decided on a rule that could not be evaluated (fail closed);
- ``in`` / ``not_in`` / ``contains`` on a list field test membership (``in``: any
  overlap);
- text comparisons are exact (case matters);
- ``within_days: N`` is true for a date from N days ago up to today; ``older_than_days:
  N`` for a date more than N days ago.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from copydesk.errors import UnreadableValue
from copydesk.inputs import unreadable_value
from copydesk.models import FileModel
from copydesk.rules.values import align, as_day, coerce_text, same

Operator = Literal[
    "is",
    "is_not",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "exists",
    "missing",
    "contains",
    "within_days",
    "older_than_days",
]
#: The comparison keys a field condition may use, in the order messages list them.
OPERATORS: tuple[str, ...] = get_args(Operator)

Scalar = str | int | float | bool | date


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One evaluated check: a field comparison, a combinator, or an engine step."""

    stage: str
    rule_id: str | None
    field: str | None
    operator: str
    expected: Any
    actual: Any
    result: bool
    note: str = ""
    depth: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO text)."""
        return {
            "stage": self.stage,
            "rule_id": self.rule_id,
            "field": self.field,
            "operator": self.operator,
            "expected": _jsonable(self.expected),
            "actual": _jsonable(self.actual),
            "result": self.result,
            "note": self.note,
            "depth": self.depth,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Compare(FileModel):
    """``{field: NAME, OPERATOR: VALUE}``: one comparison of a contact field."""

    field: str = Field(min_length=1)
    op: Operator
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _operator_key(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "op" in data:
            return data
        ops = [key for key in data if key in OPERATORS]
        unknown = [key for key in data if key != "field" and key not in OPERATORS]
        if unknown:
            raise ValueError(f"unknown operator '{unknown[0]}'; use one of {', '.join(OPERATORS)}")
        if len(ops) != 1:
            raise ValueError(
                "a field condition needs exactly one operator "
                f"({', '.join(OPERATORS)}); found {len(ops)}"
            )
        op = ops[0]
        return {"field": data.get("field"), "op": op, "value": data[op]}

    @model_validator(mode="after")
    def _value_fits(self) -> Compare:
        op, value = self.op, self.value
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"'{op}' needs a non-empty list, e.g. [a, b]")
        elif op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError("'between' needs a list of two bounds, e.g. [1, 5]")
            lo, hi = (_ordered(v) for v in value)
            try:
                if lo > hi:
                    raise ValueError("'between' bounds are in the wrong order")
            except TypeError:
                raise ValueError("'between' bounds are of different types") from None
            self.value = [lo, hi]
        elif op in ("exists", "missing"):
            if not isinstance(value, bool):
                raise ValueError(f"'{op}' takes true or false")
        elif op in ("within_days", "older_than_days"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"'{op}' needs a whole number of days (0 or more)")
        elif op in ("lt", "lte", "gt", "gte"):
            if isinstance(value, bool | list | dict) or value is None:
                raise ValueError(f"'{op}' needs a number or a date")
            self.value = _ordered(value)
        elif isinstance(value, list | dict) or value is None:
            raise ValueError(f"'{op}' needs a single value (text, number, true/false, date)")
        # a bound every row would fail to compare with (a date-time UTC cannot hold) is the
        # file's problem, not each row's: refuse it here, once
        values = self.value if isinstance(self.value, list) else [self.value]
        problem = unreadable_value([_ordered(v) for v in values])
        if problem:
            raise ValueError(f"'{op}' value cannot be used: {problem}")
        return self


def _ordered(value: Any) -> Any:
    """Bounds written as quoted text ("2024-01-01", "3") become typed."""
    return coerce_text(value) if isinstance(value, str) else value


class AllOf(FileModel):
    """``{all: [...]}``: true when every condition is true (empty: true)."""

    all: list[Condition]


class AnyOf(FileModel):
    """``{any: [...]}``: true when at least one condition is true."""

    any: list[Condition] = Field(min_length=1)


class Not(FileModel):
    """``{not: CONDITION}``."""

    not_: Condition = Field(alias="not")


#: Prefix of the union tags pydantic puts into error locations; stripped for messages.
TAG_PREFIX = "cond:"


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("all", "any", "not"):
            if key in data:
                return TAG_PREFIX + key
        return TAG_PREFIX + "field"
    if isinstance(data, AllOf):
        return TAG_PREFIX + "all"
    if isinstance(data, AnyOf):
        return TAG_PREFIX + "any"
    if isinstance(data, Not):
        return TAG_PREFIX + "not"
    return TAG_PREFIX + "field"


Condition = Annotated[
    Annotated[AllOf, Tag(TAG_PREFIX + "all")]
    | Annotated[AnyOf, Tag(TAG_PREFIX + "any")]
    | Annotated[Not, Tag(TAG_PREFIX + "not")]
    | Annotated[Compare, Tag(TAG_PREFIX + "field")],
    Discriminator(_kind),
]

for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


#: Deepest nesting of ``all`` / ``any`` / ``not`` a condition may have. Deeper data is
#: refused before pydantic or the compiled closures recurse into it.
MAX_CONDITION_DEPTH = 16


def check_depth(data: Any) -> Any:
    """``data`` (a condition as read from a file) unchanged, or ``ValueError`` when its
    ``all`` / ``any`` / ``not`` nest deeper than :data:`MAX_CONDITION_DEPTH` (iterative, so a
    hostile value cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict):
            continue
        for key in ("all", "any", "not"):
            if key not in item:
                continue
            if depth + 1 > MAX_CONDITION_DEPTH:
                raise ValueError(
                    f"conditions may nest at most {MAX_CONDITION_DEPTH} levels of all / any / not"
                )
            inner = item[key]
            stack.extend((c, depth + 1) for c in (inner if isinstance(inner, list) else [inner]))
    return data


class _Holder(FileModel):
    """Used to validate a bare condition (tests, previews)."""

    when: Condition

    @field_validator("when", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict | AllOf | AnyOf | Not | Compare):
            raise ValueError("a condition is a mapping: {field: ..., is: ...} or all/any/not")
        return check_depth(value)


def parse_condition(data: Any) -> AllOf | AnyOf | Not | Compare:
    """Validate ``data`` (as read from YAML) into a condition model."""
    return _Holder.model_validate({"when": data}).when


Contact = Mapping[str, Any]
Trace = list[TraceStep]
Check = Callable[[Contact, date, Trace | None], bool]


def compile_condition(
    cond: AllOf | AnyOf | Not | Compare, *, stage: str, rule_id: str | None, depth: int = 0
) -> Check:
    """Turn a condition into a closure ``check(contact, today, trace) -> bool``.

    ``trace`` is a list to append steps to, or ``None`` to skip tracing (faster)."""
    if isinstance(cond, AllOf):
        parts = [
            compile_condition(c, stage=stage, rule_id=rule_id, depth=depth + 1) for c in cond.all
        ]

        def every(contact: Contact, today: date, trace: Trace | None) -> bool:
            return all(part(contact, today, trace) for part in parts)

        return _traced("all", every, stage=stage, rule_id=rule_id, depth=depth)
    if isinstance(cond, AnyOf):
        parts = [
            compile_condition(c, stage=stage, rule_id=rule_id, depth=depth + 1) for c in cond.any
        ]

        def some(contact: Contact, today: date, trace: Trace | None) -> bool:
            return any(part(contact, today, trace) for part in parts)

        return _traced("any", some, stage=stage, rule_id=rule_id, depth=depth)
    if isinstance(cond, Not):
        inner = compile_condition(cond.not_, stage=stage, rule_id=rule_id, depth=depth + 1)

        def negated(contact: Contact, today: date, trace: Trace | None) -> bool:
            return not inner(contact, today, trace)

        return _traced("not", negated, stage=stage, rule_id=rule_id, depth=depth)
    return _compile_compare(cond, stage=stage, rule_id=rule_id, depth=depth)


def _traced(
    operator: str, evaluate: Check, *, stage: str, rule_id: str | None, depth: int
) -> Check:
    """``evaluate`` (an ``all``/``any``/``not`` over its parts) with its own trace
    step placed before the steps its parts append, so the trace reads top-down."""

    def check(contact: Contact, today: date, trace: Trace | None) -> bool:
        mark = len(trace) if trace is not None else 0
        result = evaluate(contact, today, trace)
        if trace is not None:
            trace.insert(
                mark, TraceStep(stage, rule_id, None, operator, None, None, result, "", depth)
            )
        return result

    return check


def _compile_compare(cond: Compare, *, stage: str, rule_id: str | None, depth: int) -> Check:
    name, op, expected = cond.field, cond.op, cond.value
    test = _TESTS[op]

    def check(contact: Contact, today: date, trace: Trace | None) -> bool:
        actual = contact.get(name)
        result, note = test(actual, expected, today)
        if note in UNREADABLE:
            raise UnreadableValue(f"{rule_id or stage}: '{op}' cannot use this value ({note})",
                                  field=name, value=actual)
        if trace is not None:
            trace.append(TraceStep(stage, rule_id, name, op, expected, actual, result, note, depth))
        return result

    return check


Outcome = tuple[bool, str]
MISSING_NOTE = "field is missing"
NOT_COMPARABLE = "not comparable"
NOT_A_DATE = "not a date"
NOT_LIST_OR_TEXT = "not a list or text"
#: Notes that mean the value is present but cannot be evaluated: the row is rejected.
UNREADABLE = frozenset({NOT_COMPARABLE, NOT_A_DATE, NOT_LIST_OR_TEXT})


def _mismatch(actual: Any, expected: Any) -> bool:
    """A text value where the rule compares with a typed one (a date, number or
    true/false) that the text does not read as: the comparison cannot be evaluated."""
    if isinstance(expected, str) or isinstance(actual, list):
        return False
    a, _ = align(actual, expected)
    return isinstance(a, str)


def _is(actual: Any, expected: Any, today: date) -> Outcome:
    if actual is None:
        return False, MISSING_NOTE
    if _mismatch(actual, expected):
        return False, NOT_COMPARABLE
    return same(actual, expected), ""


def _is_not(actual: Any, expected: Any, today: date) -> Outcome:
    if actual is None:
        return True, MISSING_NOTE
    result, note = _is(actual, expected, today)
    return not result, note


def _in(actual: Any, expected: Any, today: date) -> Outcome:
    if actual is None:
        return False, MISSING_NOTE
    if isinstance(actual, list):
        return any(same(a, e) for a in actual for e in expected), ""
    if all(_mismatch(actual, e) for e in expected):
        return False, NOT_COMPARABLE
    return any(same(actual, e) for e in expected), ""


def _not_in(actual: Any, expected: Any, today: date) -> Outcome:
    if actual is None:
        return True, MISSING_NOTE
    result, note = _in(actual, expected, today)
    return not result, note


def _ordering(pick: Callable[[Any, Any], bool]) -> Callable[[Any, Any, date], Outcome]:
    def test(actual: Any, expected: Any, today: date) -> Outcome:
        if actual is None:
            return False, MISSING_NOTE
        a, e = align(actual, expected)
        if isinstance(a, bool | list | dict) or isinstance(a, str) != isinstance(e, str):
            return False, NOT_COMPARABLE
        try:
            return pick(a, e), ""
        except TypeError:
            return False, NOT_COMPARABLE

    return test


def _between(actual: Any, expected: Any, today: date) -> Outcome:
    if actual is None:
        return False, MISSING_NOTE
    lo_ok, note = _TESTS["gte"](actual, expected[0], today)
    if not lo_ok:
        return False, note
    return _TESTS["lte"](actual, expected[1], today)


def _exists(actual: Any, expected: Any, today: date) -> Outcome:
    present = actual is not None and actual != "" and actual != []
    return present == expected, ""


def _missing(actual: Any, expected: Any, today: date) -> Outcome:
    present = actual is not None and actual != "" and actual != []
    return (not present) == expected, ""


def _contains(actual: Any, expected: Any, today: date) -> Outcome:
    if actual is None:
        return False, MISSING_NOTE
    if isinstance(actual, list):
        return any(same(a, expected) for a in actual), ""
    if isinstance(actual, str):
        return str(expected) in actual, ""
    return False, NOT_LIST_OR_TEXT


def _age(actual: Any) -> tuple[date | None, str]:
    if actual is None:
        return None, MISSING_NOTE
    day = as_day(actual)
    if day is None and isinstance(actual, str):
        day = as_day(coerce_text(actual))
    if day is None:
        return None, NOT_A_DATE
    return day, ""


def _within_days(actual: Any, expected: Any, today: date) -> Outcome:
    day, note = _age(actual)
    if day is None:
        return False, note
    days = (today - day).days
    return 0 <= days <= expected, f"{days} days ago"


def _older_than_days(actual: Any, expected: Any, today: date) -> Outcome:
    day, note = _age(actual)
    if day is None:
        return False, note
    days = (today - day).days
    return days > expected, f"{days} days ago"


_TESTS: dict[str, Callable[[Any, Any, date], Outcome]] = {
    "is": _is,
    "is_not": _is_not,
    "in": _in,
    "not_in": _not_in,
    "lt": _ordering(lambda a, e: a < e),
    "lte": _ordering(lambda a, e: a <= e),
    "gt": _ordering(lambda a, e: a > e),
    "gte": _ordering(lambda a, e: a >= e),
    "between": _between,
    "exists": _exists,
    "missing": _missing,
    "contains": _contains,
    "within_days": _within_days,
    "older_than_days": _older_than_days,
}
