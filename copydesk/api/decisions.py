"""Send-time decisions: the same decision, trace and rendered message as
:func:`copydesk.services.campaigns.preview` (``copydesk campaign explain``), for a contact
given as JSON, with the campaign compiled once per library state instead of per call.

:func:`decide_contact` builds the plan exactly as ``preview`` does (the approved library
of the day, the outcome counts learning rules need), reads only this contact's stored
sends for the frequency cap (:mod:`copydesk.services.sendtime`), adds the send history the caller gave, and renders with
the campaign's template. ``tests/api`` checks the answer equals ``preview`` field by
field."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from copydesk import clock
from copydesk.api.errors import ApiError
from copydesk.api.state import ServerState
from copydesk.errors import CopydeskError
from copydesk.inputs import sane_moment
from copydesk.models import ApprovedContent, SendRecord
from copydesk.render.audience import Reject, record_from_object
from copydesk.render.templates import MessageRenderer, TemplateSnapshot, load_channel_template
from copydesk.rules.campaign import CampaignFile, load_campaign
from copydesk.rules.decide import Plan
from copydesk.services.allocation import outcome_counts
from copydesk.services.campaigns import Preview
from copydesk.services.sendtime import contact_send_history
from copydesk.services.tokens import CAMPAIGN_ID


@dataclass(frozen=True)
class Compiled:
    """A campaign compiled for one day and library state."""

    file: CampaignFile
    plan: Plan
    renderer: MessageRenderer | None


def campaign_path(state: ServerState, campaign_id: str) -> Path:
    """``campaigns/ID.yaml`` (or ``.yml``) of the workspace; 404 when there is none."""
    if CAMPAIGN_ID.fullmatch(campaign_id) is None:
        raise ApiError(404, "not_found", "no such campaign", field="campaign_id")
    folder = state.workspace.campaigns_dir
    for name in (f"{campaign_id}.yaml", f"{campaign_id}.yml"):
        path = folder / name
        if path.is_file():
            return path
    raise ApiError(404, "not_found", f"no campaign '{campaign_id}' (campaigns/{campaign_id}.yaml)",
                   field="campaign_id")


def _stat(path: Path | str) -> tuple[str, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (str(path), -1, -1)
    return (str(path), st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class _Entry:
    key: tuple[Any, ...]
    compiled: Compiled
    #: the template's files and folders, and their stat when compiled
    watched: tuple[tuple[str, int, int], ...]
    template_error: str | None


def _watch(paths: Iterable[Path | str]) -> tuple[tuple[str, int, int], ...]:
    return tuple(_stat(p) for p in sorted({str(p) for p in paths}))


def _fresh(entry: _Entry | None, key: tuple[Any, ...]) -> bool:
    return (entry is not None and entry.key == key
            and entry.watched == tuple(_stat(p) for p, _, _ in entry.watched))


def compiled(state: ServerState, campaign_id: str, moment: datetime) -> Compiled:
    """The campaign compiled for ``moment``'s day against the library as it is now:
    rebuilt when the library or the day changed (checked on every call), or the campaign
    file or a template file changed (their ``stat`` checked at most every
    ``ApiSettings.file_check_seconds``)."""
    day = moment.date()
    library = state.library(day)
    name = f"campaign:{campaign_id}"
    entry: _Entry | None = state.cache.get(name)
    at = time.monotonic()
    if (entry is not None and entry.key[1] == library.key
            and at - state.checked.get(name, -1e9) < state.settings.file_check_seconds):
        return entry.compiled
    path = campaign_path(state, campaign_id)
    key = (_stat(path), library.key)
    if not _fresh(entry, key):
        with state.build_lock:
            entry = state.cache.get(name)
            if not _fresh(entry, key):
                entry = state.cache[name] = _build(state, campaign_id, path, key, library.approved, day)
    state.checked[name] = at
    assert entry is not None  # built above when it was missing
    return entry.compiled


def _build(state: ServerState, campaign_id: str, path: Path, key: tuple[Any, ...],
           approved: list[ApprovedContent], day: date) -> _Entry:
    try:
        cf = load_campaign(path)
    except CopydeskError as exc:
        raise ApiError(503, "campaign_invalid", f"campaign '{campaign_id}' cannot be used: {exc}") from None
    if cf.campaign.id != campaign_id:
        raise ApiError(404, "not_found", f"campaigns/{path.name} is campaign '{cf.campaign.id}'",
                       field="campaign_id")
    c = cf.campaign
    plan = Plan.build(c, approved, today=day, outcomes=outcome_counts(state.desk(), c, day))
    # every template file (a part may include another) and every folder (one added or removed)
    folder = state.workspace.templates_dir
    snapshot = TemplateSnapshot.read(folder)
    files = [snapshot.path(n) for n in (*snapshot.sources, *snapshot.unreadable)]
    watched = _watch([folder, *files, *(p.parent for p in files)])
    try:
        template = load_channel_template(snapshot, c.template)
    except CopydeskError as exc:
        # preview fails only for a contact who is selected; so does decide_contact
        return _Entry(key, Compiled(cf, plan, None), watched, str(exc))
    renderer = MessageRenderer(c.channel, template, campaign_id=c.id)
    return _Entry(key, Compiled(cf, plan, renderer), watched, None)


def contact_record(obj: Any, *, field: str = "contact") -> dict[str, Any]:
    """A contact object typed as the JSONL reader types a row; 422 naming the field when
    a value cannot be used or ``contact_id`` is missing."""
    if not isinstance(obj, dict):
        raise ApiError(422, "invalid", "must be a JSON object", field=field)
    item = record_from_object(obj, 1, None)
    if isinstance(item, Reject):
        name = item.field or ("contact_id" if "contact_id" in item.reason else None)
        raise ApiError(422, "invalid", item.reason, field=f"{field}.{name}" if name else field)
    return item.data


def given_history(items: Iterable[Mapping[str, Any]], contact_id: str, campaign_id: str,
                  *, field: str = "history") -> list[SendRecord]:
    """The caller's send history for this contact, validated like a history file's rows
    (a send time before 2000 or in the future is refused, naming the item and field)."""
    out = []
    for i, raw in enumerate(items):
        data = dict(raw)
        given_id = data.pop("contact_id", contact_id)
        if given_id != contact_id:
            raise ApiError(422, "invalid", "is another contact's", field=f"{field}.{i}.contact_id")
        data.setdefault("campaign_id", campaign_id)
        try:
            rec = SendRecord.model_validate({"contact_id": contact_id, **data})
            sane_moment(rec.sent_at)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ApiError(422, "invalid", str(err["msg"]).removeprefix("Value error, "),
                           field=f"{field}.{i}.{where}" if where else f"{field}.{i}") from None
        except ValueError as exc:
            raise ApiError(422, "invalid", str(exc), field=f"{field}.{i}.sent_at") from None
        out.append(rec)
    return out


def decide_contact(
    state: ServerState, campaign_id: str, contact: dict[str, Any], history: list[SendRecord],
    *, now: datetime | None = None,
) -> Preview:
    """Decide and render for one typed contact (see the module docstring)."""
    moment = now or clock.now()
    found = compiled(state, campaign_id, moment)
    c = found.file.campaign
    records: list[SendRecord] = []
    if c.frequency_cap is not None:
        since = moment - timedelta(days=c.frequency_cap.per_days)
        records = contact_send_history(state.desk(), str(contact["contact_id"]), c.channel.value, since)
        records.extend(r for r in history if r.channel == c.channel and r.sent_at > since)
    d = found.plan.decide(contact, records, now=moment)
    result = Preview(d)
    if d.selected and d.variant is not None:
        if found.renderer is None:
            # as preview: a template that cannot be loaded is an error for the whole call
            raise ApiError(503, "template_invalid", f"campaign '{campaign_id}': its template cannot be used")
        result.fields = found.renderer.field_names
        try:
            result.rendered = found.renderer.render(d.variant, contact)
        except CopydeskError as exc:
            result.render_error = str(exc)
    return result


def decision_json(result: Preview, decided_at: datetime) -> dict[str, Any]:
    """One decision as the API answers it (and as ``tests/api`` compares it with
    ``preview``): outcome, reason, rule, variant, rendered message or render error, trace."""
    d = result.decision
    v = d.variant
    return {
        "campaign_id": d.campaign_id,
        "contact_id": d.contact_id,
        "decided_at": decided_at.isoformat(),
        "outcome": d.outcome.value,
        "reason": d.reason,
        "rule_id": d.rule_id,
        "variant": None if v is None else {
            "variant_id": v.variant_id, "revision": v.revision, "content_hash": v.content_hash,
            "brief_id": v.brief_id, "approved_by": v.approved_by, "approved_at": v.approved_at.isoformat(),
            "review_by": v.review_by.isoformat() if v.review_by else None,
        },
        "message": result.rendered,
        "render_error": result.render_error,
        "trace": [step.as_dict() for step in d.trace],
    }


__all__ = ["Compiled", "contact_record", "decide_contact", "decision_json", "given_history"]
