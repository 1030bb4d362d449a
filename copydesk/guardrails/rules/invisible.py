"""Invisible characters in the text as typed: zero-width characters and
bidirectional controls, which can hide or reorder what a reader sees."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Literal

from copydesk.guardrails.normalize import BIDI_CONTROLS, INVISIBLE
from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, collect
from copydesk.models import Finding

_ZWJ = "\u200d"
_BLACK_FLAG = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"


def _emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def legitimate(text: str, start: int, end: int) -> bool:
    """True for the invisible characters emoji are built from: a zero-width joiner
    between two emoji (🧗‍♀️) and a flag's tag sequence (🏴 + tags + cancel tag)."""
    run = text[start:end]
    if run == _ZWJ:
        before = start - 1
        while before >= 0 and (text[before] == "\ufe0f" or 0x1F3FB <= ord(text[before]) <= 0x1F3FF):
            before -= 1
        return before >= 0 and end < len(text) and _emoji(text[before]) and _emoji(text[end])
    return (start > 0 and text[start - 1] == _BLACK_FLAG and run.endswith(_CANCEL_TAG)
            and all(0xE0020 <= ord(c) <= 0xE007F for c in run))


class Invisible(RuleBase):
    """Invisible characters (zero-width, bidirectional controls) in the original text."""

    type: Literal["invisible"]
    bidi_only: bool = False


class InvisibleRule(CompiledRule):
    """One finding per run of invisible characters; the message names them."""

    spec_model = Invisible
    lexical = True
    spec: Invisible

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        chars = BIDI_CONTROLS if self.spec.bidi_only else INVISIBLE
        found = []
        for view in msg.views:
            original = view.norm.original
            if view.norm.origin is None:  # ASCII or nothing removed
                continue
            i, n = 0, len(original)
            while i < n:
                if original[i] in chars:
                    j = i
                    while j < n and original[j] in chars:
                        j += 1
                    if legitimate(original, i, j):
                        i = j
                        continue
                    names = ", ".join(sorted({f"U+{ord(c):04X}" for c in original[i:j]}))
                    f = msg.finding(self, 0, 0, local=view)
                    if f is not None:
                        f.start, f.end, f.match = i, j, original[i:j]
                        f.message = self.spec.message.replace("{match}", names)
                        found.append(f)
                    i = j
                else:
                    i += 1
        return collect(found)
