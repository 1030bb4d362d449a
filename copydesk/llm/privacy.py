"""No personal data reaches a model: one detector, used at three points.

1. Saving a brief: :func:`personal_data` finds what the brief holds, and the CLI and
   the app warn (masked); the save itself succeeds.
2. Before generation: :func:`screen_brief` refuses a brief with personal data (or, with
   ``redact_pii``, replaces each span) before any prompt is rendered.
3. Before every request: :class:`MessageGuard` scans the exact messages about to be
   sent (system, user, re-ask and revise prompts alike) and refuses the request on any
   hit, so text that reaches a prompt by another path (brand name, offer wording, a
   prompt template) cannot slip through either.

The detector is the built-in patterns below, which run whatever the policy is (an
empty or broken policy cannot switch them off), plus the policy's own PII rules
(Presidio pattern recognizers). Positions index the text as typed; every message names
the kind, the field and the position, and shows the value only masked
(``j***@e***.com``): no error, warning or audit event carries it (docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from copydesk.errors import InputError, PrivacyError
from copydesk.llm.policy import GuardrailPolicy
from copydesk.models import Brief, Finding
from copydesk.vocab import Category, Severity

SUGGESTION = "describe the segment, not a person"

# -- the built-in patterns ----------------------------------------------------------------

_AT = r"(?:\s?@\s?|\s*[\[({<]\s*at\s*[\])}>]\s*|\s*-at-\s*|\s+at\s+)"
_SPELLED_DOT = r"\s*[\[({<]\s*dot\s*[\])}>]\s*|\s*-dot-\s*|\s+dot\s+"
# A literal dot is tight ("jane.doe") or spaced on both sides ("example . com"), so the
# end of a sentence ("walk. 00@...") does not join the address.
_DOT = rf"(?:\.|\s\.\s|{_SPELLED_DOT})"
_EMAIL = re.compile(
    rf"(?<![\w.+%\-])(?P<local>[a-z0-9_%+\-]{{1,64}}(?:(?:\.|{_SPELLED_DOT})[a-z0-9_%+\-]{{1,64}}){{0,4}})"
    rf"(?P<at>{_AT})(?P<domain>[a-z0-9\-]{{1,63}}(?:{_DOT}[a-z0-9\-]{{1,63}}){{1,5}})(?![\w\-])",
    re.IGNORECASE,
)
_DOT_SPLIT = re.compile(f"({_DOT})", re.IGNORECASE)
_TLD = re.compile(r"[a-z]{2,24}", re.IGNORECASE)

# A run of digits with short separators between them ("0 7 7 0 0", "07700.900.123",
# "+44 (0) 7700 900123"); each step consumes one digit, so matching is linear.
_DIGIT_RUN = re.compile(r"(?<![\w+])(?P<plus>\+\s?)?\(?\d(?:[ \t.\-()]{1,3}\d|\d)*")
_DATE_IN_RUN = re.compile(
    r"(?<!\d)(\d{1,2})([.\-])(\d{1,2})\2(?:(?:19|20)\d{2}|\d{2})(?!\d)|(?<!\d)(?:19|20)\d{2}-\d{2}-\d{2}(?!\d)")
_US_PHONE = re.compile(r"(?:1[\s.\-]?)?\(?[2-9]\d{2}\)?[\s.\-]?\d{3}[\s.\-]\d{4}")
_CARD_GROUPS = re.compile(r"\d{13,19}|\d{4}([ \-])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ \-])\d{6}\2\d{4,5}")
#: Numbers that by regulation belong to organisations, not people: UK non-geographic
#: (03, 080x, 084x, 087x) and North American toll-free prefixes.
_SERVICE_NUMBER = re.compile(r"0(?:3\d{9}|80[08]\d{6,7}|84[2-5]\d{7}|87[0-3]\d{7})|1?8(?:00|88|77|66|55|44|33)\d{7}")

_STREET_SUFFIX = (
    "Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Close|Crescent|Cres|Terrace|Tce|Gardens|Gdns|"
    "Mews|Drive|Boulevard|Blvd|Court|Ct|Grove|Square|Sq|Place|Parade"
)
_ADDRESS = re.compile(
    r"\b(?:(?:Flat|Apartment|Apt|Unit)\s+\d{1,4}[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+"
    rf"(?P<name>(?:[A-Z][a-z'\-]+\s+){{1,3}})(?:{_STREET_SUFFIX})\b\.?"
)
#: Title-case words after a number that make "15 Minute Drive" a distance, not an address.
_NOT_STREET_NAMES = frozenset((
    "Minute", "Minutes", "Mile", "Miles", "Hour", "Hours", "Day", "Days", "Year", "Years", "Step", "Steps",
))
# A full UK postcode (outward and inward code) narrows to a few households; the
# outward code alone ("LA9") is a district and stays allowed.
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s?\d[ABD-HJLNP-UW-Z]{2}\b")

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_BIRTH_DATE = re.compile(
    r"\b(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s?date|birthday(?:\s+is)?(?:\s+on)?)"
    r"\s*[:\-–]?\s*(?:on\s+)?(?:the\s+)?"
    r"(?P<date>\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}"
    r"|\d{1,2}[/.\-]\d{1,2}(?:[/.\-](?:\d{4}|\d{2}))?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)(?!\w)",
    re.IGNORECASE,
)

#: rule id -> what a person calls it
KINDS: dict[str, str] = {
    "privacy.email": "email address",
    "privacy.phone": "phone number",
    "privacy.card": "card number",
    "privacy.address": "street address",
    "privacy.postcode": "postcode",
    "privacy.birth-date": "date of birth",
}

#: Presidio entity names (as the policy's PII rules report them) -> kind.
_ENTITY_KINDS = {
    "EMAIL_ADDRESS": "email address", "PHONE_NUMBER": "phone number", "CREDIT_CARD": "card number",
    "IBAN_CODE": "bank account number", "IP_ADDRESS": "IP address", "US_SSN": "social security number",
    "UK_NINO": "national insurance number", "UK_NHS": "NHS number",
}
_ENTITY = re.compile("|".join(_ENTITY_KINDS))
_KIND_NAMES = frozenset(KINDS.values()) | frozenset(_ENTITY_KINDS.values())
#: Words in a workspace rule's message -> kind, for rules that are not Presidio's.
_MESSAGE_KINDS = (
    (("e-mail", "email"), "email address"), (("phone", "mobile"), "phone number"),
    (("card",), "card number"), (("postcode", "post code"), "postcode"),
    (("birth",), "date of birth"), (("address",), "street address"),
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _email(m: re.Match[str]) -> bool:
    if not _TLD.fullmatch(_DOT_SPLIT.split(m.group("domain"))[-1]):
        return False
    at = m.group("at")
    if at.strip().lower() != "at":
        return True  # a literal or bracketed "@"
    # "jane at example dot com": a plain "at" counts only with a spelled-out "dot" and
    # no sentence break, so "meet us at the store. Bring boots" is not an address.
    seps = _DOT_SPLIT.findall(m.group("domain"))
    return any("dot" in s.lower() for s in seps) and not any(s.strip() == "." and s != "." for s in seps)


def _is_date(m: re.Match[str]) -> bool:
    if m.group(1) is None:
        return True  # ISO 2027-05-01
    a, b = int(m.group(1)), int(m.group(3))
    return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12


def _number_kind(m: re.Match[str]) -> str | None:
    text = m.group()
    digits = re.sub(r"\D", "", text)
    dates = list(_DATE_IN_RUN.finditer(text))
    if dates and all(_is_date(d) for d in dates) and not re.search(r"\d", _DATE_IN_RUN.sub("", text)):
        return None  # dates and nothing else: "01.05.2027-31.05.2027" is a date range
    n = len(digits)
    national = "0" + digits[2:] if digits.startswith("44") and m.group("plus") else digits
    if _SERVICE_NUMBER.fullmatch(national) or _SERVICE_NUMBER.fullmatch(digits):
        return None
    if m.group("plus") and 9 <= n <= 15:
        return "privacy.phone"
    if digits[0] == "0" and 10 <= n <= 15:
        return "privacy.phone"
    if n in (10, 11) and _US_PHONE.fullmatch(text.strip("()")) and (n == 10 or digits[0] == "1"):
        return "privacy.phone"
    if 13 <= n <= 19 and _luhn(digits) and _CARD_GROUPS.fullmatch(text):
        return "privacy.card"
    return None


def _builtin(text: str) -> Iterable[tuple[str, int, int]]:
    """(rule id, start, end) of each built-in hit in ``text``."""
    if "@" in text or re.search(r"\bat\b", text, re.IGNORECASE):
        for m in _EMAIL.finditer(text):
            if _email(m):
                yield "privacy.email", m.start(), m.end()
    for m in _DIGIT_RUN.finditer(text):
        rule_id = _number_kind(m)
        if rule_id:
            yield rule_id, m.start(), m.end()
    for m in _ADDRESS.finditer(text):
        if m.group("name").split()[0] not in _NOT_STREET_NAMES:
            yield "privacy.address", m.start(), m.end()
    for m in _POSTCODE.finditer(text):
        yield "privacy.postcode", m.start(), m.end()
    for m in _BIRTH_DATE.finditer(text):
        yield "privacy.birth-date", m.start("date"), m.end("date")


def _normalize(text: str) -> Any:
    # Imported here: importing the guardrails package loads the whole engine, which the
    # services (and the CLI's start-up) should not pay for on import.
    from copydesk.guardrails.normalize import normalize

    return normalize(text)


def _builtin_findings(field: str, text: str) -> list[Finding]:
    norm = _normalize(text)  # a zero-width space or a full-width "＠" hides nothing
    out: list[Finding] = []
    for rule_id, start, end in _builtin(norm.text):
        s, e = norm.span(start, end)
        out.append(Finding(rule_id=rule_id, category=Category.PII, severity=Severity.BLOCK, field=field,
                           start=s, end=e, match=text[s:e], suggestion=SUGGESTION,
                           message=f"{KINDS[rule_id]}: personal data must not go to the model"))
    return out


# -- the policy's PII rules on any text ---------------------------------------------------

def _policy_findings(policy: GuardrailPolicy | None, texts: Mapping[str, str]) -> list[Finding]:
    if policy is None or not texts:
        return []
    return list(policy.check_text(texts))


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.field == b.field and a.start < b.end and b.start < a.end


def personal_data_in(texts: Mapping[str, str]) -> list[Finding]:
    """The personal data the built-in detector finds in ``texts`` (spans unmasked)."""
    return _detect(texts, None, None)[0]


def _detect(texts: Mapping[str, str], policy: GuardrailPolicy | None, brief: Brief | None
            ) -> tuple[list[Finding], list[Finding]]:
    """(personal data, other policy findings such as injection), spans unmasked."""
    pii: list[Finding] = []
    for field, text in texts.items():
        pii += _builtin_findings(field, text)
    other: list[Finding] = []
    for f in _policy_findings(policy, texts) if brief is not None else []:
        if f.category != Category.PII:
            other.append(f)
        elif not any(_overlaps(f, g) for g in pii):
            pii.append(f)
    order = {name: i for i, name in enumerate(texts)}
    pii.sort(key=lambda f: (order.get(f.field, len(order)), f.start, -f.end))
    merged: list[Finding] = []
    for f in pii:  # one span per stretch of text, so masking and redaction cover it all
        last = merged[-1] if merged else None
        if last is not None and _overlaps(f, last):
            end = max(last.end, f.end)
            merged[-1] = last.model_copy(update={"end": end, "match": texts[f.field][last.start:end]})
        else:
            merged.append(f)
    return merged, other


# -- masking ------------------------------------------------------------------------------

def kind(finding: Finding) -> str:
    """What a PII finding is, in words ("email address"), without its value."""
    if finding.rule_id in KINDS:
        return KINDS[finding.rule_id]
    if finding.message in _KIND_NAMES:
        return finding.message  # already masked
    entity = _ENTITY.search(finding.message)
    if entity:
        return _ENTITY_KINDS[entity.group()]
    said = finding.message.lower()
    for words, what in _MESSAGE_KINDS:
        if any(w in said for w in words):
            return what
    if "@" in finding.match:
        return "email address"
    return f"personal data ({finding.rule_id})"


def _mask_token(token: str) -> str:
    if token.isdigit():
        return "*" * len(token)
    return token[0] + "***" if token[0].isalpha() else "***"


def mask(value: str, what: str) -> str:
    """Enough of a value to recognise it, not enough to leak it: ``j***@e***.com``."""
    value = str(_normalize(value).text)
    if what == "email address":
        parts = re.split(r"\s?@\s?|\s*[\[({<]\s*at\s*[\])}>]\s*|\s*-at-\s*|\s+at\s+", value, maxsplit=1,
                         flags=re.IGNORECASE)
        if len(parts) == 2:
            domain = _DOT_SPLIT.split(parts[1])
            local = re.sub(r"\W", "", parts[0])[:1] or "*"
            return f"{local}***@{domain[0][:1]}***.{domain[-1].lower()}"
    digits = re.sub(r"\D", "", value)
    if what == "phone number" and digits:
        return ("+" if value.lstrip("( ").startswith("+") else "") + f"{digits[0]}***{digits[-2:]}"
    if what == "card number" and len(digits) >= 12:
        return "****" + digits[-4:]
    return re.sub(r"[A-Za-z0-9]+", lambda m: _mask_token(m.group()), value)


def masked(finding: Finding) -> Finding:
    """The finding with its value masked in ``match`` and ``message``."""
    what = kind(finding)
    if finding.message == what:
        return finding  # masked already
    return finding.model_copy(update={"match": mask(finding.match, what), "message": what,
                                      "suggestion": finding.suggestion or SUGGESTION})


def describe(findings: Sequence[Finding]) -> str:
    """``email address in locale at 0–21 (j***@e***.com); ...``: kind, field and
    position of each finding. Takes masked findings (what this module returns)."""
    return "; ".join(f"{kind(f)} in {f.field} at {f.start}–{f.end} ({f.match})" for f in findings)


def _describe_raw(findings: Sequence[Finding]) -> str:
    return describe([masked(f) for f in findings])


def scrub(text: str) -> str:
    """``text`` with every value the built-in patterns find replaced by its mask: for
    messages that quote user input (an unknown offer id, an injection finding)."""
    found = _builtin_findings("text", text)
    for f in sorted(found, key=lambda f: f.start, reverse=True):
        text = text[: f.start] + mask(f.match, kind(f)) + text[f.end :]
    return text


# -- briefs -------------------------------------------------------------------------------

def _walk(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, str):
        if value:
            out[path] = value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", out)


def brief_texts(brief: Brief) -> dict[str, str]:
    """Every text of the brief, keyed by its field path (``locale``, ``segment.name``,
    ``must_include[0]``...): all of its fields, so a new field cannot be missed."""
    out: dict[str, str] = {}
    _walk(brief.model_dump(mode="json"), "", out)
    return out


def personal_data(brief: Brief, policy: GuardrailPolicy | None = None) -> list[Finding]:
    """Personal data in any field of ``brief``, masked: what saving warns about and
    generation refuses."""
    pii, _ = _detect(brief_texts(brief), policy, brief)
    return [masked(f) for f in pii]


def mask_text(text: str, field: str, findings: Sequence[Finding]) -> str:
    """``text`` (the value of ``field``) with the spans of masked ``findings`` (from
    :func:`personal_data`) replaced by their masks."""
    for f in sorted((f for f in findings if f.field == field), key=lambda f: f.start, reverse=True):
        text = text[: f.start] + masked(f).match + text[f.end :]
    return text


def masked_data(brief: Brief, findings: Sequence[Finding]) -> dict[str, Any]:
    """The brief as JSON data with each finding's span masked: what an append-only
    record (the audit log) may keep of a brief that holds personal data."""
    data = brief.model_dump(mode="json")
    texts = brief_texts(brief)
    for path in {f.field for f in findings}:
        if path in texts:
            _set_path(data, path, mask_text(texts[path], path, findings))
    return data


def _set_path(data: dict[str, Any], path: str, value: str) -> None:
    target: Any = data
    steps = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    for step in steps[:-1]:
        target = target[int(step[1:-1])] if step.startswith("[") else target[step]
    last = steps[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value


def redact(brief: Brief, findings: Sequence[Finding]) -> Brief:
    """A copy of ``brief`` with each finding's span replaced by ``[REDACTED: pii]``."""
    texts = brief_texts(brief)
    data = brief.model_dump(mode="json")
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
    try:
        return Brief.model_validate(data)
    except ValidationError:
        raise PrivacyError(
            f"brief '{brief.id}' has personal data in a field that cannot be redacted "
            f"({_describe_raw(findings)}); edit the brief"
        ) from None


def screen_brief(brief: Brief, policy: GuardrailPolicy | None, *, redact_pii: bool = False
                 ) -> tuple[Brief, list[Finding]]:
    """The brief safe to send, and the PII findings acted on (masked).

    Every field is scanned. PII is refused with :class:`PrivacyError` naming kind, field
    and position (the value masked), or redacted when ``redact_pii``. Block-severity
    injection findings are refused too (the prompt fences brief text as data, but a brief
    that tries to instruct the model needs a human).
    """
    pii, other = _detect(brief_texts(brief), policy, brief)
    pii = [f for f in pii if f.severity == Severity.BLOCK]
    if pii and not redact_pii:
        raise PrivacyError(
            f"brief '{brief.id}' contains personal data, so nothing was sent to the model: "
            f"{_describe_raw(pii)}. Remove it (briefs describe segments, not people), or generate "
            "with --redact-pii to send a copy with it redacted"
        )
    if pii:
        brief = redact(brief, pii)
        _, other = _detect(brief_texts(brief), policy, brief)
    injection = [f for f in other if f.category == Category.INJECTION and f.severity == Severity.BLOCK]
    if injection:
        raise InputError(scrub(
            f"brief '{brief.id}' reads like instructions to the model, not a brief: "
            + "; ".join(f"{f.message or f.rule_id} in {f.field} at {f.start}–{f.end}" for f in injection)
            + "; rewrite it before generating"
        ))
    return brief, [masked(f) for f in pii]


# -- every request ------------------------------------------------------------------------

@dataclass
class MessageGuard:
    """Scans the exact messages of each request before it is sent (fail closed).

    System and user messages are copydesk's own text and are refused on any personal
    data. An assistant message that is byte for byte a reply the endpoint sent is the
    model's own text and is passed back unscanned; any other assistant text is scanned
    like a user message. A hit in a follow-up prompt whose exact value the model wrote
    in an earlier reply of the same conversation is the model's own invention quoted
    back (the endpoint has it already; contact data never reaches a prompt), so it does
    not stop the repair that removes it.
    """

    policy: GuardrailPolicy | None
    brief: Brief
    labels: dict[str, str]

    def __post_init__(self) -> None:
        self._clean: set[str] = set()
        self._replies: set[str] = set()

    def label(self, text: str, name: str) -> None:
        """Name the prompt ``text`` was rendered from, for refusal messages."""
        self.labels.setdefault(text, name)

    def received(self, reply: str) -> None:
        """Record a reply the endpoint sent (it may come back as an assistant message)."""
        self._replies.add(reply)

    def check(self, messages: Sequence[Mapping[str, str]]) -> None:
        """Raise :class:`PrivacyError` (masked) when ``messages`` hold personal data."""
        model_said = [m.get("content", "") for m in messages
                      if m.get("role") == "assistant" and m.get("content", "") in self._replies]
        texts: dict[str, str] = {}
        for i, m in enumerate(messages):
            content = m.get("content", "")
            if not content or content in self._clean or content in model_said:
                continue
            name = self.labels.get(content, f"message {i + 1} ({m.get('role', '?')})")
            texts[name if name not in texts else f"{name} #{i + 1}"] = content
        if not texts:
            return
        pii, _ = _detect(texts, self.policy, self.brief)
        pii = [f for f in pii if not any(f.match in said for said in model_said)]
        hit_fields = {f.field for f in pii}
        for name, content in texts.items():
            if name not in hit_fields:
                self._clean.add(content)
        if pii:
            raise PrivacyError(
                f"personal data in the request about to be sent to the model, so it was not "
                f"sent: {_describe_raw(pii)}. It does not come from a brief field: check the brand "
                "name (copydesk.yaml), the registered offer wording and the templates in prompts/"
            )
