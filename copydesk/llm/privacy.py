"""Privacy before the call: a brief is scanned before any request leaves the machine.

The policy's ``check_brief`` does the full scan (PII recognizers, injection). A small
floor of patterns here (e-mail addresses, phone numbers, card-like numbers) runs
whatever the policy is, so an empty or misconfigured policy cannot let contact data
reach a model (docs/design.md, invariant 6).
"""

from __future__ import annotations

import re
from typing import Any

from copydesk.errors import InputError, PrivacyError
from copydesk.llm.policy import GuardrailPolicy
from copydesk.models import Brief, Finding
from copydesk.vocab import Category, Severity

_FLOOR: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("privacy.email", "e-mail address",
     re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")),
    ("privacy.phone", "phone number",
     re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s\-.]?|0)(?:\(?\d{2,5}\)?[\s\-.]?){2,4}\d{2,4}(?!\w)")),
    ("privacy.card", "card-like number", re.compile(r"(?<!\d)(?:\d[ \-]?){13,19}(?!\d)")),
)


def floor_findings(brief: Brief) -> list[Finding]:
    """PII the built-in floor finds in the brief's free text."""
    out: list[Finding] = []
    for path, text in brief.text_for_scan().items():
        for rule_id, what, pattern in _FLOOR:
            for m in pattern.finditer(text):
                if rule_id == "privacy.phone" and sum(c.isdigit() for c in m.group()) < 10:
                    continue
                out.append(Finding(
                    rule_id=rule_id, category=Category.PII, severity=Severity.BLOCK,
                    field=path, start=m.start(), end=m.end(), match=m.group(),
                    message=what, suggestion="describe the segment, not a person",
                ))
    return out


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.field == b.field and a.start < b.end and b.start < a.end


def brief_findings(brief: Brief, policy: GuardrailPolicy) -> list[Finding]:
    """Policy findings on the brief plus floor findings the policy did not already report."""
    found = list(policy.check_brief(brief))
    pii = [f for f in found if f.category == Category.PII]
    for extra in floor_findings(brief):
        if not any(_overlaps(extra, f) for f in pii):
            found.append(extra)
    return found


def _mask(value: str) -> str:
    """Enough of a matched value to recognise it in an error, not enough to leak it."""
    return value[:2] + "…" if len(value) > 4 else "…"


def describe(findings: list[Finding]) -> str:
    return "; ".join(
        f"{f.message or f.rule_id} in {f.field} (chars {f.start}-{f.end}, '{_mask(f.match)}')"
        for f in findings
    )


def _set_path(data: dict[str, Any], path: str, value: str) -> None:
    m = re.fullmatch(r"(\w+)\[(\d+)\]", path)
    if m:
        data[m.group(1)][int(m.group(2))] = value
        return
    *parents, leaf = path.split(".")
    target = data
    for part in parents:
        target = target[part]
    target[leaf] = value


def redact(brief: Brief, findings: list[Finding]) -> Brief:
    """A copy of ``brief`` with each finding's span replaced by ``[REDACTED: category]``."""
    texts = brief.text_for_scan()
    data = brief.model_dump(mode="python")
    by_field: dict[str, list[Finding]] = {}
    for f in findings:
        by_field.setdefault(f.field, []).append(f)
    for path, items in by_field.items():
        text = texts.get(path)
        if text is None:
            continue
        for f in sorted(items, key=lambda f: f.start, reverse=True):
            text = text[: f.start] + f"[REDACTED: {f.category.value}]" + text[f.end :]
        _set_path(data, path, text)
    return Brief.model_validate(data)


def screen_brief(brief: Brief, policy: GuardrailPolicy, *, redact_pii: bool = False) -> tuple[Brief, list[Finding]]:
    """The brief safe to send, and the findings acted on.

    PII: refused with :class:`PrivacyError` naming what and where, or redacted when
    ``redact_pii``. Block-severity injection findings are refused (the prompt fences
    brief text as data, but a brief that tries to instruct the model needs a human).
    """
    findings = brief_findings(brief, policy)
    pii = [f for f in findings if f.category == Category.PII and f.severity == Severity.BLOCK]
    injection = [f for f in findings if f.category == Category.INJECTION
                 and f.severity == Severity.BLOCK]
    if injection:
        raise InputError(
            f"brief '{brief.id}' reads like instructions to the model, not a brief: "
            f"{describe(injection)}; rewrite it before generating"
        )
    if pii and not redact_pii:
        raise PrivacyError(
            f"brief '{brief.id}' contains personal data, so it was not sent to the model: "
            f"{describe(pii)}. Remove it (briefs describe segments, not people) or pass "
            "--redact-pii to send a redacted copy"
        )
    if pii:
        brief = redact(brief, pii)
    return brief, pii
