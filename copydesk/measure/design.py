"""What the campaign file says the report should find: the holdout share, each rule's
variant split, and the planned end.

The report's trust checks compare the recorded sends with this design (sample ratio
mismatch) and the moment the report is read with the planned end (peeking). The design
is read from the campaign file as it is now: if the file was edited while the campaign
ran (another holdout share, other weights), the checks compare with the new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from copydesk.rules.campaign import Campaign, VariantChoice, load_campaign


@dataclass(frozen=True)
class SplitPlan:
    """How one select rule (or the fallback) splits its recipients among variants.

    ``weights`` maps variant id to weight for a rule that lists ``ids`` (evenly when
    it gives no ``weights``); ``None`` means an even split among the variants the rule
    actually sent (a ``brief`` choice: which variants were approved is known on the
    day only). ``learnt`` rules (``allocate: thompson``) have no fixed ratio."""

    rule_id: str
    describe: str
    weights: Mapping[str, float] | None = None
    learnt: bool = False


@dataclass(frozen=True)
class Design:
    """The configured holdout share, split per rule, primary metric and planned end."""

    campaign_id: str
    source: str
    metric: str
    holdout_share: float
    splits: Mapping[str, SplitPlan] = field(default_factory=dict)
    ends_at: datetime | None = None


def _split_plan(rule_id: str, choice: VariantChoice) -> SplitPlan:
    if choice.allocate is not None:
        return SplitPlan(rule_id, choice.describe(), learnt=True)
    if choice.ids is None:
        return SplitPlan(rule_id, choice.describe())
    weights = choice.weights or [1.0] * len(choice.ids)
    # a variant with weight 0 is never sent: it is not part of the expected split
    kept = {vid: w for vid, w in zip(choice.ids, weights, strict=True) if w > 0}
    return SplitPlan(rule_id, choice.describe(), kept)


def design_of(campaign: Campaign, source: str) -> Design:
    """The design of ``campaign`` (read from ``source``)."""
    return Design(
        campaign_id=campaign.id,
        source=source,
        metric=campaign.metric,
        holdout_share=campaign.holdout,
        splits={rule_id: _split_plan(rule_id, choice) for rule_id, choice in campaign.choices},
        ends_at=campaign.ends_at,
    )


def load_design(campaigns_dir: Path, campaign_id: str) -> Design | None:
    """The design in ``campaigns_dir/CAMPAIGN_ID.yaml``, or ``None`` when there is no
    such file. An invalid file raises the loader's error (file, line and field)."""
    path = campaigns_dir / f"{campaign_id}.yaml"
    if not path.is_file():
        return None
    return design_of(load_campaign(path).campaign, str(path))
