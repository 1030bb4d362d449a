"""Invisible characters in the text as typed: zero-width characters and
bidirectional controls, which can hide or reorder what a reader sees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from copydesk.guardrails.normalize import BIDI_CONTROLS, INVISIBLE
from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, collect
from copydesk.models import Finding


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
