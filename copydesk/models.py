"""Domain models. Anything read from a file forbids unknown keys."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from copydesk.inputs import bad_character, to_utc
from copydesk.review_by import is_expired as lapsed
from copydesk.vocab import CHANNEL_FIELDS, Category, Channel, Role, Severity, Stage, Status

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class FileModel(BaseModel):
    """Base for models read from user files: unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _clean_text(value: Any) -> Any:
    """Text that reaches the library is valid Unicode without lone surrogates, NUL or
    control characters other than tab and newline (:mod:`copydesk.inputs`)."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            problem = bad_character(item)
            if problem:
                raise ValueError(problem)
    return value


class Segment(FileModel):
    """An audience segment: who the brief speaks to, described at segment level only."""

    name: str = Field(min_length=1)
    description: str = ""

    _text = field_validator("name", "description")(_clean_text)


class Brief(FileModel):
    """What to say to whom. Generation works on this; it never contains contact data."""

    id: str = Field(description="slug, e.g. boots-onboarding")
    title: str = ""
    segment: Segment
    stage: Stage
    channel: Channel
    goal: str = Field(min_length=1)
    key_message: str = Field(min_length=1)
    offer: str | None = Field(default=None, description="id of a registered offer or claim")
    tone_notes: str = ""
    must_include: list[str] = Field(default_factory=list)
    must_include_severity: Severity = Field(
        default=Severity.WARN, description="how a draft missing a must_include phrase is reported"
    )
    must_avoid: list[str] = Field(default_factory=list)
    personalization: list[str] = Field(
        default_factory=list, description="contact fields the copy may use as placeholders"
    )
    locale: str = "en-GB"
    variants: int = Field(default=3, ge=1, le=50)

    _text = field_validator(
        "title", "goal", "key_message", "offer", "tone_notes", "must_include", "must_avoid", "locale"
    )(_clean_text)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a slug: lower-case letters, digits and '-', at most 64")
        return value

    @field_validator("personalization")
    @classmethod
    def _identifiers(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"'{name}' is not a valid field name")
        return value

    def text_for_scan(self) -> dict[str, str]:
        """Every free-text part of the brief, keyed by a field path, for PII/injection scans."""
        parts = {
            "title": self.title,
            "segment.name": self.segment.name,
            "segment.description": self.segment.description,
            "goal": self.goal,
            "key_message": self.key_message,
            "offer": self.offer or "",
            "tone_notes": self.tone_notes,
        }
        for i, item in enumerate(self.must_include):
            parts[f"must_include[{i}]"] = item
        for i, item in enumerate(self.must_avoid):
            parts[f"must_avoid[{i}]"] = item
        return {k: v for k, v in parts.items() if v}


class Content(BaseModel):
    """The message fields of one revision for one channel."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    fields: dict[str, str]

    @model_validator(mode="after")
    def _known_fields(self) -> Content:
        allowed = CHANNEL_FIELDS[self.channel]
        unknown = sorted(set(self.fields) - set(allowed))
        if unknown:
            raise ValueError(
                f"{self.channel} has no field(s) {', '.join(unknown)}; "
                f"its fields are {', '.join(allowed)}"
            )
        for name in allowed:
            problem = bad_character(self.fields.get(name, ""))
            if problem:
                raise ValueError(f"field '{name}' {problem}")
        self.fields = {name: self.fields.get(name, "") for name in allowed}
        return self


class Finding(BaseModel):
    """One guardrail result. ``start``/``end`` index the original, un-normalised field text."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str
    category: Category
    severity: Severity
    field: str
    start: int
    end: int
    match: str
    message: str
    suggestion: str | None = None


class Waiver(BaseModel):
    """A reviewer's written decision that one block finding is a false positive."""

    rule_id: str
    field: str
    start: int
    end: int
    reason: str
    by: str
    at: datetime


class User(BaseModel):
    """A person who signs in. Passwords are stored only as salted hashes."""

    name: str
    roles: list[Role]
    created_at: datetime
    active: bool = True


class Revision(BaseModel):
    """One immutable version of a variant's text."""

    variant_id: str
    number: int
    content: Content
    content_hash: str
    author: str
    created_at: datetime
    provenance: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)


class Review(BaseModel):
    """An approval or rejection, bound to the exact revision hash it judged."""

    variant_id: str
    revision: int
    content_hash: str
    decision: str  # "approved" | "rejected"
    reviewer: str
    comment: str
    at: datetime
    review_by: date | None = None


class Variant(BaseModel):
    """A drafted message for a brief, with its current revision and review status."""

    id: str
    brief_id: str
    channel: Channel
    stage: Stage
    segment: str
    status: Status
    current: Revision
    approved_revision: int | None = None
    approved_hash: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    review_by: date | None = None
    created_at: datetime
    updated_at: datetime

    def is_expired(self, today: date) -> bool:
        """True when the review-by date has passed (:mod:`copydesk.review_by`)."""
        return lapsed(self.review_by, today)


class AuditEvent(BaseModel):
    """One append-only, hash-chained record of a state change."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class ApprovedContent(BaseModel):
    """An approved, unexpired, unretired revision: the only thing the rule engine,
    the renderer and the approved-content export may use (invariant 1)."""

    model_config = ConfigDict(frozen=True)

    variant_id: str
    brief_id: str
    revision: int
    content_hash: str
    channel: Channel
    stage: Stage
    segment: str
    fields: dict[str, str]
    approved_by: str
    approved_at: datetime
    review_by: date | None = None


class SendRecord(BaseModel):
    """One message that was sent, used by frequency caps and outcome measurement."""

    model_config = ConfigDict(extra="forbid")

    contact_id: str
    campaign_id: str
    channel: Channel
    variant_id: str | None = None
    content_hash: str | None = None
    rule_id: str | None = None
    holdout: bool = False
    sent_at: datetime

    @field_validator("sent_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # one time zone for everything stored and compared; a moment UTC cannot hold is refused
        return to_utc(value)
