"""The fixed vocabularies: lifecycle stages, channels and their fields, roles, statuses."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Lifecycle stage a brief speaks to."""

    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    DORMANT = "dormant"
    LOYAL = "loyal"


class Channel(StrEnum):
    """Delivery channel; each has its own message fields."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    WEB = "web"
    AD = "ad"


#: The message fields of each channel, in display order.
CHANNEL_FIELDS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("subject", "preheader", "body", "cta"),
    Channel.SMS: ("text",),
    Channel.PUSH: ("title", "body"),
    Channel.WEB: ("headline", "body", "cta"),
    Channel.AD: ("headline", "description"),
}

#: Fields a variant must fill; the rest may be empty.
REQUIRED_FIELDS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("subject", "body"),
    Channel.SMS: ("text",),
    Channel.PUSH: ("title", "body"),
    Channel.WEB: ("headline", "body"),
    Channel.AD: ("headline", "description"),
}


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


def channel_fields(channel: Channel | str) -> tuple[str, ...]:
    """Return the message fields of ``channel``."""
    return CHANNEL_FIELDS[Channel(channel)]
