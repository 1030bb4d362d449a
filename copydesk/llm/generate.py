"""Generation: drafts from a brief, validated, checked and repaired.

For each variant: render the prompts (files in ``prompts/``), call the model, parse
and validate the reply against the channel schema (re-asking with the validation
error up to ``reask_attempts`` times), run the guardrails, and send block findings
back as a revision request up to ``repair_rounds`` times. Requests run concurrently,
at most ``concurrency`` at once. Each finished draft, or its failure, is handed to
``on_draft`` at once, so an interrupted run keeps what it had.

No personal data reaches the model (:mod:`copydesk.llm.privacy`): the brief is screened
before any prompt is rendered, every variant's first request is rendered and scanned
before any is sent, and :meth:`_Run._ask` scans the exact messages of every request,
re-asks and revisions included, right before sending it. A revision request names a
personal-data finding by kind and position, never by value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from copydesk.errors import PrivacyError
from copydesk.llm.client import Completion, EndpointError, LLMClient, Message, Usage
from copydesk.llm.parse import OutputInvalid, Style, parse_reply
from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.privacy import MessageGuard, masked, screen_brief
from copydesk.llm.prompts import PromptLibrary, RenderedPrompt
from copydesk.llm.schemas import Draft, draft_model, response_schema
from copydesk.llm.settings import LLMSettings
from copydesk.models import Brief, Finding
from copydesk.vocab import REQUIRED_FIELDS, Category, Severity

DraftStatus = Literal["ok", "blocked", "failed", "skipped"]


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

    @classmethod
    def from_settings(cls, settings: LLMSettings, *, redact_pii: bool = False) -> GenerationOptions:
        return cls(
            reask_attempts=settings.reask_attempts,
            repair_rounds=settings.repair_rounds,
            concurrency=settings.max_concurrency,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            output_mode=settings.output_mode,
            redact_pii=redact_pii,
        )


@dataclass
class DraftOutcome:
    """One variant's result. ``fields`` is None when no valid draft was obtained."""

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


OnDraft = Callable[[DraftOutcome], None]


class DraftFailed(Exception):
    """No usable draft after all re-asks; carries the last error and reply."""

    def __init__(self, message: str, last_output: str | None) -> None:
        super().__init__(message)
        self.last_output = last_output


class _Aborted(Exception):
    pass


@dataclass
class _Trace:
    """What one variant's requests cost and which prompts they used."""

    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0
    attempts: int = 0
    reasks: int = 0
    retries: int = 0
    followups: list[dict[str, Any]] = field(default_factory=list)
    last: Completion | None = None

    def add(self, completion: Completion) -> None:
        self.usage = self.usage + completion.usage
        self.latency += completion.latency
        self.attempts += 1
        self.retries += completion.retries
        self.last = completion


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
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.policy = policy
        self.options = options or GenerationOptions()
        self.brand = brand

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

    def run(self, brief: Brief, n: int, *, on_draft: OnDraft | None = None) -> GenerationResult:
        """Blocking :meth:`arun`."""
        return asyncio.run(self.arun(brief, n, on_draft=on_draft))

    async def arun(
        self, brief: Brief, n: int, *, on_draft: OnDraft | None = None
    ) -> GenerationResult:
        """Generate ``n`` variants of ``brief``. Raises PrivacyError before any request
        when the brief, or any first request rendered from it, holds personal data
        (unless redacting the brief); endpoint failures are recorded in the outcomes,
        and a fatal one (dead endpoint, bad key) stops the run."""
        started = time.perf_counter()
        sent_brief, redacted = screen_brief(brief, self.policy, redact_pii=self.options.redact_pii)
        run = _Run(self, sent_brief, n, bool(redacted), on_draft)
        for messages in run.base.values():
            run.guard.check(messages)
        outcomes = await run.all()
        return GenerationResult(
            brief=sent_brief, outcomes=outcomes, redacted=redacted, style=self.style,
            elapsed=time.perf_counter() - started, aborted=run.aborted,
        )


class _Run:
    """State shared by the variants of one run."""

    def __init__(
        self, gen: Generator, brief: Brief, n: int, redacted: bool, on_draft: OnDraft | None
    ) -> None:
        self.gen = gen
        self.brief = brief
        self.n = n
        self.redacted = redacted
        self.on_draft = on_draft
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
        for index in range(1, n + 1):
            prompt = gen.prompts.render(
                "generate-variant", brief=brief.model_dump(mode="json"),
                variant_number=index, variant_count=n, **self._vars(),
            )
            self.guard.label(prompt.text, _label("user prompt", prompt))
            self.prompts[index] = prompt
            self.base[index] = [
                {"role": "system", "content": self.system.text},
                {"role": "user", "content": prompt.text},
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

    async def _ask(self, messages: list[Message], trace: _Trace) -> Completion:
        if self.aborted is not None:
            raise _Aborted
        async with self.sem:
            if self.aborted is not None:
                raise _Aborted
            self.guard.check(messages)  # raises PrivacyError: nothing is sent
            opts = self.gen.options
            completion = await self.gen.client.achat(
                messages, schema=self.schema, temperature=opts.temperature,
                max_tokens=opts.max_tokens,
            )
        self.guard.received(completion.text)
        trace.add(completion)
        return completion

    async def _obtain(self, messages: list[Message], trace: _Trace) -> tuple[Draft, str]:
        """A valid draft from ``messages``, re-asking with the error after bad output."""
        error: OutputInvalid | None = None
        for attempt in range(self.gen.options.reask_attempts + 1):
            if attempt:
                reask = self.gen.prompts.render("reask-invalid", error=str(error), **self._vars())
                self.guard.label(reask.text, _label("re-ask prompt", reask))
                trace.followups.append(reask.provenance())
                trace.reasks += 1
                messages = [*messages, _assistant(trace.last), {"role": "user", "content": reask.text}]
            completion = await self._ask(messages, trace)
            try:
                return parse_reply(completion.text, self.channel, prefer=self.style), completion.text
            except OutputInvalid as exc:
                error = exc
        assert error is not None
        raise DraftFailed(
            f"no valid output after {self.gen.options.reask_attempts + 1} attempts: {error}",
            error.raw,
        )

    def _check(self, draft: Draft) -> list[Finding]:
        return list(self.gen.policy.check(self.channel, draft.fields(), brief=self.brief))

    async def _variant(self, index: int) -> DraftOutcome:
        trace = _Trace()
        prompt = self.prompts[index]
        base = self.base[index]
        outcome = DraftOutcome(index=index, status="failed")
        draft: Draft | None = None
        notes: dict[str, Any] = {}
        try:
            draft, text = await self._obtain(base, trace)
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
                findings = self._check(draft)
            outcome.status = "blocked" if _count_blocks(findings) else "ok"
            outcome.findings = findings
            outcome.repair_rounds = rounds
        except _Aborted:
            outcome.status = "skipped"
            outcome.error = f"not attempted: the run stopped ({self.aborted})"
        except DraftFailed as exc:
            outcome.error = str(exc)
            outcome.last_output = exc.last_output
        except PrivacyError as exc:  # a re-ask of the first draft was refused
            outcome.error = str(exc)
        except EndpointError as exc:
            if exc.fatal and self.aborted is None:
                self.aborted = str(exc)
            if draft is None:
                outcome.error = str(exc)
            else:  # failed during repair: keep the valid draft with its findings
                notes["repair_failed"] = str(exc)
                findings = self._check(draft)
                outcome.status = "blocked" if _count_blocks(findings) else "ok"
                outcome.findings = findings
        if draft is not None and outcome.status in ("ok", "blocked"):
            outcome.fields = draft.fields()
            outcome.rationale = draft.rationale
        outcome.attempts = trace.attempts
        outcome.usage = trace.usage
        outcome.latency = trace.latency
        outcome.provenance = self._provenance(prompt, trace, outcome, notes)
        self._deliver(outcome)
        return outcome

    def _provenance(
        self, prompt: RenderedPrompt, trace: _Trace, outcome: DraftOutcome, notes: dict[str, Any]
    ) -> dict[str, Any]:
        client = self.gen.client
        described = client.describe()
        opts = self.gen.options
        last = trace.last
        return {
            "generator": "copydesk.llm",
            "prompt": prompt.provenance(),
            "system_prompt": self.system.provenance(),
            "followup_prompts": trace.followups,
            "model": last.model if last else client.model,
            "model_label": client.label,
            "endpoint_kind": client.endpoint_kind,
            "endpoint": described.get("base_url"),
            "parameters": {
                "temperature": opts.temperature,
                "max_tokens": opts.max_tokens,
                "output_style": self.style,
                "format_mode": last.format_mode if last else None,
                "reask_attempts": opts.reask_attempts,
                "repair_rounds": opts.repair_rounds,
            },
            "usage": trace.usage.as_dict(),
            "latency_s": round(trace.latency, 3),
            "attempts": trace.attempts,
            "reasks": trace.reasks,
            "transport_retries": trace.retries,
            "repair_rounds": outcome.repair_rounds,
            "rationale": outcome.rationale,
            "variant_number": outcome.index,
            "brief_redacted": self.redacted,
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


def _assistant(completion: Completion | None) -> Message:
    return {"role": "assistant", "content": completion.text if completion else ""}
