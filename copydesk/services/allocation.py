"""Allocation that learns, read side: load what a campaign's learning rules learn from
(send records and imported outcomes, read-only) and hand it to the pure engine.

:func:`outcome_counts` feeds :func:`copydesk.rules.decide.decide` (preview, explain,
render, dry run); :func:`allocation_history` feeds the report's allocation-over-time
chart. Counting and history live in :mod:`copydesk.measure.allocation`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlite_utils

from copydesk.inputs import to_utc
from copydesk.measure.allocation import (
    AllocationData,
    AllocationHistory,
    FirstSend,
    count_outcomes,
    weights_history,
)
from copydesk.measure.outcomes import SENDS
from copydesk.measure.tables import OUTCOMES
from copydesk.rules.allocate import Allocation, OutcomeCounts
from copydesk.rules.campaign import Campaign, CampaignFile, load_campaign

if TYPE_CHECKING:
    from copydesk.services.desk import Desk


def _moment(text: object) -> datetime | None:
    """A stored ISO 8601 time as aware UTC, or ``None`` when it cannot be read (such a
    row is left out: it can neither be a trial nor a success)."""
    if not isinstance(text, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def load_allocation_data(db: sqlite_utils.Database, campaign_id: str, metric: str = "converted") -> AllocationData:
    """The campaign's recipients (first send per contact, as the report counts them),
    when each one's ``metric`` event first became known, and sends per day, rule and
    variant. Read-only."""
    recipients: dict[str, FirstSend] = {}
    daily: dict[tuple[date, str, str], int] = {}
    rows = db.execute(
        f"SELECT contact_id, rule_id, variant_id, holdout, sent_at FROM {SENDS} "
        "WHERE campaign_id = ? ORDER BY sent_at, id",
        [campaign_id],
    )
    for contact_id, rule_id, variant_id, holdout, sent_at in rows:
        at = _moment(sent_at)
        if at is None:
            continue
        if contact_id not in recipients:
            recipients[contact_id] = FirstSend(contact_id, rule_id, variant_id, bool(holdout), at)
        if not holdout and rule_id is not None and variant_id is not None:
            key = (at.date(), str(rule_id), str(variant_id))
            daily[key] = daily.get(key, 0) + 1
    known: dict[str, datetime] = {}
    if db.table(OUTCOMES).exists():
        # known = the later of when it happened and when it was imported; both are stored
        # as ISO 8601 UTC text, so the text order is the time order
        events = db.execute(
            f"SELECT contact_id, MIN(CASE WHEN imported_at > at THEN imported_at ELSE at END) FROM {OUTCOMES} "
            "WHERE campaign_id = ? AND event = ? GROUP BY contact_id",
            [campaign_id, metric],
        )
        for contact_id, first_known in events:
            moment = _moment(first_known)
            if moment is not None:
                known[contact_id] = moment
    return AllocationData(campaign_id, metric, list(recipients.values()), known, daily)


def _learn_metric(campaign: Campaign) -> str:
    # one metric can be learnt from today (converted); a second would need counts per metric
    (metric,) = {choice.learn_metric for _, choice in campaign.choices if choice.allocate is not None}
    return metric


def outcome_counts(desk: Desk, campaign: Campaign, day: date) -> OutcomeCounts | None:
    """What the campaign's learning rules learn from for allocating on ``day`` (``None``
    when no rule learns: nothing is read)."""
    if not campaign.allocates:
        return None
    return count_outcomes(load_allocation_data(desk.db, campaign.id, _learn_metric(campaign)), day)


def with_outcomes(desk: Desk, cf: CampaignFile, day: date) -> CampaignFile:
    """``cf`` with the outcome counts its learning rules need for ``day`` attached (the
    same file, unchanged, when no rule learns)."""
    counts = outcome_counts(desk, cf.campaign, day)
    if counts is None:
        return cf
    return CampaignFile(cf.campaign.with_outcomes(counts), cf.path, cf.sha256)


def allocations_on(desk: Desk, cf: CampaignFile, day: date) -> list[Allocation]:
    """The weights each learning rule splits by on ``day`` and the counts behind them
    (empty when no rule learns)."""
    from copydesk.rules.decide import Plan

    if not cf.campaign.allocates:
        return []
    campaign = with_outcomes(desk, cf, day).campaign
    return Plan.build(campaign, desk.approved_content(day), today=day).allocations


def allocation_history(desk: Desk, campaign_id: str) -> AllocationHistory | None:
    """Allocation over time for the report: the learning rules' weights on every send
    day, recomputed (see :mod:`copydesk.measure.allocation`). ``None`` when there is no
    campaign file ``campaigns/ID.yaml`` or none of its rules learns."""
    ws = desk.workspace
    if ws is None:
        return None
    path = ws.campaigns_dir / f"{campaign_id}.yaml"
    if not path.is_file():
        return None
    campaign = load_campaign(path).campaign
    if not campaign.allocates:
        return None
    return weights_history(campaign, load_allocation_data(desk.db, campaign.id, _learn_metric(campaign)))
