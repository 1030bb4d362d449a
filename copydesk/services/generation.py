"""Generate variants for a stored brief and save each one as it arrives.

The CLI (``copydesk generate``) and the app's Generate page both call
:func:`generate_for_brief`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from copydesk.errors import InputError, NotFoundError, UsageError
from copydesk.llm.client import LLMClient, Usage
from copydesk.llm.generate import DraftOutcome, GenerationOptions, Generator
from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.privacy import scrub
from copydesk.llm.prompts import PromptLibrary
from copydesk.llm.settings import load_settings
from copydesk.models import Finding, Variant
from copydesk.services.permissions import require

if TYPE_CHECKING:
    from copydesk.services.desk import Desk

MAX_VARIANTS = 50


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

    @property
    def variants(self) -> list[Variant]:
        return [r.variant for r in self.records if r.variant is not None]

    @property
    def failures(self) -> list[DraftOutcome]:
        return [r.outcome for r in self.records if r.variant is None]

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
    """
    if not 1 <= n <= MAX_VARIANTS:
        raise UsageError(f"-n must be between 1 and {MAX_VARIANTS}, not {n}")
    require(desk.actor(actor), "variant.write")
    brief = desk.get_brief(brief_id)
    workspace = desk.workspace
    if workspace is None:
        raise NotFoundError("generation needs a workspace (its prompts/ folder)")
    config = workspace.config()
    if options is None:
        settings = load_settings(config.llm, source=str(workspace.config_path))
        options = GenerationOptions.from_settings(settings, redact_pii=redact_pii)
    elif redact_pii and not options.redact_pii:
        options = dataclasses.replace(options, redact_pii=True)
    generator = Generator(
        client, PromptLibrary(workspace.prompts_dir), policy if policy is not None else desk.policy, options,
        brand=config.brand,
    )
    report = GenerationReport(
        brief_id=brief.id, requested=n, model_label=client.label,
        endpoint_kind=client.endpoint_kind,
    )

    def save(outcome: DraftOutcome) -> None:
        record = DraftRecord(outcome)
        if outcome.fields is not None:
            try:
                record.variant = desk.add_variant(
                    brief.id, outcome.fields, actor=actor, provenance=outcome.provenance,
                    findings=outcome.findings,
                )
            except InputError as exc:  # this draft only; the run goes on
                outcome.status = "failed"
                outcome.error = f"draft not saved: {exc}"
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

    existing = {v.id: dict(v.current.content.fields) for v in desk.list_variants(brief_id=brief.id)}
    started = time.perf_counter()
    try:
        result = generator.run(brief, n, on_draft=save, existing=existing)
    finally:
        report.elapsed = time.perf_counter() - started
    report.redacted = result.redacted
    report.aborted = result.aborted
    report.adjustments = result.adjustments
    return report
