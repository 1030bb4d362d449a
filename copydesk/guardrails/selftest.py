"""Run the tests written inside each rule, Vale-style, and check coverage.

Every ``fire`` input must make the rule report at least one finding (with the
given ``match``, when one is given); every ``pass`` input must leave it silent. A
rule no test fires fails, so a rule that can never fire is caught on day one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copydesk.guardrails.engine import Policy
from copydesk.guardrails.pack import TestCase
from copydesk.guardrails.rules import CompiledRule, Message
from copydesk.guardrails.rules.judge import JudgeRule
from copydesk.guardrails.rules.length import Length
from copydesk.vocab import CHANNEL_FIELDS, Channel

BRIEF_FIELD = "key_message"


@dataclass
class RuleReport:
    """The outcome of one rule's inline tests."""

    rule_id: str
    source: str
    fire: int = 0
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    #: why the tests were not run (a judge rule with no remote model to ask)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def _message(rule: CompiledRule, case: TestCase) -> Message:
    spec = rule.spec
    channel: str | None
    if case.channel is not None:
        channel = case.channel.value
    elif isinstance(spec, Length):
        channel = spec.channel.value
    elif spec.channels:
        channel = spec.channels[0].value
    elif "draft" in spec.applies_to:
        channel = Channel.EMAIL.value
    else:
        channel = None
    if case.fields is not None:
        return Message.prepare(channel, dict(case.fields))
    name = case.field or (spec.field if isinstance(spec, Length) else None)
    if name is None and spec.fields:
        name = spec.fields[0]
    if name is None:
        if channel is None:
            name = BRIEF_FIELD
        else:
            names = CHANNEL_FIELDS[Channel(channel)]
            name = "body" if "body" in names else names[0]
    return Message.prepare(channel, {name: case.text or ""})


def _show(case: TestCase) -> str:
    text = case.text if case.text is not None else str(case.fields)
    return repr(text if len(text) <= 70 else text[:67] + "...")


def test_rule(policy: Policy, rule: CompiledRule) -> RuleReport:
    """Run one rule's inline tests."""
    report = RuleReport(rule.spec.id, rule.source)
    if isinstance(rule, JudgeRule) and rule.judge is None:
        report.skipped = "needs a remote model endpoint to judge"
        return report
    tests = rule.spec.tests
    for case in tests.fire:
        found = policy.run(_message(rule, case), [rule])
        if not found:
            report.failures.append(f"should fire on {_show(case)} but did not")
        elif case.match is not None and not any(f.match == case.match for f in found):
            got = ", ".join(repr(f.match) for f in found)
            report.failures.append(f"should match {case.match!r} in {_show(case)}; got {got}")
        else:
            report.fire += 1
    for case in tests.pass_:
        found = policy.run(_message(rule, case), [rule])
        if found:
            got = ", ".join(repr(f.match) for f in found)
            report.failures.append(f"should not fire on {_show(case)}; matched {got}")
        else:
            report.passed += 1
    if not tests.fire:
        report.failures.append("no test fires this rule (add a 'fire' input under tests:)")
    return report


def run_policy_tests(policy: Policy) -> list[RuleReport]:
    """Every rule's inline tests, in policy order."""
    return [test_rule(policy, rule) for rule in policy.rules]
