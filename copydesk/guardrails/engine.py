"""The effective policy: compiled rules, one shared Aho-Corasick automaton, the brand
registries and the grounding check. A pure function of its inputs once built."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ahocorasick
import re2

from copydesk.errors import InputError
from copydesk.guardrails.grounding import Grounder
from copydesk.guardrails.pack import (
    Brand,
    Claim,
    EvalThresholds,
    Grounding,
    Offer,
    Personalization,
    RuleBase,
    RuleTests,
)
from copydesk.guardrails.rules import CompiledRule, Message, compile_rule, lexical_types
from copydesk.guardrails.rules.base import Hit, RuleContext, Term, builtin_rule, find_all, is_bounded, norm_term
from copydesk.guardrails.rules.judge import JudgeRule
from copydesk.guardrails.rules.lexical import Conditional
from copydesk.models import Brief, Finding
from copydesk.vocab import Category, Channel, Severity

if TYPE_CHECKING:
    from copydesk.guardrails.judge import Judge


@dataclass(frozen=True)
class RuleEntry:
    """A rule as loaded: its spec, the file it came from, and what it overrides."""

    spec: RuleBase
    source: str
    overrides: str | None = None


@dataclass
class PolicyParts:
    """Everything :class:`Policy` is built from (the loader's output)."""

    rules: list[RuleEntry] = field(default_factory=list)
    brand: Brand = field(default_factory=Brand)
    brand_source: str = "built-in"
    personalization: Personalization = field(default_factory=Personalization)
    grounding: Grounding = field(default_factory=Grounding)
    evaluation: EvalThresholds = field(default_factory=EvalThresholds)
    files: list[str] = field(default_factory=list)


def claim_rule(claim: Claim) -> RuleBase:
    """The conditional rule a registered claim implies: no claim without its disclaimer."""
    trigger = claim.triggers()[0]
    disclaimer = claim.disclaimer.rstrip(". ")
    return Conditional(
        type="conditional",
        id=f"claim.{claim.id}",
        category=Category.DISCLAIMER,
        severity=claim.severity,
        message=f"'{{match}}' is a registered claim that needs its disclaimer: \"{claim.disclaimer}\"",
        suggestion=f"Add: {claim.disclaimer}",
        when=claim.triggers(),
        requires=[disclaimer],
        tests=RuleTests.model_validate(
            {
                "fire": [f"Meet the {trigger} one."],
                "pass": [f"Meet the {trigger} one. {claim.disclaimer}"],
            }
        ),
    )


class Policy:
    """Checks drafts and briefs. Build with :func:`copydesk.guardrails.load_policy`."""

    def __init__(self, parts: PolicyParts) -> None:
        self.parts = parts
        self.brand = parts.brand
        self.files = list(parts.files)
        #: sha256 of the pack files (set by the loader; empty for a policy built in code).
        self.sha256 = ""
        entries = list(parts.rules)
        entries += [RuleEntry(claim_rule(c), parts.brand_source) for c in parts.brand.claims if c.disclaimer]
        self._rules: list[CompiledRule] = []
        context = RuleContext(
            variables=frozenset(parts.personalization.variables),
            filters=frozenset(parts.personalization.filters),
            brand_terms=tuple(t for t in [parts.brand.name, *parts.brand.products] if t),
        )
        for i, entry in enumerate(entries):
            rule = compile_rule(entry.spec, entry.source, i)
            rule.overrides = entry.overrides
            rule.bind(context)
            self._rules.append(rule)
        self._automaton = self._build_automaton(self._rules)
        self._prefilter = _Prefilter(self._rules)
        self._by_scope: dict[tuple[str | None, str], list[CompiledRule]] = {}
        self._offers = {o.id: o for o in parts.brand.offers}
        self._grounder = Grounder(parts.brand, parts.grounding)
        #: The judge this policy's ``judge`` rules ask (see :meth:`with_judge`); its
        #: ``cost()`` is what judging has cost. ``None``: they report "not run".
        self.judge: Judge | None = None

    def with_judge(self, judge: Judge | None) -> Policy:
        """This policy with ``judge`` answering its ``judge`` rules. A copy (the loader
        caches one policy per path for every caller); itself when it has no judge rules."""
        if not any(isinstance(r, JudgeRule) for r in self._rules):
            return self
        out = copy.copy(self)
        out._rules = [r.with_judge(judge) if isinstance(r, JudgeRule) else r for r in self._rules]
        out._by_scope = {}
        out.judge = judge
        return out

    @classmethod
    def empty(cls) -> Policy:
        """A policy with no rules and no registries (used when no packs exist)."""
        return cls(PolicyParts())

    # -- registries -------------------------------------------------------------
    @property
    def rules(self) -> list[CompiledRule]:
        """The effective rules, each with ``spec``, ``source`` and ``overrides``."""
        return list(self._rules)

    @property
    def allowed_variables(self) -> frozenset[str]:
        return frozenset(self.parts.personalization.variables)

    @property
    def allowed_filters(self) -> frozenset[str]:
        return frozenset(self.parts.personalization.filters)

    @property
    def claims(self) -> list[Claim]:
        """The brand's registered claims, each with the disclaimer it requires."""
        return list(self.brand.claims)

    @property
    def offers(self) -> list[Offer]:
        return list(self.brand.offers)

    @property
    def evaluation(self) -> EvalThresholds:
        """The thresholds ``copydesk policy eval`` holds this policy to."""
        return self.parts.evaluation

    def offer(self, offer_id: str) -> Offer | None:
        """The registered offer with this id, or ``None``."""
        return self._offers.get(offer_id)

    def select(self, types: Iterable[str] | None = None) -> Policy:
        """A policy with only the rules of the given types (default: the lexical ones)."""
        wanted = set(lexical_types() if types is None else types)
        parts = PolicyParts(
            rules=[e for e in self.parts.rules if getattr(e.spec, "type", None) in wanted],
            brand=self.brand.model_copy(update={"claims": []}) if "conditional" not in wanted else self.brand,
            brand_source=self.parts.brand_source,
            personalization=self.parts.personalization,
            grounding=self.parts.grounding,
            evaluation=self.parts.evaluation,
            files=self.files,
        )
        return Policy(parts)

    # -- checking ---------------------------------------------------------------
    def check(self, channel: Channel | str, fields: Mapping[str, str], *, brief: Brief | None = None) -> list[Finding]:
        """Findings for one draft; spans index the original field text. With a
        ``brief``, facts must be grounded and the brief's placeholders/avoid-list apply."""
        try:
            chan = Channel(channel)
        except ValueError:
            raise InputError(f"unknown channel '{channel}'; use one of {', '.join(c.value for c in Channel)}") from None
        msg = Message.prepare(chan.value, fields)
        if brief is not None and brief.personalization:
            msg.variables = frozenset(brief.personalization)
        found = self.run(msg, self._scoped(chan.value, "draft"))
        if brief is not None:
            pii = [(f.field, f.start, f.end) for f in found if f.category == Category.PII]
            found += [
                f  # a phone number is reported as PII, not as three invented numbers
                for f in self._grounder.check(msg, brief, self.offer(brief.offer or ""))
                if not any(fld == f.field and s <= f.start and f.end <= e for fld, s, e in pii)
            ]
            found += self._must_avoid(msg, brief)
            found += self._must_include(msg, brief)
        return _ordered(found, list(fields))

    def check_brief(self, brief: Brief) -> list[Finding]:
        """PII and injection (rules that apply to briefs) on every free-text part."""
        return self.check_text(brief.text_for_scan())

    def check_text(self, fields: Mapping[str, str]) -> list[Finding]:
        """The rules that apply to briefs (PII, injection) on any named texts: a brief's
        fields, or the rendered messages about to be sent to a model."""
        msg = Message.prepare(None, dict(fields))
        return _ordered(self.run(msg, self._scoped(None, "brief")), list(fields))

    def run(self, msg: Message, rules: Sequence[CompiledRule]) -> list[Finding]:
        """Run ``rules`` on a prepared message (one automaton pass for all of them)."""
        hits = self._hits(msg.lower)
        skipped = self._prefilter.skipped(msg.text)
        found: list[Finding] = []
        for rule in rules:
            rule_hits = hits.get(rule.index, ())
            if (rule.needs_hits and not rule_hits) or rule.index in skipped:
                continue
            found += rule.check(msg, rule_hits)
        return found

    def _scoped(self, channel: str | None, scope: str) -> list[CompiledRule]:
        key = (channel, scope)
        rules = self._by_scope.get(key)
        if rules is None:
            rules = [r for r in self._rules if r.applies(channel, scope)]
            self._by_scope[key] = rules
        return rules

    def _hits(self, lower: str) -> dict[int, list[Hit]]:
        out: dict[int, list[Hit]] = defaultdict(list)
        if self._automaton is None or not lower:
            return out
        for end, (length, terms) in self._automaton.iter(lower):
            start = end - length + 1
            bounded: bool | None = None
            for term in terms:
                if term.whole_words:
                    if bounded is None:
                        bounded = is_bounded(lower, start, end + 1)
                    if not bounded:
                        continue
                out[term.rule].append((start, end + 1, term))
        return out

    @staticmethod
    def _build_automaton(rules: Sequence[CompiledRule]) -> ahocorasick.Automaton | None:
        table: dict[str, list[Term]] = defaultdict(list)
        for rule in rules:
            for term in rule.terms():
                if term.text:
                    table[term.text].append(term)
        if not table:
            return None
        automaton = ahocorasick.Automaton()
        for key, terms in table.items():
            automaton.add_word(key, (len(key), tuple(terms)))
        automaton.make_automaton()
        return automaton

    @staticmethod
    def _must_include(msg: Message, brief: Brief) -> list[Finding]:
        if not brief.must_include or not msg.views:
            return []
        found = []
        first = msg.views[0]
        for phrase in brief.must_include:
            if next(iter(find_all(msg.lower, norm_term(phrase))), None) is not None:
                continue
            # nothing to point at: the finding sits on the start of the first field
            f = msg.finding(_MUST_INCLUDE, 0, 0, local=first)
            if f is not None:
                f.severity = brief.must_include_severity
                f.message = _MUST_INCLUDE.spec.message.replace("{match}", phrase)
                found.append(f)
        return found

    def _must_avoid(self, msg: Message, brief: Brief) -> list[Finding]:
        found = []
        for phrase in brief.must_avoid:
            for s, e in find_all(msg.lower, norm_term(phrase)):
                f = msg.finding(_MUST_AVOID, s, e)
                if f is not None:
                    found.append(f)
        return found


_MUST_INCLUDE = builtin_rule(
    "brief.must-include", Category.MUST_INCLUDE, Severity.WARN,
    "the brief requires '{match}' and the draft does not say it",
    suggestion="Add the phrase as the brief words it.", source="brief",
)
_MUST_AVOID = builtin_rule(
    "brief.must-avoid", Category.TERMINOLOGY, Severity.WARN, "'{match}' is on the brief's must-avoid list",
    source="brief",
)


class _Prefilter:
    """One RE2 set of every rule's prefilter pattern: a single pass over a message says
    which of those rules cannot fire on it (most drafts match none of them)."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self._set: Any = None
        self._rule_of: list[int] = []  # set index -> rule index
        patterns = [(r.index, p) for r in rules if (p := r.prefilter_pattern()) is not None]
        if not patterns:
            self.rules: frozenset[int] = frozenset()
            return
        self._set = re2.Set.SearchSet(re2.Options())
        for rule_index, pattern in patterns:
            try:
                self._set.Add(pattern)
            except Exception:  # noqa: BLE001, S112 - that rule then simply always runs
                continue
            self._rule_of.append(rule_index)
        self._set.Compile()
        self.rules = frozenset(self._rule_of)

    def skipped(self, text: str) -> frozenset[int]:
        """The indices of the prefiltered rules whose pattern does not match ``text``."""
        if self._set is None:
            return frozenset()
        matched = {self._rule_of[i] for i in self._set.Match(text) or ()}
        return self.rules - matched


def _ordered(found: list[Finding], order: list[str]) -> list[Finding]:
    rank = {name: i for i, name in enumerate(order)}
    unique = {(f.rule_id, f.field, f.start, f.end, f.message): f for f in found}
    return sorted(unique.values(), key=lambda f: (rank.get(f.field, 99), f.start, f.rule_id))
