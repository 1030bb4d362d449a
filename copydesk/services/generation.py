"""Generate variants for a stored brief and save each one as it arrives.

The CLI (``copydesk generate``) and the app's Generate page both call
:func:`generate_for_brief`. It picks the approved examples for the prompt
(:mod:`copydesk.llm.examples`), stores every request in the prompt log
(:mod:`copydesk.llm.logs`, unless ``llm.log_prompts`` is off), prices each draft from
``llm.prices``, and redoes one draft with an instruction (``regenerate``).

A regenerated draft is a new revision of the same variant, never a new variant: only
the copywriter's own draft (its current revision written by them, status draft or
rejected) can be redone, so no approval is withdrawn and no text in review changes
under a reviewer; the new revision goes through :meth:`edit_variant` like a hand edit
(findings recomputed, ``variant.edit`` audited, the copywriter stays an author who may
not approve it), and its provenance names the revision it came from and the
instruction. The revision history keeps the text before and after side by side.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from copydesk.errors import InputError, NotFoundError, StaleRevisionError, UsageError
from copydesk.llm import examples as examples_mod
from copydesk.llm.client import LLMClient, Usage
from copydesk.llm.generate import DraftOutcome, GenerationOptions, Generator, Regeneration
from copydesk.llm.logs import LogStore
from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.privacy import scrub
from copydesk.llm.prompts import PromptLibrary
from copydesk.llm.settings import LLMSettings, load_settings
from copydesk.models import Brief, Finding, Variant
from copydesk.services.permissions import require
from copydesk.vocab import Status

if TYPE_CHECKING:
    from copydesk.services.desk import Desk

MAX_VARIANTS = 50
#: Statuses a draft can be regenerated from (see the module doc).
REGENERABLE = (Status.DRAFT, Status.REJECTED)
MAX_INSTRUCTION = 500


@dataclass
class DraftRecord:
    """One requested variant: its outcome and, when saved, the stored variant."""

    outcome: DraftOutcome
    variant: Variant | None = None


@dataclass
class GenerationReport:
    """What a run produced. ``records`` is in completion order; failures are included."""

    brief_id: str
    requested: int
    model_label: str
    endpoint_kind: str
    records: list[DraftRecord] = field(default_factory=list)
    redacted: list[Finding] = field(default_factory=list)
    aborted: str | None = None
    elapsed: float = 0.0
    #: Corrections the endpoint's 400s led to (format fallback, token parameter...).
    adjustments: list[str] = field(default_factory=list)
    #: The examples the prompt carried, with why each was chosen (provenance form).
    examples: list[dict[str, object]] = field(default_factory=list)
    #: The run's rows in the prompt log (``copydesk llm logs``); "" when not logged.
    log_run_id: str = ""
    log_error: str | None = None
    #: The variant redone, when this run regenerated one draft.
    regenerated: str | None = None

    @property
    def variants(self) -> list[Variant]:
        return [r.variant for r in self.records if r.variant is not None]

    @property
    def failures(self) -> list[DraftOutcome]:
        return [r.outcome for r in self.records if r.variant is None]

    @property
    def cost(self) -> float | None:
        """What the run cost, or None when the model has no price."""
        costs = [r.outcome.provenance.get("cost") for r in self.records]
        if not costs or any(not isinstance(c, (int, float)) for c in costs):
            return None
        return float(sum(c for c in costs if isinstance(c, (int, float))))

    @property
    def usage(self) -> Usage:
        total = Usage()
        for r in self.records:
            total = total + r.outcome.usage
        return total


#: Called after each draft: (records so far, requested, the newest record).
OnProgress = Callable[[int, int, DraftRecord], None]


def generate_for_brief(
    desk: Desk,
    brief_id: str,
    *,
    actor: str,
    n: int,
    client: LLMClient,
    policy: GuardrailPolicy | None,
    on_progress: OnProgress | None = None,
    options: GenerationOptions | None = None,
    redact_pii: bool = False,
    settings: LLMSettings | None = None,
    regenerate: str | None = None,
    instruction: str | None = None,
) -> GenerationReport:
    """Generate ``n`` variants of brief ``brief_id`` as ``actor`` and save each draft
    (with its findings and provenance) the moment it is ready.

    Raises before any request: PermissionDenied (actor may not write variants),
    NotFoundError (brief), PrivacyError (personal data in any field of the brief, unless
    ``redact_pii``, or in any first request rendered from it: brand name, offer wording,
    prompt templates). A later request (re-ask, revision) that would carry personal data
    is not sent either; that draft records why. Failed drafts are returned in the report,
    never dropped. A draft that nearly repeats another of the run, or a stored variant of
    the brief, is re-asked once for a different angle, then dropped (status
    ``duplicate``) rather than saved twice.

    ``settings`` (default: the workspace's) give the examples, the prompt log and the
    prices. With ``regenerate`` (a variant id) and ``instruction``, that one draft is
    redone as a new revision (see the module doc); raises UsageError before any request
    when it is not the actor's own draft of this brief, in draft or rejected status.
    """
    if not 1 <= n <= MAX_VARIANTS:
        raise UsageError(f"-n must be between 1 and {MAX_VARIANTS}, not {n}")
    require(desk.actor(actor), "variant.write")
    brief = desk.get_brief(brief_id)
    workspace = desk.workspace
    if workspace is None:
        raise NotFoundError("generation needs a workspace (its prompts/ folder)")
    config = workspace.config()
    if settings is None:
        settings = load_settings(config.llm, source=str(workspace.config_path))
    if options is None:
        options = GenerationOptions.from_settings(settings, redact_pii=redact_pii)
    elif redact_pii and not options.redact_pii:
        options = dataclasses.replace(options, redact_pii=True)
    redo = _regeneration(desk, brief, actor, regenerate, instruction)
    if redo is not None:
        n = 1
    policy = policy if policy is not None else desk.policy
    selection = examples_mod.choose(
        brief, desk.approved_content(), examples_mod.measured_by_hash(desk.db),
        limit=settings.examples, min_recipients=settings.examples_min_recipients, policy=policy,
    ) if settings.examples else examples_mod.NO_EXAMPLES
    logs = LogStore(desk.db) if settings.log_prompts else None
    generator = Generator(
        client, PromptLibrary(workspace.prompts_dir), policy, options,
        brand=config.brand, examples=selection, on_request=logs.write if logs else None,
        price=settings.price(client.model), actor=actor,
    )
    report = GenerationReport(
        brief_id=brief.id, requested=n, model_label=client.label,
        endpoint_kind=client.endpoint_kind,
        examples=[e.provenance() for e in selection.examples],
        regenerated=redo.variant_id if redo is not None else None,
    )

    def store(outcome: DraftOutcome, fields: dict[str, str]) -> Variant:
        if redo is not None:
            return desk.edit_variant(
                redo.variant_id, fields, actor=actor, expected_revision=redo.revision,
                provenance=outcome.provenance,
            )
        return desk.add_variant(
            brief.id, fields, actor=actor, provenance=outcome.provenance,
            findings=outcome.findings,
        )

    def save(outcome: DraftOutcome) -> None:
        record = DraftRecord(outcome)
        if outcome.fields is not None:
            try:
                record.variant = store(outcome, outcome.fields)
            except (InputError, StaleRevisionError) as exc:  # this draft only; the run goes on
                outcome.status = "failed"
                outcome.error = f"draft not saved: {exc}"
            if record.variant is not None and logs is not None:
                logs.link(str(outcome.provenance.get("log_run_id", "")), outcome.index,
                          record.variant.id)
        if record.variant is None:
            # the audit log is append-only: what the model wrote goes in with any
            # contact-shaped value (an invented phone number) masked
            desk.record_generation_failure(
                brief.id, actor=actor, error=outcome.error or outcome.status,
                provenance=outcome.provenance,
                last_output=scrub(outcome.last_output) if outcome.last_output else None,
            )
        report.records.append(record)
        if on_progress is not None:
            on_progress(len(report.records), n, record)

    # a regenerated draft may stay close to the one it redoes ("shorter"): not a duplicate
    existing = {v.id: dict(v.current.content.fields) for v in desk.list_variants(brief_id=brief.id)
                if redo is None or v.id != redo.variant_id}
    started = time.perf_counter()
    try:
        result = generator.run(brief, n, on_draft=save, existing=existing, regenerate=redo)
    finally:
        report.elapsed = time.perf_counter() - started
    report.redacted = result.redacted
    report.aborted = result.aborted
    report.adjustments = result.adjustments
    report.log_run_id = result.run_id if logs is not None else ""
    report.log_error = result.log_error
    return report


def _regeneration(
    desk: Desk, brief: Brief, actor: str, variant_id: str | None, instruction: str | None,
) -> Regeneration | None:
    """What ``--regenerate`` redoes, checked before any request (see the module doc)."""
    text = (instruction or "").strip()
    if variant_id is None:
        if text:
            raise UsageError("--instruction goes with --regenerate VARIANT_ID (the draft to redo)")
        return None
    if not text:
        raise UsageError("--regenerate needs --instruction, e.g. --instruction \"shorter, mention the kit\"")
    if len(text) > MAX_INSTRUCTION:
        raise UsageError(f"--instruction is {len(text)} characters; keep it under {MAX_INSTRUCTION}")
    variant = desk.get_variant(variant_id)
    if variant.brief_id != brief.id:
        raise UsageError(f"{variant.id} belongs to brief '{variant.brief_id}', not '{brief.id}'")
    if variant.status not in REGENERABLE:
        raise UsageError(
            f"{variant.id} is {variant.status.value}: only a draft or a rejected variant is "
            "regenerated (as its next revision); generate a new variant instead"
        )
    if variant.current.author != actor:
        raise UsageError(
            f"{variant.id} revision {variant.current.number} was written by "
            f"{variant.current.author}: regenerate only your own drafts (or generate a new variant)"
        )
    return Regeneration(variant.id, variant.current.number, dict(variant.current.content.fields), text)


def regenerate(desk: Desk, variant_id: str, *, actor: str, instruction: str) -> GenerationReport:
    """Redo ``actor``'s own draft ``variant_id`` following ``instruction``, with the
    workspace's endpoint, as the draft's next revision (the app's action; the CLI's is
    ``generate --regenerate``). Refusals (not your draft, not a draft) come before any
    request."""
    from copydesk.llm.factory import make_client
    from copydesk.services.endpoints import endpoint_settings

    if desk.workspace is None:
        raise UsageError("no workspace: nothing to regenerate with")
    variant = desk.get_variant(variant_id)
    settings = endpoint_settings(desk.workspace)
    client = make_client(settings)
    try:
        return generate_for_brief(
            desk, variant.brief_id, actor=actor, n=1, client=client, policy=desk.policy,
            options=GenerationOptions.from_settings(settings), settings=settings,
            regenerate=variant_id, instruction=instruction,
        )
    finally:
        client.close()
