"""Live generation for the app's Generate page: a run in a background thread that the
page polls, each finished draft as a card, a Cancel that keeps finished drafts.

Nothing here draws: the page (``copydesk/ui/pages/generate.py``) renders what
:meth:`LiveRun.state` returns, so the logic is tested as plain functions.

Why a thread: a Streamlit script run only sends what it draws, and the page must keep
drawing (progress, each draft as it lands) while the model works. The run goes through
the same service call as the CLI (:func:`copydesk.services.generation.generate_for_brief`),
on its own :class:`Desk` (its own database connection), and reports each saved draft
through that call's ``on_progress``.

Why cancel goes through the client: the generator has no cancel hook, but it stops a
run on a *fatal* endpoint error (requests not yet sent are skipped, a draft in repair
keeps its last valid text). :class:`CancellableClient` wraps the model client and, once
cancelled, ends the requests in flight and refuses new ones with such an error, so the
finished drafts stay saved and the rest are reported as not made.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from copydesk.errors import CopydeskError
from copydesk.llm.client import Completion, EndpointError, LLMClient, Message, ResponseSchema, Usage
from copydesk.llm.factory import make_client
from copydesk.llm.generate import DraftOutcome, GenerationOptions
from copydesk.llm.settings import LLMSettings
from copydesk.models import Finding
from copydesk.services import Desk
from copydesk.services.generation import DraftRecord, GenerationReport, generate_for_brief
from copydesk.vocab import Severity
from copydesk.workspace import Workspace

#: What a draft's status means to a copywriter.
STATUS_TEXT: dict[str, str] = {
    "ok": "ready to review",
    "blocked": "saved with open block findings",
    "failed": "failed",
    "skipped": "not made",
    "duplicate": "dropped as a near-duplicate",
    "cancelled": "cancelled",
}


def cancel_message(actor: str) -> str:
    """The reason a cancelled run gives (the generator quotes it for drafts not made)."""
    return f"cancelled by {actor}"


# -- cancelling through the client --------------------------------------------------------

class CancellableClient(LLMClient):
    """``inner`` with a cancel switch: after :meth:`cancel`, requests in flight end and
    new ones are refused with a fatal :class:`EndpointError` (the generator then stops
    the run). It also counts calls and tokens as they come back, for live progress."""

    def __init__(self, inner: LLMClient) -> None:
        self.inner = inner
        self.endpoint_kind = inner.endpoint_kind
        self.model = inner.model
        self.max_concurrency = inner.max_concurrency
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._stoppers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self.calls_started = 0
        self.calls_answered = 0
        self.usage = Usage()

    def __getattr__(self, name: str) -> Any:
        # anything else the generator reads (``adjustments``...) is the inner client's
        return getattr(self.inner, name)

    @property
    def label(self) -> str:
        return self.inner.label

    @property
    def cancelled(self) -> str | None:
        """Why the client was cancelled, or ``None``."""
        with self._lock:
            return self._reason

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def cancel(self, reason: str) -> None:
        """End the requests in flight and refuse new ones, with ``reason``."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            stoppers = list(self._stoppers)
        for loop, event in stoppers:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nothing of it is in flight
                loop.call_soon_threadsafe(event.set)

    def _refuse(self, started: float | None = None) -> EndpointError:
        sent = started is not None
        return EndpointError(
            self._reason or "cancelled", fatal=True, requests=1 if sent else 0,
            elapsed=time.perf_counter() - started if started is not None else 0.0,
        )

    def _answered(self, completion: Completion) -> None:
        with self._lock:
            self.calls_answered += 1
            self.usage = self.usage + completion.usage

    def chat(
        self, messages: Sequence[Message], *, schema: ResponseSchema | None = None,
        temperature: float | None = None, max_tokens: int | None = None,
    ) -> Completion:
        """The blocking call (not cancellable once sent; the generator uses :meth:`achat`)."""
        with self._lock:
            if self._reason is not None:
                raise self._refuse()
            self.calls_started += 1
        completion = self.inner.chat(messages, schema=schema, temperature=temperature, max_tokens=max_tokens)
        self._answered(completion)
        return completion

    async def achat(
        self, messages: Sequence[Message], *, schema: ResponseSchema | None = None,
        temperature: float | None = None, max_tokens: int | None = None,
    ) -> Completion:
        """The inner call, ended at once with a fatal error when the run is cancelled."""
        loop = asyncio.get_running_loop()
        stopper = asyncio.Event()
        with self._lock:
            if self._reason is not None:
                raise self._refuse()
            self._stoppers.append((loop, stopper))
            self.calls_started += 1
        started = time.perf_counter()
        call = asyncio.ensure_future(
            self.inner.achat(messages, schema=schema, temperature=temperature, max_tokens=max_tokens)
        )
        stop = asyncio.ensure_future(stopper.wait())
        try:
            await asyncio.wait({call, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            with self._lock:
                self._stoppers.remove((loop, stopper))
            stop.cancel()
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # the reply is not wanted
                await call
            raise self._refuse(started)
        completion = call.result()  # an endpoint error of the call itself is raised here
        self._answered(completion)
        return completion

    def close(self) -> None:
        self.inner.close()


# -- what the page shows of one draft ----------------------------------------------------

@dataclass(frozen=True)
class DraftCard:
    """One finished (or failed) draft as the page lists it."""

    index: int
    status: str
    variant_id: str | None
    findings: str
    blocks: int
    completion_tokens: int
    model_seconds: float
    #: Seconds from the start of the run until this draft was done.
    finished_at: float
    attempts: int
    error: str | None = None
    #: What the draft's requests cost at the model's ``llm.prices`` (None: no price).
    cost: float | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second spent waiting for the model (None: not measured)."""
        if self.completion_tokens <= 0 or self.model_seconds <= 0:
            return None
        return self.completion_tokens / self.model_seconds

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    def facts(self) -> str:
        """``no findings · 41.0 tokens/s · 3.2 s model time, 1 call(s) · done at 5.0 s``."""
        parts = [self.findings] if self.variant_id else []
        rate = self.tokens_per_second
        if rate is not None:
            parts.append(f"{rate:.1f} tokens/s")
        else:  # an endpoint may report no usage; a draft not made may have had no reply
            parts.append("tokens/s not reported" if self.variant_id else "no tokens back")
        parts.append(f"{self.model_seconds:.1f} s model time, {self.attempts} call(s)")
        if self.cost is not None:
            parts.append(f"cost {money(self.cost)}")
        parts.append(f"done at {self.finished_at:.1f} s")
        return " · ".join(parts)

    def line(self) -> str:
        """``draft 2 · V14 · ready to review · `` and :meth:`facts`."""
        return " · ".join([f"draft {self.index}", *([self.variant_id] if self.variant_id else []),
                           self.status_text, self.facts()])


def money(cost: float) -> str:
    """A cost as the CLI shows it: six decimals at most."""
    return f"{cost:.6f}".rstrip("0").rstrip(".") if cost else "0"


def findings_summary(findings: Sequence[Finding]) -> str:
    """``2 findings: 1 block (claims.unverified), 1 warn`` or ``no findings``."""
    if not findings:
        return "no findings"
    counts = Counter(f.severity for f in findings)
    parts = []
    for severity in (Severity.BLOCK, Severity.WARN, Severity.INFO):
        if counts[severity]:
            rules = sorted({f.rule_id for f in findings if f.severity == severity})
            named = f" ({', '.join(rules[:3])}{', …' if len(rules) > 3 else ''})" if severity == Severity.BLOCK else ""
            parts.append(f"{counts[severity]} {severity.value}{named}")
    return f"{len(findings)} finding(s): " + ", ".join(parts)


def card(record: DraftRecord, finished_at: float, *, cancelled: str | None = None) -> DraftCard:
    """The card of one record handed to ``on_progress``; a draft that was not made
    because the run was cancelled (``cancelled``: the reason) says so."""
    outcome: DraftOutcome = record.outcome
    status: str = outcome.status
    if record.variant is None and cancelled is not None and cancelled in (outcome.error or ""):
        status = "cancelled"
    findings = record.variant.current.findings if record.variant is not None else outcome.findings
    cost = outcome.provenance.get("cost")  # a number, or "no price"
    return DraftCard(
        index=outcome.index, status=status,
        variant_id=record.variant.id if record.variant is not None else None,
        findings=findings_summary(findings),
        blocks=sum(1 for f in findings if f.severity == Severity.BLOCK),
        completion_tokens=outcome.usage.completion_tokens, model_seconds=outcome.latency,
        finished_at=finished_at, attempts=outcome.attempts,
        error=None if record.variant is not None else outcome.error,
        cost=float(cost) if isinstance(cost, (int, float)) else None,
    )


# -- one run and what the page reads of it ----------------------------------------------

@dataclass(frozen=True)
class RunState:
    """A snapshot of a run. ``version`` grows with every change (a draft, a call, the end)."""

    brief_id: str
    requested: int
    model_label: str
    elapsed: float
    cards: tuple[DraftCard, ...] = ()
    calls_started: int = 0
    calls_answered: int = 0
    completion_tokens: int = 0
    done: bool = False
    cancelled: str | None = None
    error: str | None = None
    aborted: str | None = None
    adjustments: tuple[str, ...] = ()
    version: int = 0

    @property
    def finished(self) -> int:
        return len(self.cards)

    @property
    def kept(self) -> tuple[DraftCard, ...]:
        """The drafts saved to the library."""
        return tuple(c for c in self.cards if c.variant_id is not None)

    @property
    def cost(self) -> float | None:
        """What the drafts done so far cost (None: the model has no price)."""
        costs = [c.cost for c in self.cards if c.cost is not None]
        return sum(costs) if costs else None

    @property
    def estimate_left(self) -> float | None:
        """Seconds until every draft is done at the pace so far (None before the first)."""
        if self.done or not self.cards or self.finished >= self.requested:
            return None
        per_draft = self.elapsed / self.finished
        return per_draft * (self.requested - self.finished)


def progress_text(state: RunState) -> str:
    """The progress bar's text: drafts finished, time, pace and an estimate."""
    if state.done:
        head = f"{state.finished} of {state.requested} draft(s) done in {state.elapsed:.0f} s"
    elif state.cancelled:
        head = f"cancelling… {state.finished} of {state.requested} draft(s) done"
    else:
        head = f"{state.finished} of {state.requested} draft(s) done · {state.elapsed:.0f} s"
    parts = [head]
    waiting = state.calls_started - state.calls_answered
    if not state.done:
        parts.append(f"model calls: {state.calls_answered} answered, {max(waiting, 0)} waiting")
    if state.completion_tokens and state.elapsed > 0:
        parts.append(f"{state.completion_tokens} tokens ({state.completion_tokens / state.elapsed:.1f}/s)")
    left = state.estimate_left
    if left is not None:
        parts.append(f"about {left:.0f} s left")
    return " · ".join(parts)


def progress_value(state: RunState) -> float:
    """The bar's position: drafts done over drafts requested."""
    return min(1.0, state.finished / state.requested) if state.requested else 1.0


MessageKind = Literal["success", "error", "info", "warning"]


def outcome_messages(state: RunState) -> list[tuple[MessageKind, str]]:
    """(kind, text) for the page to show once a run has ended."""
    if state.error is not None:
        return [("error", state.error)]
    out: list[tuple[MessageKind, str]] = []
    kept = len(state.kept)
    if state.cancelled is not None:
        not_made = state.requested - kept
        out.append(("warning", f"Generation {state.cancelled}: {kept} finished draft(s) kept, "
                               f"{not_made} not made."))
        return out
    if kept:
        priced = f" (cost {money(state.cost)})" if state.cost is not None else ""
        out.append(("success", f"{kept} of {state.requested} draft(s) created in {state.elapsed:.1f}s "
                               f"with {state.model_label}{priced}."))
    if state.aborted:
        not_made = len([c for c in state.cards if c.variant_id is None])
        out.append(("error", f"Stopped early, {not_made} draft(s) not made: {state.aborted}"))
    else:
        for c in sorted(state.cards, key=lambda c: c.index):
            if c.variant_id is None:
                out.append(("error", f"Draft {c.index} {c.status}: {c.error}"))
    return out


class LiveRun:
    """One generation run in a background thread. Start it with :meth:`start`; read
    :meth:`state` (or wait for a change with :meth:`wait`); :meth:`cancel` stops it."""

    def __init__(
        self, workspace: Workspace, brief_id: str, *, actor: str, n: int, settings: LLMSettings,
        options: GenerationOptions,
        client_factory: Callable[[LLMSettings], LLMClient] = make_client,
    ) -> None:
        self.workspace = workspace
        self.brief_id = brief_id
        self.actor = actor
        self.n = n
        self.settings = settings
        self.options = options
        self._factory = client_factory
        self._cond = threading.Condition()
        self._client: CancellableClient | None = None
        self._cancelled: str | None = None
        self._started = time.perf_counter()
        self._ended: float | None = None
        self._state = RunState(brief_id=brief_id, requested=n, model_label="", elapsed=0.0)
        self._thread = threading.Thread(target=self._work, name=f"copydesk-generate-{brief_id}", daemon=True)

    def start(self) -> LiveRun:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    # -- reading ---------------------------------------------------------------------
    def state(self) -> RunState:
        """The run now."""
        with self._cond:
            return self._snapshot()

    def _snapshot(self) -> RunState:
        end = self._ended if self._ended is not None else time.perf_counter()
        client = self._client
        extra: dict[str, Any] = {"elapsed": end - self._started, "cancelled": self._cancelled}
        if client is not None:
            extra.update(calls_started=client.calls_started, calls_answered=client.calls_answered,
                         completion_tokens=client.usage.completion_tokens)
        return replace(self._state, **extra)

    def wait(self, version: int, timeout: float) -> RunState:
        """The run once its version passes ``version`` or it has ended, or after
        ``timeout`` seconds anyway (the page redraws the elapsed time)."""
        with self._cond:
            self._cond.wait_for(lambda: self._state.version > version or self._state.done, timeout)
            return self._snapshot()

    def wait_until(self, predicate: Callable[[RunState], bool], timeout: float) -> RunState:
        """The run once ``predicate`` holds or it has ended (or ``timeout`` passed)."""
        with self._cond:
            self._cond.wait_for(lambda: predicate(self._snapshot()) or self._state.done, timeout)
            return self._snapshot()

    @property
    def done(self) -> bool:
        with self._cond:
            return self._state.done

    # -- acting ----------------------------------------------------------------------
    def cancel(self, actor: str) -> None:
        """Stop the drafts not finished yet; finished ones stay saved."""
        with self._cond:
            if self._state.done or self._cancelled is not None:
                return
            self._cancelled = cancel_message(actor)
            client = self._client
            self._bump()
        if client is not None:
            client.cancel(self._cancelled)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- the worker ------------------------------------------------------------------
    def _bump(self, **changes: Any) -> None:
        """Apply ``changes`` and wake the page (call with the condition held)."""
        self._state = replace(self._state, version=self._state.version + 1, **changes)
        self._cond.notify_all()

    def _on_progress(self, done: int, total: int, record: DraftRecord) -> None:
        with self._cond:
            finished_at = time.perf_counter() - self._started
            self._bump(cards=(*self._state.cards, card(record, finished_at, cancelled=self._cancelled)))

    def _work(self) -> None:
        result: dict[str, Any] = {}
        desk: Desk | None = None
        try:
            desk = Desk.open(self.workspace)
            client = CancellableClient(self._factory(self.settings))
            with self._cond:
                self._client = client
                cancelled = self._cancelled
                self._bump(model_label=client.label)
            if cancelled is not None:
                client.cancel(cancelled)
            try:
                report = generate_for_brief(
                    desk, self.brief_id, actor=self.actor, n=self.n, client=client, policy=desk.policy,
                    on_progress=self._on_progress, options=self.options, settings=self.settings,
                )
            finally:
                client.close()
            result.update(_report_fields(report))
        except CopydeskError as exc:
            result["error"] = str(exc)
        except Exception as exc:  # a bug must not leave the page waiting forever
            result["error"] = f"generation stopped unexpectedly ({type(exc).__name__}: {exc})"
        finally:
            if desk is not None:
                desk.close()
            with self._cond:
                self._ended = time.perf_counter()
                self._bump(done=True, **result)


def _report_fields(report: GenerationReport) -> dict[str, Any]:
    return {"aborted": report.aborted, "adjustments": tuple(report.adjustments),
            "model_label": report.model_label}


# -- one run per user and workspace -------------------------------------------------------
# Module-level so a run outlives the script run that started it: the page can be left
# and opened again (or opened in another tab) and shows the same run and its Cancel.

_RUNS: dict[tuple[Path, str], LiveRun] = {}
_RUNS_LOCK = threading.Lock()


@dataclass
class Started:
    """The run :func:`start_run` started, or the one already going for that user."""

    run: LiveRun
    new: bool = field(default=True)


def start_run(run: LiveRun) -> Started:
    """Start ``run`` unless its user already has one going in that workspace."""
    key = (run.workspace.root, run.actor)
    with _RUNS_LOCK:
        held = _RUNS.get(key)
        if held is not None and not held.done:
            return Started(held, new=False)
        _RUNS[key] = run
    run.start()
    return Started(run)


def current_run(workspace: Workspace, user: str) -> LiveRun | None:
    """The user's run in ``workspace`` (going, or ended and not yet shown), if any."""
    with _RUNS_LOCK:
        return _RUNS.get((workspace.root, user))


def forget_run(run: LiveRun) -> None:
    """Drop an ended run once the page has shown its outcome."""
    key = (run.workspace.root, run.actor)
    with _RUNS_LOCK:
        if _RUNS.get(key) is run:
            del _RUNS[key]


def cancel_run(workspace: Workspace, user: str) -> None:
    """Cancel the user's run (the Cancel button); nothing when none is going."""
    run = current_run(workspace, user)
    if run is not None:
        run.cancel(user)
