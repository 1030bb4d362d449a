"""Each operator, with typed values, missing fields and bad condition files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from copydesk.errors import UnreadableValue
from copydesk.rules.conditions import compile_condition, parse_condition

TODAY = date(2026, 6, 1)

CONTACT: dict[str, Any] = {
    "contact_id": "C1",
    "lifecycle_stage": "dormant",
    "orders": 3,
    "spend": 120.5,
    "vip": True,
    "interests": ["hiking", "camping"],
    "bio": "Loves fell walking",
    "last_purchase_at": date(2026, 5, 20),  # 12 days ago
    "signup_at": datetime(2025, 1, 10, 14, 30, tzinfo=UTC),
}


def holds(cond: dict[str, Any], contact: dict[str, Any] | None = None) -> bool:
    check = compile_condition(parse_condition(cond), stage="test", rule_id="r")
    return check(CONTACT if contact is None else contact, TODAY, None)


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"field": "lifecycle_stage", "is": "dormant"}, True),
        ({"field": "lifecycle_stage", "is": "Dormant"}, False),
        ({"field": "orders", "is": 3}, True),
        ({"field": "orders", "is": "3"}, True),
        ({"field": "vip", "is": True}, True),
        ({"field": "vip", "is": 1}, False),
        ({"field": "lifecycle_stage", "is_not": "loyal"}, True),
        ({"field": "lifecycle_stage", "is_not": "dormant"}, False),
        ({"field": "lifecycle_stage", "in": ["dormant", "loyal"]}, True),
        ({"field": "lifecycle_stage", "in": ["active", "loyal"]}, False),
        ({"field": "interests", "in": ["camping", "climbing"]}, True),
        ({"field": "interests", "in": ["climbing"]}, False),
        ({"field": "lifecycle_stage", "not_in": ["active", "loyal"]}, True),
        ({"field": "interests", "not_in": ["hiking"]}, False),
        ({"field": "orders", "lt": 4}, True),
        ({"field": "orders", "lt": 3}, False),
        ({"field": "orders", "lte": 3}, True),
        ({"field": "orders", "gt": 2}, True),
        ({"field": "orders", "gt": 3}, False),
        ({"field": "orders", "gte": 3}, True),
        ({"field": "spend", "gte": 120.5}, True),
        ({"field": "spend", "lt": 100}, False),
        ({"field": "last_purchase_at", "gt": date(2026, 5, 1)}, True),
        ({"field": "last_purchase_at", "lt": "2026-05-01"}, False),
        ({"field": "signup_at", "lt": date(2025, 1, 11)}, True),
        ({"field": "signup_at", "gte": date(2025, 1, 10)}, True),
        ({"field": "orders", "between": [1, 3]}, True),
        ({"field": "orders", "between": [4, 9]}, False),
        ({"field": "last_purchase_at", "between": ["2026-05-01", "2026-05-31"]}, True),
        ({"field": "orders", "exists": True}, True),
        ({"field": "nickname", "exists": True}, False),
        ({"field": "nickname", "exists": False}, True),
        ({"field": "nickname", "missing": True}, True),
        ({"field": "orders", "missing": True}, False),
        ({"field": "interests", "contains": "hiking"}, True),
        ({"field": "interests", "contains": "climbing"}, False),
        ({"field": "bio", "contains": "fell"}, True),
        ({"field": "bio", "contains": "Fell"}, False),
        ({"field": "last_purchase_at", "within_days": 30}, True),
        ({"field": "last_purchase_at", "within_days": 12}, True),
        ({"field": "last_purchase_at", "within_days": 11}, False),
        ({"field": "last_purchase_at", "older_than_days": 11}, True),
        ({"field": "last_purchase_at", "older_than_days": 12}, False),
        ({"field": "signup_at", "older_than_days": 365}, True),
    ],
)
def test_operator(cond: dict[str, Any], expected: bool) -> None:
    assert holds(cond) is expected


@pytest.mark.parametrize(
    ("cond", "contact"),
    [
        ({"field": "orders", "contains": 3}, None),
        ({"field": "lifecycle_stage", "within_days": 30}, None),
        ({"field": "lifecycle_stage", "lt": 3}, None),
        ({"field": "vip", "gt": 0}, None),
        # dates a CSV cell could not be read as: kept as text, never silently "no match"
        ({"field": "last_purchase_at", "within_days": 30}, {"last_purchase_at": "2026-13-45"}),
        ({"field": "last_purchase_at", "within_days": 30}, {"last_purchase_at": "2026-11-31"}),
        ({"field": "last_purchase_at", "older_than_days": 30}, {"last_purchase_at": "5 days ago"}),
        ({"field": "last_purchase_at", "gt": "2026-01-01"}, {"last_purchase_at": "yesterday"}),
        ({"field": "spend", "between": [1, 5]}, {"spend": "n/a"}),
        ({"field": "signup_at", "is": date(2026, 1, 1)}, {"signup_at": "2026-02-30"}),
        ({"field": "orders", "is_not": 3}, {"orders": "three"}),
        ({"field": "orders", "not_in": [1, 2]}, {"orders": "many"}),
        ({"field": "vip", "is": True}, {"vip": "maybe"}),
    ],
)
def test_a_value_the_condition_cannot_evaluate_is_an_error_never_a_no_match(
    cond: dict[str, Any], contact: dict[str, Any] | None
) -> None:
    with pytest.raises(UnreadableValue) as err:
        holds(cond, contact)
    assert err.value.field == cond["field"]
    assert repr((contact or CONTACT)[cond["field"]]) in str(err.value)


def test_within_days_excludes_future_dates() -> None:
    assert not holds({"field": "d", "within_days": 30}, {"d": date(2026, 6, 5)})


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"field": "nickname", "is": "x"}, False),
        ({"field": "nickname", "is_not": "x"}, True),
        ({"field": "nickname", "in": ["x"]}, False),
        ({"field": "nickname", "not_in": ["x"]}, True),
        ({"field": "nickname", "lt": 3}, False),
        ({"field": "nickname", "gte": 3}, False),
        ({"field": "nickname", "between": [1, 2]}, False),
        ({"field": "nickname", "contains": "x"}, False),
        ({"field": "nickname", "within_days": 3}, False),
        ({"field": "nickname", "older_than_days": 3}, False),
    ],
)
def test_missing_field(cond: dict[str, Any], expected: bool) -> None:
    assert holds(cond) is expected


def test_combinators() -> None:
    dormant = {"field": "lifecycle_stage", "is": "dormant"}
    loyal = {"field": "lifecycle_stage", "is": "loyal"}
    assert holds({"all": [dormant, {"field": "orders", "gte": 3}]})
    assert not holds({"all": [dormant, loyal]})
    assert holds({"any": [loyal, dormant]})
    assert not holds({"any": [loyal, {"field": "orders", "gt": 5}]})
    assert holds({"not": loyal})
    assert not holds({"not": {"any": [loyal, dormant]}})
    assert holds({"all": []})


def test_trace_records_every_evaluated_comparison() -> None:
    cond = parse_condition(
        {"all": [{"field": "lifecycle_stage", "is": "dormant"}, {"field": "orders", "gte": 5}]}
    )
    trace: list[Any] = []
    assert not compile_condition(cond, stage="suppress", rule_id="r1")(CONTACT, TODAY, trace)
    assert [(s.field, s.operator, s.expected, s.actual, s.result) for s in trace] == [
        (None, "all", None, None, False),
        ("lifecycle_stage", "is", "dormant", "dormant", True),
        ("orders", "gte", 5, 3, False),
    ]
    assert [s.depth for s in trace] == [0, 1, 1]
    assert all(s.rule_id == "r1" and s.stage == "suppress" for s in trace)


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ({"field": "x", "iss": "a"}, "unknown operator 'iss'"),
        ({"field": "x"}, "exactly one operator"),
        ({"field": "x", "is": "a", "in": ["a"]}, "exactly one operator"),
        ({"field": "x", "in": "a"}, "non-empty list"),
        ({"field": "x", "between": [1]}, "two bounds"),
        ({"field": "x", "between": [5, 1]}, "wrong order"),
        ({"field": "x", "within_days": -1}, "whole number"),
        ({"field": "x", "within_days": "soon"}, "whole number"),
        ({"field": "x", "exists": "yes"}, "true or false"),
        ({"field": "x", "lt": [1]}, "number or a date"),
        ({"field": "x", "is": [1, 2]}, "single value"),
        ({"all": {"field": "x", "is": 1}}, "list"),
        ({"nope": []}, "unknown operator"),
    ],
)
def test_bad_conditions_are_rejected(cond: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_condition(cond)
    assert message in str(info.value)


def test_no_python_is_ever_evaluated() -> None:
    # an "expression" is just text compared for equality
    cond = {"field": "lifecycle_stage", "is": "__import__('os').system('echo hi')"}
    assert holds(cond) is False
    assert holds(cond, {"lifecycle_stage": "__import__('os').system('echo hi')"}) is True
