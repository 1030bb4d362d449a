"""The form-based campaign editor: the common cases of a campaign file (channel,
template, holdout, frequency cap, suppress and select rules with one condition each,
fallback) as form values, and back to the same YAML. Plain functions.

A rule whose condition is more than one comparison (``all``/``any``/``not``) is shown
as such and kept unchanged: the YAML stays the place for those."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import yaml

from copydesk.errors import InputError
from copydesk.rules.conditions import OPERATORS
from copydesk.yamlio import parse_yaml

#: What the operator column shows for a condition the form cannot edit (kept as is).
COMPLEX = "(combined condition: edit in YAML)"
#: Operator for "no condition" (a select rule for everyone).
EVERYONE = "(everyone)"
OPERATOR_CHOICES = (EVERYONE, *OPERATORS, COMPLEX)
_LIST_OPS = ("in", "not_in", "between")
_FLAG_OPS = ("exists", "missing")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


def _parse(text: str) -> Any:
    """A typed scalar from the form's text, as YAML would read it."""
    text = text.strip()
    if not text:
        return ""
    try:
        value = parse_yaml(text, "form")
    except InputError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def condition_row(when: Any) -> dict[str, str]:
    """``field``, ``operator``, ``value`` of a single-comparison condition; the COMPLEX
    marker for anything else; EVERYONE for none."""
    if when is None:
        return {"field": "", "operator": EVERYONE, "value": ""}
    if isinstance(when, dict) and "field" in when:
        ops = [k for k in when if k in OPERATORS]
        if len(ops) == 1 and set(when) == {"field", ops[0]}:
            return {"field": str(when["field"]), "operator": ops[0], "value": _text(when[ops[0]])}
    return {"field": "", "operator": COMPLEX, "value": ""}


def rule_rows(rules: Any, *, select: bool) -> list[dict[str, str]]:
    """Table rows for the ``suppress`` or ``select`` list of a campaign's data."""
    rows = []
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        row = {"id": str(rule.get("id", "")), **condition_row(rule.get("when"))}
        if select:
            variants: dict[str, Any] = rule["variants"] if isinstance(rule.get("variants"), dict) else {}
            row["brief"] = str(variants.get("brief") or "")
            if variants.get("ids"):
                row["brief"] = COMPLEX
        rows.append(row)
    return rows


def _when(row: dict[str, Any], kept: Any) -> Any:
    op = str(row.get("operator") or EVERYONE)
    if op == COMPLEX:
        return kept
    if op == EVERYONE:
        return None
    value: Any
    if op in _FLAG_OPS:
        value = True
    elif op in _LIST_OPS:
        value = [_parse(part) for part in str(row.get("value") or "").split(",") if part.strip()]
    else:
        value = _parse(str(row.get("value") or ""))
    return {"field": str(row.get("field") or "").strip(), op: value}


def _rules(rows: list[dict[str, Any]], original: Any, *, select: bool) -> list[dict[str, Any]]:
    before = {str(r.get("id")): r for r in original if isinstance(r, dict)} if isinstance(original, list) else {}
    out = []
    for row in rows:
        rid = str(row.get("id") or "").strip()
        if not rid:
            continue  # an empty row of the table editor
        old = before.get(rid, {})
        rule: dict[str, Any] = {"id": rid}
        if old.get("description"):
            rule["description"] = old["description"]
        when = _when(row, old.get("when"))
        if when is not None:
            rule["when"] = when
        if select:
            brief = str(row.get("brief") or "").strip()
            rule["variants"] = old.get("variants") if brief == COMPLEX else {
                **{k: v for k, v in (old.get("variants") or {}).items() if k not in ("brief", "ids", "weights")},
                "brief": brief}
        out.append(rule)
    return out


def settings_of(data: dict[str, Any]) -> dict[str, Any]:
    """The scalar settings the form edits."""
    cap: dict[str, Any] = data["frequency_cap"] if isinstance(data.get("frequency_cap"), dict) else {}
    fallback: dict[str, Any] = data["fallback"] if isinstance(data.get("fallback"), dict) else {}
    return {
        "id": _text(data.get("id")), "description": _text(data.get("description")),
        "channel": _text(data.get("channel") or "email"), "template": _text(data.get("template")),
        "holdout": float(data.get("holdout") or 0.0) if isinstance(data.get("holdout"), int | float) else 0.0,
        "cap_max": int(cap.get("max") or 0) if isinstance(cap.get("max"), int) else 0,
        "cap_days": int(cap.get("per_days") or 7) if isinstance(cap.get("per_days"), int) else 7,
        "fallback": COMPLEX if fallback.get("ids") else _text(fallback.get("brief")),
    }


def apply_form(data: dict[str, Any], settings: dict[str, Any], suppress: list[dict[str, Any]],
               select: list[dict[str, Any]]) -> dict[str, Any]:
    """The campaign's data with the form's values in; every key the form does not edit
    (metric, transactional, ends_at, allocation...) kept as it was, in its place."""
    out = dict(data)
    for key in ("id", "description", "channel", "template"):
        value = str(settings.get(key) or "").strip()
        if value:
            out[key] = value
        elif key == "description":
            out.pop(key, None)
    out["holdout"] = round(float(settings.get("holdout") or 0.0), 4)
    cap_max = int(settings.get("cap_max") or 0)
    if cap_max > 0:
        out["frequency_cap"] = {"max": cap_max, "per_days": int(settings.get("cap_days") or 7)}
    else:
        out.pop("frequency_cap", None)
    out["suppress"] = _rules(suppress, data.get("suppress"), select=False)
    if not out["suppress"]:
        out.pop("suppress")
    out["select"] = _rules(select, data.get("select"), select=True)
    fallback = str(settings.get("fallback") or "").strip()
    if fallback == COMPLEX:
        pass
    elif fallback:
        out["fallback"] = {"brief": fallback}
    else:
        out.pop("fallback", None)
    return out


def to_yaml(data: dict[str, Any]) -> str:
    """Campaign data as YAML in the file's own shape (keys in order; comments are not kept)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
