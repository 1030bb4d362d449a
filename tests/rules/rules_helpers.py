"""Builders for approved content, campaigns and contacts used by the rule-engine tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from copydesk.models import ApprovedContent
from copydesk.rules.campaign import Campaign

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def content(
    variant_id: str,
    brief_id: str,
    *,
    channel: str = "email",
    review_by: date | None = None,
    revision: int = 1,
    fields: dict[str, str] | None = None,
) -> ApprovedContent:
    if fields is None:
        fields = (
            {"subject": f"{variant_id} subject", "body": "Hello {{ first_name | default('there') }}"}
            if channel == "email"
            else {"text": f"{variant_id} text"}
            if channel == "sms"
            else {"title": "t", "body": "b"}
        )
    return ApprovedContent(
        variant_id=variant_id,
        brief_id=brief_id,
        revision=revision,
        content_hash=f"{variant_id}-{revision}".ljust(64, "0"),
        channel=channel,
        stage="active",
        segment="walkers",
        fields=fields,
        approved_by="rita",
        approved_at=datetime(2026, 1, 5, tzinfo=UTC),
        review_by=review_by,
    )


LIBRARY = [
    content("V1", "boots-onboarding"),
    content("V2", "boots-onboarding"),
    content("V12", "rewards-loyal"),
    content("V13", "rewards-loyal"),
    content("V20", "spring-generic"),
    content("V30", "winback-dormant"),
]


def campaign(**overrides: Any) -> Campaign:
    data: dict[str, Any] = {
        "id": "spring-boots",
        "channel": "email",
        "template": "email/default",
        "holdout": 0.0,
        "suppress": [
            {
                "id": "no-reactivation-for-recent-buyers",
                "when": {
                    "all": [
                        {"field": "lifecycle_stage", "is": "dormant"},
                        {"field": "last_purchase_at", "within_days": 30},
                    ]
                },
            },
            {"id": "no-beginner-content-for-experts", "when": {"field": "skill_level", "in": ["advanced", "expert"]}},
        ],
        "select": [
            {
                "id": "new-customers",
                "when": {"field": "lifecycle_stage", "is": "onboarding"},
                "variants": {"brief": "boots-onboarding"},
            },
            {
                "id": "loyal",
                "when": {"all": [{"field": "lifecycle_stage", "is": "loyal"}, {"field": "orders", "gte": 3}]},
                "variants": {"ids": ["V12", "V13"], "weights": [70, 30]},
            },
        ],
        "fallback": {"brief": "spring-generic"},
    }
    data.update(overrides)
    return Campaign.model_validate(data)


def contact(cid: str = "C1", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "contact_id": cid,
        "first_name": "Amelia",
        "lifecycle_stage": "active",
        "skill_level": "beginner",
        "orders": 1,
        "consent_email": True,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}
