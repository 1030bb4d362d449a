"""The fixed vocabularies: lifecycle stages, roles, statuses, severities, categories.

Channels and their fields live in :mod:`copydesk.channels` (re-exported here)."""

from __future__ import annotations

from enum import StrEnum

from copydesk.channels import CHANNEL_FIELDS, REQUIRED_FIELDS, Channel, channel_fields


class Stage(StrEnum):
    """Lifecycle stage a brief speaks to."""

    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    DORMANT = "dormant"
    LOYAL = "loyal"


class Role(StrEnum):
    """What a user may do. A person can hold several roles."""

    COPYWRITER = "copywriter"
    REVIEWER = "reviewer"
    MARKETER = "marketer"
    ADMIN = "admin"


class Status(StrEnum):
    """Where a variant is in review. ``expired`` is derived from the review-by date."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETIRED = "retired"


class Severity(StrEnum):
    """How serious a guardrail finding is. ``block`` stops submit and approve."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


class Category(StrEnum):
    """The fixed finding categories, so reports and charts can group findings."""

    PII = "pii"
    SPECIAL_CATEGORY = "special_category"
    CLAIMS = "claims"
    DISCLAIMER = "disclaimer"
    URGENCY = "urgency"
    COMPETITOR = "competitor"
    PROFANITY = "profanity"
    TONE = "tone"
    TERMINOLOGY = "terminology"
    LENGTH = "length"
    READABILITY = "readability"
    TEMPLATE = "template"
    INJECTION = "injection"
    #: a fact (number, offer, product) the brief, its offer and the registries do not hold
    GROUNDING = "grounding"
    #: a phrase the brief requires is missing
    MUST_INCLUDE = "must_include"
    #: prompt or instruction text leaked into generated copy
    LEAK = "leak"


__all__ = [
    "CHANNEL_FIELDS", "REQUIRED_FIELDS", "Category", "Channel", "Role", "Severity", "Stage", "Status",
    "channel_fields",
]
