"""The rule engine: for one contact and campaign, the decision and why.

:func:`decide` is pure: the same campaign, contact, history, library and clock give the
same decision. Steps, in order, each recorded in the trace:

1. consent for the channel (``no-consent``), unless the campaign is transactional;
2. suppression rules, in file order (first match suppresses, reason = its id);
3. frequency cap over this channel's send history (``frequency-cap``);
4. select rules, first match wins; no match, or a match with no eligible variant,
   uses the fallback; nothing eligible gives ``no-eligible-variant``;
5. holdout, by a stable hash of (campaign, contact);
6. split among the rule's variants (evenly, by weights, or by weights learnt from
   outcomes: :mod:`copydesk.rules.allocate`), by another stable hash.

The holdout never depends on the weights: the same contacts are held out whether or
not a rule learns its split. Outcome counts for learning rules are an input (passed in,
or attached with :meth:`Campaign.with_outcomes`); nothing here reads the store.

Only approved, unexpired revisions of the campaign's channel are eligible; the review-by
date is checked here again although the library should already exclude expired ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from copydesk import clock
from copydesk.errors import InputError
from copydesk.models import ApprovedContent, SendRecord
from copydesk.review_by import is_expired
from copydesk.rules.allocate import Allocation, OutcomeCounts, allocate
from copydesk.rules.assign import cumulative, in_holdout, split_index, unit
from copydesk.rules.campaign import Campaign, VariantChoice
from copydesk.rules.conditions import Check, TraceStep, compile_condition
from copydesk.rules.values import as_utc


class Outcome(StrEnum):
    """What happens to a contact."""

    SELECTED = "selected"
    HOLDOUT = "holdout"
    SUPPRESSED = "suppressed"
    CAPPED = "capped"
    NO_VARIANT = "no_variant"


NO_CONSENT = "no-consent"
FREQUENCY_CAP = "frequency-cap"
HOLDOUT = "holdout"
NO_ELIGIBLE = "no-eligible-variant"
FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision for one contact: the chosen variant or why there is none.

    ``reason`` is the suppression rule id, ``no-consent``, ``frequency-cap``,
    ``holdout`` or ``no-eligible-variant``; for a selected contact it is the select
    rule id (or ``fallback``). ``rule_id`` is the select rule that matched, if any."""

    contact_id: str
    campaign_id: str
    outcome: Outcome
    reason: str
    rule_id: str | None = None
    variant: ApprovedContent | None = None
    trace: tuple[TraceStep, ...] = ()

    @property
    def selected(self) -> bool:
        """True when a message is to be rendered and sent."""
        return self.outcome is Outcome.SELECTED


def is_eligible(item: object, channel: str, today: date) -> str | None:
    """``None`` when ``item`` may be sent on ``channel`` today, else the reason not."""
    if not isinstance(item, ApprovedContent):
        return "not approved content"
    if not item.content_hash or not item.approved_by:
        return "approval incomplete"
    if item.channel != channel:
        return f"channel {item.channel}"
    if is_expired(item.review_by, today):
        return f"expired (review by {item.review_by})"
    return None


class EligibleLibrary:
    """The approved library narrowed to what a campaign may send today, indexed."""

    def __init__(self, items: Iterable[ApprovedContent], *, channel: str, today: date) -> None:
        self.today = today
        self.by_id: dict[str, ApprovedContent] = {}
        self.excluded: dict[str, str] = {}
        for item in items:
            vid = getattr(item, "variant_id", None)
            if not isinstance(vid, str):
                continue
            why = is_eligible(item, channel, today)
            if why is not None:
                if vid not in self.by_id:
                    self.excluded[vid] = why
                continue
            current = self.by_id.get(vid)
            if current is None or item.revision > current.revision:
                self.by_id[vid] = item
                self.excluded.pop(vid, None)
        self.by_brief: dict[str, list[ApprovedContent]] = {}
        for vid in sorted(self.by_id):
            item = self.by_id[vid]
            self.by_brief.setdefault(item.brief_id, []).append(item)

    def resolve(self, choice: VariantChoice) -> tuple[list[ApprovedContent], list[float], str]:
        """Eligible variants of ``choice``, their weights, and a note on what was left out."""
        if choice.brief is not None:
            of_brief = list(self.by_brief.get(choice.brief, []))
            note = "" if of_brief else f"no approved variant of brief {choice.brief}"
            return of_brief, [1.0] * len(of_brief), note
        ids = choice.ids or []
        weights = choice.weights or [1.0] * len(ids)
        found: list[ApprovedContent] = []
        kept: list[float] = []
        left_out: list[str] = []
        for vid, weight in zip(ids, weights, strict=True):
            item = self.by_id.get(vid)
            if item is None:
                left_out.append(f"{vid}: {self.excluded.get(vid, 'not approved')}")
            elif weight > 0:
                found.append(item)
                kept.append(weight)
        return found, kept, "; ".join(left_out)


@dataclass(frozen=True, slots=True)
class _Pick:
    rule_id: str
    describe: str
    variants: tuple[ApprovedContent, ...]
    cum: tuple[float, ...]
    note: str
    allocation: Allocation | None = None

    @classmethod
    def build(
        cls, rule_id: str, choice: VariantChoice, library: EligibleLibrary, *,
        campaign_id: str, outcomes: OutcomeCounts | None,
    ) -> _Pick:
        found, weights, note = library.resolve(choice)
        allocation = None
        if choice.allocate is not None and found:
            if outcomes is not None and outcomes.metric != choice.learn_metric:
                raise ValueError(f"outcome counts are on {outcomes.metric}, rule {rule_id} learns on "
                                 f"{choice.learn_metric}")
            counts = outcomes.for_rule(rule_id) if outcomes is not None else {}
            allocation = allocate(campaign_id, rule_id, [v.variant_id for v in found], counts,
                                  day=library.today, min_share=choice.floor, metric=choice.learn_metric)
            if outcomes is None:
                # not "no outcomes yet": nobody loaded them (a caller outside the services layer)
                allocation = replace(allocation, note=allocation.note.replace(
                    "no outcomes yet", "no outcome counts were given"))
            weights = list(allocation.weights)
        cum = tuple(cumulative(weights)) if found else ()
        return cls(rule_id, choice.describe(), tuple(found), cum, note, allocation)


@dataclass
class Plan:
    """A campaign compiled against a library for one day: decide many contacts fast."""

    campaign: Campaign
    library: EligibleLibrary
    today: date
    suppress: list[tuple[str, Check]] = field(default_factory=list)
    select: list[tuple[str, Check | None, _Pick]] = field(default_factory=list)
    fallback: _Pick | None = None

    @classmethod
    def build(
        cls,
        campaign: Campaign,
        library: Iterable[ApprovedContent] | EligibleLibrary,
        *,
        today: date,
        outcomes: OutcomeCounts | None = None,
    ) -> Plan:
        """Compile ``campaign`` for ``today``. Learning rules use ``outcomes`` (default:
        the counts attached to the campaign; none: an even split); their date must be
        ``today``, the allocation date."""
        if not isinstance(library, EligibleLibrary):
            library = EligibleLibrary(library, channel=campaign.channel, today=today)
        outcomes = outcomes if outcomes is not None else campaign.outcomes
        if outcomes is not None and outcomes.as_of != today:
            raise ValueError(f"outcome counts as of {outcomes.as_of} for a plan of {today}")
        plan = cls(campaign, library, today)
        for rule in campaign.suppress:
            plan.suppress.append(
                (rule.id, compile_condition(rule.when, stage="suppress", rule_id=rule.id))
            )
        for sel in campaign.select:
            check: Check | None = (
                compile_condition(sel.when, stage="select", rule_id=sel.id)
                if sel.when is not None
                else None
            )
            plan.select.append((sel.id, check, _Pick.build(sel.id, sel.variants, library, campaign_id=campaign.id,
                                                            outcomes=outcomes)))
        if campaign.fallback is not None:
            plan.fallback = _Pick.build(FALLBACK, campaign.fallback, library, campaign_id=campaign.id,
                                        outcomes=outcomes)
        return plan

    @property
    def allocations(self) -> list[Allocation]:
        """The learnt weights of every learning rule with something to send, in file order."""
        picks = [option for _, _, option in self.select] + ([self.fallback] if self.fallback else [])
        return [p.allocation for p in picks if p.allocation is not None]

    def decide(
        self,
        contact: Mapping[str, Any],
        history: Iterable[SendRecord] = (),
        *,
        now: datetime | None = None,
        trace: bool = True,
    ) -> Decision:
        """Decide for one contact. ``history`` may hold other contacts' sends too.

        The steps run in the order of the module docstring; each returns the decision
        when it settles the contact, else ``None``."""
        cid = contact.get("contact_id")
        if cid is None or cid == "":
            raise InputError("contact has no contact_id", field="contact_id")
        run = _Run(self.campaign.id, str(cid), [] if trace else None)
        moment = as_utc(now) if now is not None else clock.now()
        settled = (
            self._consent(contact, run)
            or self._suppress(contact, run)
            or self._cap(history, moment, run)
        )
        if settled is not None:
            return settled
        chosen, matched = self._select(contact, run)
        if chosen is None:
            return run.done(Outcome.NO_VARIANT, NO_ELIGIBLE, matched)
        return self._holdout(chosen, run) or self._split(chosen, run)

    def _consent(self, contact: Mapping[str, Any], run: _Run) -> Decision | None:
        campaign = self.campaign
        actual = contact.get(campaign.consent_field)
        if campaign.transactional:
            ok, note = True, "transactional: marketing consent not required"
        else:
            ok = actual is True or (type(actual) is int and actual == 1)
            note = "" if actual is not None else "field is missing"
        if run.steps is not None:
            run.steps.append(TraceStep("consent", NO_CONSENT, campaign.consent_field, "is", True, actual, ok, note))
        return None if ok else run.done(Outcome.SUPPRESSED, NO_CONSENT)

    def _suppress(self, contact: Mapping[str, Any], run: _Run) -> Decision | None:
        for rule_id, check in self.suppress:
            if check(contact, self.today, run.steps):
                return run.done(Outcome.SUPPRESSED, rule_id)
        return None

    def _cap(self, history: Iterable[SendRecord], now: datetime, run: _Run) -> Decision | None:
        campaign = self.campaign
        cap = campaign.frequency_cap
        if cap is None:
            return None
        since = now - timedelta(days=cap.per_days)
        count = sum(
            1
            for rec in history
            if rec.contact_id == run.contact_id
            and rec.channel == campaign.channel
            and not rec.holdout
            and as_utc(rec.sent_at) > since
        )
        ok = count < cap.max
        if run.steps is not None:
            note = f"{count} {campaign.channel.value} send(s) in the last {cap.per_days} days"
            run.steps.append(TraceStep("frequency_cap", FREQUENCY_CAP, None, "lt", cap.max, count, ok, note))
        return None if ok else run.done(Outcome.CAPPED, FREQUENCY_CAP)

    def _select(self, contact: Mapping[str, Any], run: _Run) -> tuple[_Pick | None, str | None]:
        """The first matching select rule's variants (or the fallback's), and the rule
        that matched."""
        for rule_id, when, option in self.select:
            if when is None:
                if run.steps is not None:
                    run.steps.append(TraceStep("select", rule_id, None, "always", None, None, True))
            elif not when(contact, self.today, run.steps):
                continue
            if run.steps is not None:
                run.steps.append(_variants_step(option))
            if option.variants:
                return option, rule_id
            return self._fallback(run), rule_id
        return self._fallback(run), None

    def _fallback(self, run: _Run) -> _Pick | None:
        if self.fallback is None:
            return None
        if run.steps is not None:
            run.steps.append(_variants_step(self.fallback))
        return self.fallback if self.fallback.variants else None

    def _holdout(self, chosen: _Pick, run: _Run) -> Decision | None:
        share = self.campaign.holdout
        if share <= 0:
            return None
        held = in_holdout(self.campaign.id, run.contact_id, share)
        if run.steps is not None:
            position = round(unit(self.campaign.id, run.contact_id, "holdout"), 4)
            note = "in the control group" if held else "not in the control group"
            run.steps.append(TraceStep("holdout", HOLDOUT, None, "lt", share, position, held, note))
        return run.done(Outcome.HOLDOUT, HOLDOUT, chosen.rule_id) if held else None

    def _split(self, chosen: _Pick, run: _Run) -> Decision:
        if len(chosen.variants) == 1:
            variant = chosen.variants[0]
        else:
            variant = chosen.variants[split_index(self.campaign.id, run.contact_id, chosen.rule_id, chosen.cum)]
        if run.steps is not None:
            if chosen.allocation is not None:
                run.steps.append(_allocation_step(chosen.allocation))
            run.steps.append(TraceStep(
                "split", chosen.rule_id, None, "pick", [v.variant_id for v in chosen.variants],
                variant.variant_id, True, f"revision {variant.revision} {variant.content_hash[:12]}",
            ))
        return run.done(Outcome.SELECTED, chosen.rule_id, chosen.rule_id, variant)


@dataclass(slots=True)
class _Run:
    """One contact's way through :meth:`Plan.decide`: who, and the trace so far
    (``steps`` is ``None`` when not tracing: steps are then not even built)."""

    campaign_id: str
    contact_id: str
    steps: list[TraceStep] | None

    def done(
        self, outcome: Outcome, reason: str, rule: str | None = None, variant: ApprovedContent | None = None
    ) -> Decision:
        trace = tuple(self.steps) if self.steps is not None else ()
        return Decision(self.contact_id, self.campaign_id, outcome, reason, rule, variant, trace)


def _variants_step(option: _Pick) -> TraceStep:
    return TraceStep(
        "variants",
        option.rule_id,
        None,
        "eligible",
        option.describe,
        [v.variant_id for v in option.variants],
        bool(option.variants),
        option.note or ("" if option.variants else "falling back"),
    )


def _allocation_step(allocation: Allocation) -> TraceStep:
    """The learnt weights and the counts behind them (``expected``: method and inputs;
    ``actual``: one row per variant)."""
    return TraceStep("allocation", allocation.rule_id, None, allocation.method, allocation.settings(),
                     allocation.arms(), True, allocation.note)


def decide(
    campaign: Campaign | Plan,
    contact: Mapping[str, Any],
    history: Iterable[SendRecord] = (),
    library: Sequence[ApprovedContent] | EligibleLibrary = (),
    *,
    today: date | None = None,
    now: datetime | None = None,
    trace: bool = True,
    outcomes: OutcomeCounts | None = None,
) -> Decision:
    """Decide for one contact (see the module docstring).

    ``now`` defaults to the current time and ``today`` to ``now``'s date. Pass a
    :class:`Plan` (from :meth:`Plan.build`) to decide many contacts without recompiling;
    ``library`` and ``outcomes`` are then ignored. ``outcomes`` (as of ``today``) feed
    the rules that learn their split."""
    moment = as_utc(now) if now is not None else clock.now()
    plan = (
        campaign
        if isinstance(campaign, Plan)
        else Plan.build(campaign, library, today=today or moment.date(), outcomes=outcomes)
    )
    return plan.decide(contact, history, now=moment, trace=trace)
