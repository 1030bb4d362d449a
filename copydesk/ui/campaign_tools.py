"""What the Campaigns page does, as plain functions: validate a campaign text, preview
the decision and message for one contact, dry-run an uploaded audience."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from copydesk.errors import CopydeskError, InputError, UsageError
from copydesk.models import ApprovedContent, SendRecord
from copydesk.render.audience import Record, Reject, file_format, read_rows
from copydesk.render.pipeline import Summary, render_campaign
from copydesk.render.templates import MessageRenderer, load_channel_template
from copydesk.rules.campaign import Campaign, CampaignFile, parse_campaign
from copydesk.rules.decide import Decision, EligibleLibrary, decide
from copydesk.rules.explain import explain_dict, headline, step_text
from copydesk.services import Desk
from copydesk.workspace import Workspace

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def campaign_files(ws: Workspace) -> list[Path]:
    """The workspace's campaign files, by name."""
    folder = ws.campaigns_dir
    return sorted(p for p in folder.glob("*.y*ml") if p.is_file()) if folder.is_dir() else []


def campaign_file(text: str, source: str | Path) -> CampaignFile:
    """Validate campaign YAML ``text`` (errors name ``source``, line and field)."""
    campaign = parse_campaign(text, str(source))
    return CampaignFile(campaign, Path(source), hashlib.sha256(text.encode("utf-8")).hexdigest())


@dataclass
class CampaignCheck:
    """A valid campaign, its template parts, and per rule what it can send today."""

    file: CampaignFile
    parts: list[str]
    rules: list[dict[str, Any]] = field(default_factory=list)

    @property
    def campaign(self) -> Campaign:
        return self.file.campaign


def check_campaign(
    ws: Workspace, text: str, source: str | Path, library: Sequence[ApprovedContent], *, today: Any = None
) -> CampaignCheck:
    """Validate the campaign and its template, and resolve every rule's variants."""
    cf = campaign_file(text, source)
    c = cf.campaign
    template = load_channel_template(ws.templates_dir, c.template)
    eligible = EligibleLibrary(library, channel=c.channel, today=today or datetime.now(UTC).date())
    choices = [(s.id, s.variants) for s in c.select]
    if c.fallback is not None:
        choices.append(("fallback", c.fallback))
    rules = []
    for rule_id, choice in choices:
        found, _, note = eligible.resolve(choice)
        rules.append({"rule": rule_id, "variants": choice.describe(),
                      "eligible today": ", ".join(v.variant_id for v in found) or "none",
                      "note": note})
    return CampaignCheck(cf, list(template.parts), rules)


def history_for(desk: Desk, campaign: Campaign, now: datetime) -> list[SendRecord]:
    """The send history the frequency cap needs (none without a cap)."""
    cap = campaign.frequency_cap
    if cap is None:
        return []
    return desk.send_history(campaign.channel, now - timedelta(days=cap.per_days))


def audience_files(ws: Workspace) -> list[Path]:
    """Sample audience files in the workspace."""
    folder = ws.audiences_dir
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".jsonl", ".ndjson"))


def load_contacts(path: Path, *, limit: int = 1000) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Up to ``limit`` readable contacts of ``path``, and the rows that could not be read."""
    contacts: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    for item in read_rows(path):
        if isinstance(item, Record):
            contacts.append(item.data)
            if len(contacts) >= limit:
                break
        else:
            rejects.append(item)
    return contacts, rejects


@dataclass
class Preview:
    """The decision for one contact, its trace as rows, and the rendered message."""

    decision: Decision
    headline: str
    trace: list[dict[str, Any]]
    explained: dict[str, Any]
    rendered: dict[str, str] | None = None
    render_error: str | None = None


def preview(
    ws: Workspace, cf: CampaignFile, contact: dict[str, Any], library: Sequence[ApprovedContent],
    history: Sequence[SendRecord] = (), *, now: datetime | None = None,
) -> Preview:
    """Decide for ``contact`` and, when a variant is chosen, render it as it will be sent.

    A render failure for this contact is reported in ``render_error`` (the contact
    would go to the rejects file), not raised."""
    if not contact.get("contact_id"):
        raise InputError("the contact needs a contact_id", field="contact_id")
    now = now or datetime.now(UTC)
    c = cf.campaign
    d = decide(c, contact, history, library, now=now)
    rows = [{"": "✓" if s.result else "✗", "step": s.stage, "check": "    " * s.depth + step_text(s)}
            for s in d.trace]
    result = Preview(d, headline(d), rows, explain_dict(d))
    if d.selected and d.variant is not None:
        template = load_channel_template(ws.templates_dir, c.template)
        renderer = MessageRenderer(c.channel, template, campaign_id=c.id)
        try:
            result.rendered = renderer.render(d.variant, contact)
        except CopydeskError as exc:
            result.render_error = str(exc)
    return result


@dataclass
class DryRun:
    """What a dry run over an uploaded audience produced (nothing is recorded as sent)."""

    summary: Summary
    messages: bytes
    rejects: bytes
    file_name: str


def dry_run(
    ws: Workspace, cf: CampaignFile, data: bytes, file_name: str, library: Sequence[ApprovedContent],
    history: Sequence[SendRecord] = (), *, now: datetime | None = None,
) -> DryRun:
    """Decide and render ``cf`` for the uploaded audience ``data`` (CSV or JSONL).

    Bad rows go to the rejects file; a file of an unknown type is a :class:`UsageError`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UsageError(f"{file_name}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                         "use 'copydesk campaign render' for big audiences")
    fmt = file_format(file_name)
    if fmt == "parquet":
        raise UsageError(f"{file_name}: upload CSV or JSONL here; Parquet works with 'copydesk campaign render'")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=file_name) from None
    with tempfile.TemporaryDirectory(prefix="copydesk-dry-run-") as tmp:
        folder = Path(tmp)
        audience = folder / ("audience" + Path(file_name).suffix.lower())
        audience.write_bytes(data)
        out = folder / f"{cf.campaign.id}-messages.csv"
        rejects = folder / f"{cf.campaign.id}-messages.rejects.csv"
        summary = render_campaign(cf, audience, out, library=library, templates_dir=ws.templates_dir,
                                  history=history, rejects=rejects, explain=False, workers=1, now=now)
        return DryRun(summary, out.read_bytes(), rejects.read_bytes(), out.name)


def outcome_rows(summary: Summary) -> list[dict[str, Any]]:
    """Contacts per outcome and reason, for the dry-run chart."""
    rows: list[dict[str, Any]] = [{"outcome": "rendered", "reason": f"variant {vid}", "contacts": n}
                                  for vid, n in sorted(summary.variants.items())]
    rows += [{"outcome": "suppressed", "reason": reason, "contacts": n}
             for reason, n in sorted(summary.suppressed.items())]
    for outcome, reason, n in (("held out", "holdout", summary.held_out),
                               ("capped", "frequency-cap", summary.capped),
                               ("no variant", "no-eligible-variant", summary.no_variant),
                               ("rejected", "unreadable or unrenderable row", summary.rejected)):
        if n:
            rows.append({"outcome": outcome, "reason": reason, "contacts": n})
    return rows


def sandboxed_frame(document: str, *, height: int = 600) -> str:
    """A wrapper page holding ``document`` in an ``<iframe sandbox>``: the rendered email
    is shown as it will look, but no script in it runs and it cannot reach the app."""
    import html

    return (
        '<!doctype html><html><body style="margin:0">'
        f'<iframe sandbox="" title="rendered message" style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe></body></html>'
    )
