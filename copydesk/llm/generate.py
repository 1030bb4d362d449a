"""Generation: drafts from a brief, validated, checked and repaired.

For each variant: render the prompts (files in ``prompts/``), call the model, check
that the reply is whole (``finish_reason``), parse and validate it against the channel
schema and the copy checks (re-asking with the error up to ``reask_attempts`` times; a
reply cut off at the token cap gets one re-ask asking for shorter copy, then the draft
fails), drop near-duplicates of the run's other drafts and of the brief's stored ones
(one re-ask for a different angle first; :mod:`copydesk.llm.similarity`), run the
guardrails, and send block findings back as a revision request up to ``repair_rounds``
times. Requests run concurrently, at most ``concurrency`` at once, and the run stops at
its ``deadline``: drafts not started by then are reported as not attempted. Each
finished draft, or its failure, is handed to ``on_draft`` at once, so an interrupted
run keeps what it had. Every outcome carries its real cost: requests made (failed
ones included), time spent waiting for the endpoint, retries and fallbacks.

No personal data reaches the model (:mod:`copydesk.llm.privacy`): the brief is screened
before any prompt is rendered, every variant's first request is rendered and scanned
before any is sent, and :meth:`_Run._ask` scans the exact messages of every request,
re-asks and revisions included, right before sending it. A revision request names a
personal-data finding by kind and position, never by value.

The first prompt can carry approved copy as examples (:mod:`copydesk.llm.examples`,
chosen and screened by the caller; recorded in provenance) and the copywriter's
controls: tone, length, and for a regeneration the draft being redone with an
instruction. Each request and its reply go to ``on_request`` (the prompt log,
:mod:`copydesk.llm.logs`) once the exchange is over; with ``price`` set, each draft's
cost is computed from its tokens.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from copydesk.errors import NotFoundError, PrivacyError
from copydesk.llm import offline, similarity
from copydesk.llm.client import Completion, EndpointError, LLMClient, Message, Usage
from copydesk.llm.examples import NO_EXAMPLES, Selection, example_texts, offline_examples, prompt_examples
from copydesk.llm.logs import LogEntry
from copydesk.llm.parse import OutputInvalid, OutputTruncated, Style, check_finished, parse_reply
from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.privacy import MessageGuard, masked, screen_brief
from copydesk.llm.prompts import PromptLibrary, PromptTemplate, RenderedPrompt, load_prompt
from copydesk.llm.schemas import Draft, draft_model, response_schema
from copydesk.llm.settings import LLMSettings, ModelPrice
from copydesk.models import Brief, Finding
from copydesk.vocab import REQUIRED_FIELDS, Category, Severity

DraftStatus = Literal["ok", "blocked", "failed", "skipped", "duplicate"]
Length = Literal["short", "medium", "long"]
LENGTHS: tuple[Length, ...] = ("short", "medium", "long")
NO_PRICE = "no price"
CONTROLS_PROMPT = "generate-controls"


@dataclass(frozen=True)
class GenerationOptions:
    """Loop bounds and sampling parameters of one run."""

    reask_attempts: int = 2
    repair_rounds: int = 2
    concurrency: int = 4
    temperature: float | None = None
    max_tokens: int | None = None
    output_mode: str = "auto"
    redact_pii: bool = False
    #: Seconds for the whole run (None: no limit).
    deadline: float | None = None
    #: The copywriter's controls: a tone ("warmer") and a length, put in the prompt.
    tone: str | None = None
    length: Length | None = None

    @classmethod
    def from_settings(
        cls, settings: LLMSettings, *, redact_pii: bool = False, deadline: float | None = None,
        tone: str | None = None, length: Length | None = None,
    ) -> GenerationOptions:
        """The run options of ``settings``; ``deadline`` (a flag) overrides the setting."""
        return cls(
            tone=tone.strip() or None if tone is not None else None,
            length=length,
            reask_attempts=settings.reask_attempts,
            repair_rounds=settings.repair_rounds,
            concurrency=settings.max_concurrency,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            output_mode=settings.output_mode,
            redact_pii=redact_pii,
            deadline=deadline if deadline is not None else settings.deadline,
        )


@dataclass
class DraftOutcome:
    """One variant's result. ``fields`` is None when no valid draft was obtained.

    ``attempts`` counts the model calls made for it (failed ones included), ``retries``
    the transport retries inside them, ``fallbacks`` the requests re-sent after the
    endpoint rejected a format or parameter; ``events`` says what those were.
    ``latency`` is the seconds spent waiting for the endpoint."""

    index: int
    status: DraftStatus
    fields: dict[str, str] | None = None
    rationale: str = ""
    findings: list[Finding] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    repair_rounds: int = 0
    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0
    error: str | None = None
    last_output: str | None = None
    retries: int = 0
    fallbacks: int = 0
    events: list[str] = field(default_factory=list)

    @property
    def blocks(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.BLOCK]


@dataclass
class GenerationResult:
    """Every outcome in variant order, and why the run stopped early, if it did."""

    brief: Brief
    outcomes: list[DraftOutcome]
    redacted: list[Finding]
    style: Style
    elapsed: float
    aborted: str | None = None
    #: Corrections the endpoint's 400s led to (format, token parameter, dropped fields).
    adjustments: list[str] = field(default_factory=list)
    #: Names this run's rows in the prompt log.
    run_id: str = ""
    #: Why the prompt log could not be written, if it could not (the drafts are kept).
    log_error: str | None = None


@dataclass(frozen=True)
class Regeneration:
    """One draft redone: its current fields and the copywriter's instruction."""

    variant_id: str
    revision: int
    fields: Mapping[str, str]
    instruction: str

    def provenance(self) -> dict[str, Any]:
        return {"variant_id": self.variant_id, "revision": self.revision,
                "instruction": self.instruction}


OnDraft = Callable[[DraftOutcome], None]
OnRequest = Callable[[LogEntry], object]


def cost_of(usage: Usage, price: ModelPrice | None) -> float | None:
    """What ``usage`` cost at ``price`` (per 1M tokens), or None with no price."""
    if price is None:
        return None
    return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000


class DraftFailed(Exception):
    """No usable draft after all re-asks; carries the last error and reply."""

    def __init__(self, message: str, last_output: str | None) -> None:
        super().__init__(message)
        self.last_output = last_output


class _Aborted(Exception):
    """The run stopped (fatal endpoint error, saving failed, deadline) before this call."""


class _DeadlinePassed(Exception):
    """The run's deadline passed while this draft's request was in flight."""


class _Duplicate(Exception):
    """The draft repeats another one of the run, or a stored variant of the brief."""


@dataclass
class _Trace:
    """What one variant's requests cost and which prompts they used."""

    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0
    attempts: int = 0
    requests: int = 0
    reasks: int = 0
    retries: int = 0
    fallbacks: int = 0
    events: list[str] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    last: Completion | None = None
    index: int = 0

    def add(self, completion: Completion, seconds: float) -> None:
        self.usage = self.usage + completion.usage
        self.latency += seconds
        self.attempts += 1
        self.requests += 1 + completion.retries + completion.fallbacks
        self.retries += completion.retries
        self.fallbacks += completion.fallbacks
        self._note(completion.events)
        self.last = completion

    def failed(self, seconds: float, exc: EndpointError | None = None) -> None:
        """A call that returned no completion still cost a request and time."""
        self.latency += seconds
        self.attempts += 1
        self.requests += max(exc.requests, 1) if exc is not None else 1
        if exc is not None:
            self.retries += exc.retries
            self.fallbacks += exc.fallbacks
            self._note(exc.events)

    def _note(self, events: tuple[str, ...]) -> None:
        self.events += [f"call {self.attempts}: {e}" for e in events]


class Generator:
    """Runs the generate → validate → check → repair loop for one brief."""

    def __init__(
        self,
        client: LLMClient,
        prompts: PromptLibrary,
        policy: GuardrailPolicy,
        options: GenerationOptions | None = None,
        *,
        brand: str = "the brand",
        examples: Selection = NO_EXAMPLES,
        on_request: OnRequest | None = None,
        price: ModelPrice | None = None,
        actor: str | None = None,
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.policy = policy
        self.options = options or GenerationOptions()
        self.brand = brand
        self.examples = examples
        self.on_request = on_request
        self.price = price
        self.actor = actor

    @property
    def style(self) -> Style:
        """Labelled text for the embedded model (measured to parse better), else JSON."""
        mode = self.options.output_mode
        if mode == "labelled" or (mode == "auto" and self.client.endpoint_kind == "embedded"):
            return "labelled"
        return "json"

    @property
    def concurrency(self) -> int:
        return max(1, min(self.options.concurrency, self.client.max_concurrency))

    def run(
        self, brief: Brief, n: int, *, on_draft: OnDraft | None = None,
        existing: Mapping[str, Mapping[str, str]] | None = None,
        regenerate: Regeneration | None = None,
    ) -> GenerationResult:
        """Blocking :meth:`arun`."""
        return asyncio.run(self.arun(brief, n, on_draft=on_draft, existing=existing,
                                     regenerate=regenerate))

    async def arun(
        self, brief: Brief, n: int, *, on_draft: OnDraft | None = None,
        existing: Mapping[str, Mapping[str, str]] | None = None,
        regenerate: Regeneration | None = None,
    ) -> GenerationResult:
        """Generate ``n`` variants of ``brief``. Raises PrivacyError before any request
        when the brief, or any first request rendered from it, holds personal data
        (unless redacting the brief); endpoint failures are recorded in the outcomes,
        and a fatal one (dead endpoint, bad key) stops the run. ``existing`` (variant
        id → message fields) are the brief's stored drafts: a near-duplicate of one is
        not kept either. With ``regenerate``, ``n`` is 1: the draft it names is redone
        following its instruction."""
        started = time.perf_counter()
        sent_brief, redacted = screen_brief(brief, self.policy, redact_pii=self.options.redact_pii)
        if regenerate is not None:
            n = 1
        run = _Run(self, sent_brief, n, bool(redacted), on_draft, existing or {}, regenerate)
        for messages in run.base.values():
            run.guard.check(messages)
        # the embedded backend composes offline drafts for this brief (no effect on others);
        # approved copy of the same channel and stage gives its hook examples
        with offline.drafting(sent_brief, self.policy, self.brand, prompts=self.prompts,
                              examples=offline_examples(self.examples)):
            outcomes = await run.all()
        return GenerationResult(
            brief=sent_brief, outcomes=outcomes, redacted=redacted, style=self.style,
            elapsed=time.perf_counter() - started, aborted=run.aborted,
            adjustments=list(getattr(self.client, "adjustments", [])),
            run_id=run.run_id, log_error=run.log_error,
        )


class _Run:
    """State shared by the variants of one run."""

    def __init__(
        self, gen: Generator, brief: Brief, n: int, redacted: bool, on_draft: OnDraft | None,
        existing: Mapping[str, Mapping[str, str]], regenerate: Regeneration | None = None,
    ) -> None:
        self.gen = gen
        self.regenerate = regenerate
        self.run_id = uuid.uuid4().hex[:12]
        self.log_error: str | None = None
        self.brief = brief
        self.n = n
        self.redacted = redacted
        self.on_draft = on_draft
        deadline = gen.options.deadline
        self.deadline_at = None if deadline is None else time.monotonic() + deadline
        #: Word sets of the drafts kept so far (by label), for the near-duplicate check.
        self.kept: dict[str, frozenset[str]] = {
            f"stored variant {vid}": similarity.tokens(fields) for vid, fields in existing.items()
        }
        # a draft that copies an approved example is re-asked like any near-duplicate
        for label, fields in example_texts(gen.examples):
            self.kept[label] = similarity.tokens(fields)
        self.channel = brief.channel
        self.style: Style = gen.style
        self.schema = response_schema(self.channel) if self.style == "json" else None
        self.sem = asyncio.Semaphore(gen.concurrency)
        self.aborted: str | None = None
        self.callback_error: BaseException | None = None
        model = draft_model(self.channel)
        required = REQUIRED_FIELDS[self.channel]
        self.fields = [
            {"name": name, "description": info.description or name, "required": name in required}
            for name, info in model.model_fields.items() if name != "rationale"
        ]
        self.system = gen.prompts.render(
            "system", brand=gen.brand, channel=self.channel.value, locale=brief.locale,
            personalization=list(brief.personalization),
        )
        self.guard = MessageGuard(gen.policy, brief, {})
        self.guard.label(self.system.text, _label("system prompt", self.system))
        self.prompts: dict[int, RenderedPrompt] = {}
        self.base: dict[int, list[Message]] = {}
        opts = gen.options
        previous = None if regenerate is None else [
            {"name": k, "text": v} for k, v in regenerate.fields.items() if v]
        # the controls are a prompt of their own, added to the user prompt only when there
        # is something to add, so a plain run sends generate-variant as it always did
        self.controls: RenderedPrompt | None = None
        if gen.examples.examples or opts.tone or opts.length or previous:
            self.controls = _controls_template(gen.prompts).render(
                examples=prompt_examples(gen.examples),
                tone=opts.tone or "", length=opts.length or "", previous=previous or [],
                instruction=regenerate.instruction if regenerate is not None else "",
            )
        for index in range(1, n + 1):
            prompt = gen.prompts.render(
                "generate-variant", brief=brief.model_dump(mode="json"),
                variant_number=index, variant_count=n, **self._vars(),
            )
            user = prompt.text
            name = _label("user prompt", prompt)
            if self.controls is not None:
                user += "\n" + self.controls.text
                name = name[:-1] + f" with {self.controls.id} v{self.controls.version})"
            self.guard.label(user, name)
            self.prompts[index] = prompt
            self.base[index] = [
                {"role": "system", "content": self.system.text},
                {"role": "user", "content": user},
            ]

    def _vars(self) -> dict[str, Any]:
        return {"channel": self.channel.value, "fields": self.fields, "style": self.style,
                "offer_text": self._offer_text()}

    def _offer_text(self) -> str:
        """The registered offer's wording (the brief names it by id), so the model
        states the real terms instead of guessing them from an id."""
        lookup = getattr(self.gen.policy, "offer", None)
        if not self.brief.offer or not callable(lookup):
            return ""
        offer = lookup(self.brief.offer)
        if offer is None:
            return ""
        terms = getattr(offer, "terms", "")
        return f"{offer.text} ({terms})" if terms else str(offer.text)

    async def all(self) -> list[DraftOutcome]:
        outcomes = await asyncio.gather(*(self._variant(i) for i in range(1, self.n + 1)))
        if self.callback_error is not None:
            raise self.callback_error
        return list(outcomes)

    def _remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def _deadline_passed(self) -> None:
        if self.aborted is None:
            self.aborted = f"the run deadline of {self.gen.options.deadline:g}s passed"

    async def _ask(self, messages: list[Message], trace: _Trace) -> Completion:
        if self.aborted is not None:
            raise _Aborted
        async with self.sem:
            if self.aborted is not None:
                raise _Aborted
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                self._deadline_passed()
                raise _Aborted
            self.guard.check(messages)  # raises PrivacyError: nothing is sent
            opts = self.gen.options
            started = time.perf_counter()
            call = self.gen.client.achat(
                messages, schema=self.schema, temperature=opts.temperature,
                max_tokens=opts.max_tokens,
            )
            try:
                completion = await (call if remaining is None else asyncio.wait_for(call, remaining))
            except EndpointError as exc:
                trace.failed(time.perf_counter() - started, exc)
                self._log(messages, trace, None, time.perf_counter() - started, str(exc))
                raise
            except TimeoutError:  # only the run's deadline: the backends raise EndpointError
                trace.failed(time.perf_counter() - started)
                self._deadline_passed()
                self._log(messages, trace, None, time.perf_counter() - started,
                          f"stopped: {self.aborted}")
                raise _DeadlinePassed from None
        self.guard.received(completion.text)
        trace.add(completion, time.perf_counter() - started)
        self._log(messages, trace, completion, time.perf_counter() - started, None)
        return completion

    def _log(self, messages: list[Message], trace: _Trace, completion: Completion | None,
             seconds: float, error: str | None) -> None:
        """Hand the exchange to the prompt log; a log that cannot be written is reported
        once and does not stop the run."""
        gen = self.gen
        if gen.on_request is None or self.log_error is not None:
            return
        usage = completion.usage if completion is not None else Usage()
        entry = LogEntry(
            run_id=self.run_id, messages=[dict(m) for m in messages],
            response=completion.text if completion is not None else None,
            model=completion.model if completion is not None else gen.client.model,
            endpoint_kind=gen.client.endpoint_kind, actor=gen.actor, brief_id=self.brief.id,
            variant_number=trace.index, purpose="generate" if len(messages) <= 2 else "follow-up",
            finish_reason=completion.finish_reason if completion is not None else None,
            prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            latency_s=round(seconds, 3), cost=cost_of(usage, gen.price), error=error,
        )
        try:
            gen.on_request(entry)
        except Exception as exc:  # the drafts matter more than their log
            self.log_error = f"the prompt log could not be written: {exc}"

    def _reask(
        self, messages: list[Message], trace: _Trace, error: str, reply: str | None = None
    ) -> list[Message]:
        """``messages`` continued with ``reply`` (default: the last reply) and a re-ask
        quoting ``error``."""
        reask = self.gen.prompts.render("reask-invalid", error=error, **self._vars())
        self.guard.label(reask.text, _label("re-ask prompt", reask))
        trace.followups.append(reask.provenance())
        trace.reasks += 1
        said = reply if reply is not None else (trace.last.text if trace.last is not None else "")
        return [*messages, {"role": "assistant", "content": said}, {"role": "user", "content": reask.text}]

    async def _obtain(self, messages: list[Message], trace: _Trace) -> tuple[Draft, str]:
        """A valid draft from ``messages``, re-asking with the error after bad output.
        A reply cut off at the token cap is re-asked once, for shorter copy; cut off
        again, the draft fails at once."""
        error: OutputInvalid | None = None
        cut_off = False
        for attempt in range(self.gen.options.reask_attempts + 1):
            if attempt:
                assert error is not None
                messages = self._reask(messages, trace, str(error))
            completion = await self._ask(messages, trace)
            try:
                check_finished(completion, self.channel)
                return parse_reply(completion.text, self.channel, prefer=self.style), completion.text
            except OutputTruncated as exc:
                if cut_off:
                    raise DraftFailed(self._cut_off_twice(completion), exc.raw) from None
                cut_off, error = True, exc
            except OutputInvalid as exc:
                error = exc
        assert error is not None
        raise DraftFailed(
            f"no valid output after {self.gen.options.reask_attempts + 1} attempts: {error}",
            error.raw,
        )

    def _cut_off_twice(self, completion: Completion) -> str:
        cap = self.gen.options.max_tokens
        hint = "raise max_tokens" + (f" (now {cap})" if cap else "")
        if completion.usage.reasoning_tokens:
            hint += " or reasoning_tokens (the model spent "
            hint += f"{completion.usage.reasoning_tokens} tokens reasoning)"
        return ("the reply was cut off at the token limit again after a re-ask for shorter copy, "
                f"so no complete draft was obtained; {hint}")

    def _duplicate_of(self, index: int, draft: Draft) -> tuple[str, float] | None:
        """The kept draft ``draft`` nearly repeats, with the similarity, if any."""
        mine = similarity.tokens(draft.fields())
        for label, words in self.kept.items():
            if label == f"draft {index}":
                continue
            score = similarity.jaccard(mine, words)
            if score >= similarity.NEAR_DUPLICATE:
                return label, score
        return None

    async def _distinct(
        self, index: int, base: list[Message], draft: Draft, text: str, trace: _Trace,
        notes: dict[str, Any],
    ) -> tuple[Draft, str]:
        """``draft``, or after one re-ask for a different angle a draft that does not
        repeat a kept one; raises :class:`_Duplicate` when the second repeats too."""
        dup = self._duplicate_of(index, draft)
        if dup is None:
            return draft, text
        notes["duplicate_reask"] = _dup_text(dup)
        messages = self._reask(base, trace, (
            f"this draft repeats {_dup_text(dup)}. Write a clearly different angle for the same "
            "brief: a different opening, benefit and wording"), reply=text)
        draft, text = await self._obtain(messages, trace)
        dup = self._duplicate_of(index, draft)
        if dup is not None:
            raise _Duplicate(f"dropped: it repeats {_dup_text(dup)}, also after a re-ask for a "
                             "different angle")
        return draft, text

    def _check(self, draft: Draft) -> list[Finding]:
        return list(self.gen.policy.check(self.channel, draft.fields(), brief=self.brief))

    async def _variant(self, index: int) -> DraftOutcome:
        trace = _Trace(index=index)
        prompt = self.prompts[index]
        base = self.base[index]
        outcome = DraftOutcome(index=index, status="failed")
        notes: dict[str, Any] = {}
        try:
            first, text = await self._obtain(base, trace)
            draft, text = await self._distinct(index, base, first, text, trace, notes)
            self.kept[f"draft {index}"] = similarity.tokens(draft.fields())
            draft, findings, rounds = await self._repair(base, draft, text, trace, notes)
            dup = self._duplicate_of(index, draft)  # a repair can converge on another draft
            if dup is not None:
                raise _Duplicate(f"dropped: after repair it repeats {_dup_text(dup)}")
            self.kept[f"draft {index}"] = similarity.tokens(draft.fields())
            outcome.status = "blocked" if _count_blocks(findings) else "ok"
            outcome.findings = findings
            outcome.repair_rounds = rounds
            outcome.fields = draft.fields()
            outcome.rationale = draft.rationale
        except _Aborted:
            if trace.attempts == 0:
                outcome.status = "skipped"
                outcome.error = f"not attempted: the run stopped ({self.aborted})"
            else:
                outcome.error = f"stopped before a usable draft: {self.aborted}"
        except _DeadlinePassed:
            outcome.error = f"stopped while waiting for the endpoint: {self.aborted}"
        except _Duplicate as exc:
            outcome.status = "duplicate"
            outcome.error = str(exc)
            outcome.last_output = trace.last.text if trace.last is not None else None
        except DraftFailed as exc:
            outcome.error = str(exc)
            outcome.last_output = exc.last_output
        except PrivacyError as exc:  # a re-ask of the first draft was refused
            outcome.error = str(exc)
        except EndpointError as exc:
            self._fatal(exc)
            outcome.error = str(exc)
        if outcome.fields is None:
            self.kept.pop(f"draft {index}", None)
        outcome.attempts = trace.attempts
        outcome.retries = trace.retries
        outcome.fallbacks = trace.fallbacks
        outcome.events = list(trace.events)
        outcome.usage = trace.usage
        outcome.latency = trace.latency
        outcome.provenance = self._provenance(prompt, trace, outcome, notes)
        self._deliver(outcome)
        return outcome

    def _fatal(self, exc: EndpointError) -> None:
        if exc.fatal and self.aborted is None:
            self.aborted = str(exc)

    async def _repair(
        self, base: list[Message], draft: Draft, text: str, trace: _Trace, notes: dict[str, Any]
    ) -> tuple[Draft, list[Finding], int]:
        """Send block findings back up to ``repair_rounds`` times: the last valid draft,
        its findings and the rounds used. A repair that fails, is refused or is cut
        short (endpoint failure, the run stopping) keeps the draft before it."""
        findings = self._check(draft)
        notes["blocks_first_draft"] = _count_blocks(findings)
        rounds = 0
        while _count_blocks(findings) and rounds < self.gen.options.repair_rounds:
            rounds += 1
            revise = self.gen.prompts.render(
                "revise-findings", findings=_quotable(findings), **self._vars(),
            )
            self.guard.label(revise.text, _label("revise prompt", revise))
            trace.followups.append(revise.provenance())
            messages = [*base, {"role": "assistant", "content": text},
                        {"role": "user", "content": revise.text}]
            try:
                draft, text = await self._obtain(messages, trace)
            except DraftFailed as exc:
                notes["repair_failed"] = str(exc)
                break
            except PrivacyError as exc:  # the draft stays, blocked, with its findings
                notes["repair_refused"] = str(exc)
                break
            except EndpointError as exc:
                self._fatal(exc)
                notes["repair_failed"] = str(exc)
                break
            except (_Aborted, _DeadlinePassed):
                notes["repair_failed"] = f"repair stopped: {self.aborted}"
                break
            findings = self._check(draft)
        return draft, findings, rounds

    def _provenance(
        self, prompt: RenderedPrompt, trace: _Trace, outcome: DraftOutcome, notes: dict[str, Any]
    ) -> dict[str, Any]:
        client = self.gen.client
        described = client.describe()
        opts = self.gen.options
        last = trace.last
        cost = cost_of(trace.usage, self.gen.price)
        controls: dict[str, Any] = {}
        if opts.tone:
            controls["tone"] = opts.tone
        if opts.length:
            controls["length"] = opts.length
        if self.regenerate is not None:
            controls["regenerated_from"] = self.regenerate.provenance()
        return {
            "generator": "copydesk.llm",
            "prompt": prompt.provenance(),
            "system_prompt": self.system.provenance(),
            **({"controls_prompt": self.controls.provenance()} if self.controls else {}),
            "followup_prompts": trace.followups,
            "model": last.model if last else client.model,
            "model_label": client.label,
            "endpoint_kind": client.endpoint_kind,
            "endpoint": described.get("base_url"),
            "parameters": {
                # what was sent: a reasoning model gets none (None), the embedded model
                # reports no parameters (the configured value applies)
                "temperature": last.parameters.get("temperature") if last and last.parameters
                else opts.temperature,
                "max_tokens": opts.max_tokens,
                "sent": dict(last.parameters) if last else {},
                "output_style": self.style,
                "format_mode": last.format_mode if last else None,
                "reask_attempts": opts.reask_attempts,
                "repair_rounds": opts.repair_rounds,
                "deadline_s": opts.deadline,
            },
            "finish_reason": last.finish_reason if last else None,
            "usage": trace.usage.as_dict(),
            "latency_s": round(trace.latency, 3),
            "attempts": trace.attempts,
            "requests": trace.requests,
            "reasks": trace.reasks,
            "transport_retries": trace.retries,
            "format_fallbacks": trace.fallbacks,
            "retries_and_fallbacks": list(trace.events),
            "repair_rounds": outcome.repair_rounds,
            "rationale": outcome.rationale,
            "variant_number": outcome.index,
            "brief_redacted": self.redacted,
            "cost": round(cost, 6) if cost is not None else NO_PRICE,
            **({"price_per_1m_tokens": self.gen.price.model_dump()} if self.gen.price else {}),
            "log_run_id": self.run_id,
            **self.gen.examples.provenance(),
            **controls,
            **notes,
        }

    def _deliver(self, outcome: DraftOutcome) -> None:
        if self.on_draft is None or self.callback_error is not None:
            return
        try:
            self.on_draft(outcome)
        except Exception as exc:  # saving failed: stop asking for more drafts
            self.callback_error = exc
            self.aborted = f"saving a draft failed: {exc}"


def _controls_template(prompts: PromptLibrary) -> PromptTemplate:
    """The workspace's ``generate-controls`` prompt; a workspace made before it existed
    uses the sample's (as ``llm check`` does with its prompt)."""
    try:
        return prompts.get(CONTROLS_PROMPT)
    except NotFoundError:
        from copydesk.scaffold import sample_root

        sample = Path(str(sample_root() / "prompts" / f"{CONTROLS_PROMPT}.j2"))
        if not sample.is_file():
            raise
        return load_prompt(sample)


def _label(what: str, prompt: RenderedPrompt) -> str:
    return f"the {what} ({prompt.id} v{prompt.version})"


def _quotable(findings: list[Finding]) -> list[dict[str, Any]]:
    """Block findings as the revise prompt quotes them: a personal-data finding by kind
    and position only (the draft itself is in the conversation)."""
    out = []
    for f in findings:
        if f.severity != Severity.BLOCK:
            continue
        if f.category == Category.PII:
            f = masked(f)
            f = f.model_copy(update={
                "match": f"{f.message} at {f.start}-{f.end}",
                "message": f"{f.message}: personal data must not appear in copy",
            })
        out.append(f.model_dump(mode="json"))
    return out


def _count_blocks(findings: list[Finding]) -> int:
    return sum(1 for f in findings if f.severity == Severity.BLOCK)


def _dup_text(dup: tuple[str, float]) -> str:
    label, score = dup
    return (f"{label} almost word for word (token Jaccard {score:.2f}, near-duplicate at "
            f"{similarity.NEAR_DUPLICATE:g} or more)")
