"""Channel length limits, in characters or SMS segments (GSM-7 / UCS-2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, collect
from copydesk.models import Finding
from copydesk.vocab import Channel

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Extension characters: sent as an escape plus the character, so they count twice.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def sms_encoding(text: str) -> str:
    """``"GSM-7"`` when every character is in the GSM 03.38 alphabet, else ``"UCS-2"``."""
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENDED:
            return "UCS-2"
    return "GSM-7"


def char_units(ch: str, encoding: str) -> int:
    """Units one character takes: septets for GSM-7, 16-bit code units for UCS-2."""
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENDED else 1
    return 2 if ord(ch) > 0xFFFF else 1


def sms_segments(units: int, encoding: str) -> int:
    """Segments needed for ``units``: 160/153 GSM-7, 70/67 UCS-2 (single/multipart)."""
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if units <= single:
        return 1
    return -(-units // multi)


def units_with_positions(text: str, encoding: str | None, placeholder_units: int) -> list[tuple[int, int]]:
    """(original index, cumulative units after it); a placeholder counts as a block."""
    out: list[tuple[int, int]] = []
    total = 0
    pos = 0
    for m in _PLACEHOLDER.finditer(text) if "{" in text else ():
        for i in range(pos, m.start()):
            total += char_units(text[i], encoding) if encoding else 1
            out.append((i, total))
        total += placeholder_units
        out.append((m.start(), total))
        pos = m.end()
    for i in range(pos, len(text)):
        total += char_units(text[i], encoding) if encoding else 1
        out.append((i, total))
    return out


class Length(RuleBase):
    """A length limit for one channel field: characters or SMS segments.

    Placeholders count as ``placeholder_chars`` characters each (a typical value)."""

    type: Literal["length"]
    channel: Channel
    field: str
    max: int = Field(ge=1)
    unit: Literal["chars", "segments"] = "chars"
    placeholder_chars: int = Field(default=10, ge=0)


class LengthRule(CompiledRule):
    """Over the limit: the span runs from the first character past it to the end."""

    spec_model = Length
    lexical = True
    spec: Length

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        spec = self.spec
        if msg.channel != spec.channel:
            return []
        view = next((v for v in msg.views if v.name == spec.field), None)
        if view is None:
            return []
        original = view.norm.original
        if spec.unit == "chars":
            if len(original) <= spec.max and "{" not in original:
                return []
            counted = units_with_positions(original, None, spec.placeholder_chars)
            limit, total, label = spec.max, (counted[-1][1] if counted else 0), "characters"
        else:
            encoding = sms_encoding(original)
            counted = units_with_positions(original, encoding, spec.placeholder_chars)
            total = counted[-1][1] if counted else 0
            segments = sms_segments(total, encoding)
            if segments <= spec.max:
                return []
            single = 160 if encoding == "GSM-7" else 70
            multi = 153 if encoding == "GSM-7" else 67
            limit = single if spec.max == 1 else multi * spec.max
            label = f"{encoding} units, {segments} segments"
        if total <= limit:
            return []
        start = next(i for i, cum in counted if cum > limit)
        f = msg.finding(self, 0, 0, local=view)
        if f is None:
            return []
        f.start, f.end = start, len(original)
        f.match = original[start:]
        detail = f"{total} {label}, limit {spec.max} {spec.unit}"
        f.message = self.spec.message.replace("{match}", f.match).replace("{length}", detail)
        return collect([f])
