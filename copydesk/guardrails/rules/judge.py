"""The ``judge`` rule: a remote model answers one question about the copy, for
categories where words are not enough (special-category inference, implied health
claims). See :mod:`copydesk.guardrails.judge` for the judge itself.

A violation is reported on the span the model quoted, located in the field it comes
from. Whatever was not judged is reported, never passed: with no judge attached, no
remote endpoint, the embedded demo model, an endpoint error or personal data in the
copy, an ``info`` finding "judge rule '<id>' not run: <why>"; with an answer that is
not a checkable verdict (not JSON, missing keys, wrong types, a quote that is not in the
copy), the same at ``warn``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from copydesk.guardrails.judge import NO_ENDPOINT, Example, Judge, Question, Ruling
from copydesk.guardrails.pack import RuleBase, Strict
from copydesk.guardrails.rules.base import CompiledRule, FieldView, Hit, Message
from copydesk.models import Finding
from copydesk.vocab import Severity

NOT_RUN = "not run: "
NOT_RUN_SUGGESTION = "Check this by hand, or configure a remote model endpoint (copydesk llm check)."
UNUSABLE_SUGGESTION = "Check this by hand; if the judge keeps answering like this, try another model."


class JudgeExample(Strict):
    """A worked example shown to the model: a text, its verdict and (for a violation)
    the exact span the model should quote."""

    text: str = Field(min_length=1)
    violation: bool
    quote: str = ""
    reason: str = ""

    @model_validator(mode="after")
    def _quote_in_text(self) -> JudgeExample:
        if self.violation and not self.quote:
            raise ValueError("an example with violation: true needs the 'quote' the model should report")
        if not self.violation and self.quote:
            raise ValueError("an example with violation: false has no 'quote'")
        if self.quote and self.quote not in self.text:
            raise ValueError(f"the quote {self.quote!r} is not an exact span of the example's text")
        return self


class JudgeSpec(RuleBase):
    """Ask the workspace's remote model ``question`` about the copy; a violation is
    reported on the span it quotes. Bump ``version`` to judge cached texts again."""

    type: Literal["judge"]
    question: str = Field(min_length=1, description="what the model decides, as a yes/no question")
    version: int = Field(default=1, ge=1, description="bump to discard cached verdicts")
    examples: list[JudgeExample] = Field(default_factory=list)


class JudgeRule(CompiledRule):
    """Asks the attached :class:`Judge` (``judge``; ``None`` until a policy attaches one)."""

    spec_model = JudgeSpec
    lexical = False
    spec: JudgeSpec

    def __init__(self, spec: JudgeSpec, source: str, index: int) -> None:
        super().__init__(spec, source, index)
        self.question = Question(
            rule_id=spec.id,
            version=spec.version,
            question=spec.question,
            examples=tuple(Example(e.text, e.violation, e.quote, e.reason) for e in spec.examples),
        )
        #: The judge this rule asks; without one, the rule reports "not run".
        self.judge: Judge | None = None

    def with_judge(self, judge: Judge | None) -> JudgeRule:
        """A copy of this rule that asks ``judge`` (the loader's cached policy, and the
        rule in it, are shared, so a judge is attached to a copy)."""
        rule = copy.copy(self)
        rule.judge = judge
        return rule

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        views = [v for v in msg.views if self.wants_field(v.name) and v.norm.text.strip()]
        if not views:
            return []  # no copy in this rule's fields: nothing to judge
        if self.judge is None:
            return [self._not_run(views[0], NO_ENDPOINT)]
        # the normalised text: look-alike letters and invisible characters do not hide
        # anything from the judge either, and spans map back to the text as typed
        ruling = self.judge.ask(self.question, [(v.name, v.norm.text) for v in views])
        return self._findings(msg, views, ruling)

    def _findings(self, msg: Message, views: list[FieldView], ruling: Ruling) -> list[Finding]:
        if ruling.outcome == "clean":
            return []
        if ruling.outcome == "not_run":
            return [self._not_run(views[0], ruling.why)]
        if ruling.outcome == "unusable":
            why = f"the judge's answer was unusable: {ruling.why}"
            return [self._not_run(views[0], why, Severity.WARN, UNUSABLE_SUGGESTION)]
        verdict = ruling.verdict
        assert verdict is not None
        for view in views:
            at = view.norm.text.find(verdict.quote)
            if at == -1:
                continue
            found = msg.finding(self, at, at + len(verdict.quote), local=view)
            if found is not None:
                if verdict.reason:
                    found.message = f"{found.message} (judge: {verdict.reason})"
                return [found]
        # the judge checked the quote against these texts; reaching here is a bug, and
        # still never a pass
        why = f"the judge's answer was unusable: its quote {verdict.quote!r} is not in the copy"
        return [self._not_run(views[0], why, Severity.WARN, UNUSABLE_SUGGESTION)]

    def _not_run(
        self, view: FieldView, why: str, severity: Severity = Severity.INFO, suggestion: str = NOT_RUN_SUGGESTION
    ) -> Finding:
        """The finding that says this rule judged nothing: on the start of the first
        field it would have judged, with no span."""
        return Finding(
            rule_id=self.spec.id,
            category=self.spec.category,
            severity=severity,
            field=view.name,
            start=0,
            end=0,
            match="",
            message=f"judge rule '{self.spec.id}' {NOT_RUN}{why}",
            suggestion=suggestion,
        )


def is_not_run(finding: Finding) -> bool:
    """True for the finding a judge rule reports when it judged nothing."""
    return finding.match == "" and finding.message.startswith(f"judge rule '{finding.rule_id}' {NOT_RUN}")
