"""Is a parsed reply copy at all? The checks every draft passes before it is accepted.

A reply can fit the channel's schema and still not be copy: the model chatting
("Sure! Here is a lovely message…"), echoing the prompt's markup or labels
(``</brief>``, ``RATIONALE:``, ``Subject Line:``), leaving template slots
(``[Your Name]``), pasting a broken JSON object into a field, or running far past
what the channel can carry (an SMS of five segments). Such a reply is rejected with a
reason the re-ask quotes, exactly like a schema error (it counts as an attempt), for
every channel alike, single-field ones included.

These are acceptance checks, not the brand policy: the guardrail packs still run on
every accepted draft (their ``length`` rules warn at the platform limits, e.g. one SMS
segment). The hard budgets here are wider, so a slightly long draft reaches a reviewer
with its warning, and a runaway reply never does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from copydesk.channels import Channel


@dataclass(frozen=True)
class Budget:
    """How long one field may be: ``target`` is what the prompt asks for after a
    truncation, ``limit`` the most a reply may have to be accepted at all."""

    target: int
    limit: int
    #: ``chars``, or ``segments`` (SMS: GSM-7 / UCS-2 segments, as the carriers count).
    unit: str = "chars"

    def describe(self, value: int | None = None) -> str:
        word = "SMS segment" if self.unit == "segments" else "character"
        n = self.target if value is None else value
        return f"{n} {word}{'' if n == 1 else 's'}"


#: Per channel and field. Targets follow the platforms (an inbox shows about 60
#: characters of a subject; one SMS segment is 160 GSM-7 characters; ad headlines are
#: about 30); limits are about twice that, or two segments for SMS.
BUDGETS: dict[Channel, dict[str, Budget]] = {
    Channel.EMAIL: {
        "subject": Budget(60, 120),
        "preheader": Budget(100, 200),
        "body": Budget(1200, 3000),
        "cta": Budget(25, 50),
    },
    Channel.SMS: {"text": Budget(1, 2, "segments")},
    Channel.PUSH: {"title": Budget(50, 100), "body": Budget(150, 300)},
    Channel.WEB: {
        "headline": Budget(70, 140),
        "body": Budget(1200, 3000),
        "cta": Budget(25, 50),
    },
    Channel.AD: {"headline": Budget(30, 60), "description": Budget(90, 180)},
}

#: A placeholder counts as this many characters (a typical first name or store name),
#: as the guardrails' length rules count it.
PLACEHOLDER_CHARS = 10
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)

_CHAT_OPENING = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|absolutely|okay|ok|great|happy to help|no problem)\b[\s!,.:-]*"
    r"(?:here(?:'s| is| are)|i can|i'd|i would|i will|i've|i have|below)\b"
    r"|here(?:'s| is| are) (?:a|an|the|your|my|some|one)\b[^\n:.!]{0,60}?\b(?:message|sms|text message|draft|"
    r"version|copy|e-?mail|notification|variants?|subject lines?|headlines?)\b)",
    re.IGNORECASE,
)
_CHATTER = re.compile(
    r"\b(?:let me know if|i hope (?:this|these|that|it) (?:helps|works)|hope this helps|"
    r"feel free to (?:adjust|modify|tweak|edit|change)|as an ai\b|i(?: am|'m) (?:an ai|a language model)|"
    r"i (?:cannot|can't|can not) (?:help|assist|write|comply))",
    re.IGNORECASE,
)
_MARKUP = re.compile(
    r"</?\s*[A-Za-z][\w-]*(?:\s[^<>\n]*)?/?>|<\|[\w-]+\|>|\[/?INST\]|<</?SYS>>|```",
)
_LABEL = re.compile(
    r"(?:^|(?<=[\s*_#>]))(?:rationale|reasoning|subject(?: line)?|preheader|pre-header|call to action|cta|"
    r"headline|description|title|body(?: copy)?|sms(?: text)?|text|message|output|answer|draft|key message|"
    r"tone notes?|word count|character count)\s*\**\s*:",
    re.IGNORECASE,
)
_SLOT = re.compile(
    r"\[(?:your|insert|customer|first|last|full|company|brand|product|recipient|name|link|url|date|sender|"
    r"shop|store|website|phone|address|discount|code|offer|price|cta|button)\b[^\]\n]{0,30}\]"
    r"|<(?:your|insert)\b[^>\n]{0,30}>|\{(?!\{|%)\s*(?:your|insert|customer|first|company|link|name)\b[^}\n]{0,30}\}",
    re.IGNORECASE,
)
_JSON_SHAPE = re.compile(r'^\s*(?:\{\s*"|\[\s*[{"])|"[A-Za-z_]+"\s*:\s*["{\[]')


def _first_line(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group().strip() if m else None


def problems(fields: Mapping[str, str], channel: Channel | str) -> list[str]:
    """What makes these message fields not copy, one sentence each (empty: fine)."""
    found: list[str] = []
    for name, value in fields.items():
        if not value:
            continue
        found += [f"{name}: {p}" for p in _field_problems(value)]
        budget = BUDGETS.get(Channel(channel), {}).get(name)
        if budget is not None:
            size = measure(value, budget)
            if size > budget.limit:
                found.append(f"{name}: too long ({budget.describe(size)}; the most accepted is "
                             f"{budget.describe(budget.limit)}, aim for {budget.describe()})")
    return found


def _field_problems(value: str) -> list[str]:
    out: list[str] = []
    if _CHAT_OPENING.search(value):
        out.append("starts by talking to us instead of with the copy "
                   f"({value.strip()[:40]!r}); write only the message itself")
    said = _first_line(_CHATTER, value)
    if said:
        out.append(f"contains assistant chatter ({said!r}); write only the message itself")
    text = _PLACEHOLDER.sub(" ", value)
    if _JSON_SHAPE.search(text):
        out.append("holds JSON syntax, not copy (a broken or nested reply)")
    else:
        markup = _first_line(_MARKUP, text)
        if markup:
            out.append(f"contains markup or prompt tags ({markup!r}); plain text only")
    label = _first_line(_LABEL, text)
    if label:
        out.append(f"contains a field label or instruction text ({label!r}); the copy only")
    slot = _first_line(_SLOT, text)
    if slot:
        out.append(f"contains a template slot to fill in ({slot!r}); write the actual words "
                   "(placeholders only as {{ field | default(\"...\") }})")
    return out


def measure(value: str, budget: Budget) -> int:
    """``value``'s size in ``budget``'s unit; each placeholder counts as
    :data:`PLACEHOLDER_CHARS` characters."""
    text = _PLACEHOLDER.sub("x" * PLACEHOLDER_CHARS, value)
    if budget.unit != "segments":
        return len(text)
    # the guardrails' own GSM-7 / UCS-2 arithmetic; imported here so importing the LLM
    # layer does not load the guardrail engine
    from copydesk.guardrails.rules.length import char_units, sms_encoding, sms_segments

    encoding = sms_encoding(text)
    return sms_segments(sum(char_units(ch, encoding) for ch in text), encoding)


def tighter(channel: Channel | str) -> str:
    """The length instruction after a truncated reply: each field's target."""
    parts = [f"{name} at most {budget.describe()}" for name, budget in BUDGETS.get(Channel(channel), {}).items()]
    return "; ".join(parts) + "; rationale one short sentence"
