"""Everything copydesk knows about a delivery channel, in one table.

A new channel is one :class:`Channel` member, one :data:`CHANNELS` entry here, and its
template files in ``templates/<channel>/`` (see docs/design.md, "Extending copydesk").
Everything else (the message model, the LLM output schema, the labelled-text reader,
the consent field the rule engine checks, the CLI's field options) derives from this.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    """Delivery channel; each has its own message fields."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    WEB = "web"
    AD = "ad"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One message field of a channel."""

    name: str
    #: What the field is, in the words the model and the writer see.
    description: str
    #: A variant must fill it.
    required: bool = False
    #: One line (subject, title...): the labelled-text reader ends it at the line's end.
    short: bool = False
    #: Other labels small models write for this field.
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel's fields (in display order), its main text field and its consent field."""

    channel: Channel
    fields: tuple[FieldSpec, ...]
    #: The field that holds the main text (unlabelled prose from a model goes here).
    main: str
    #: The contact field that must be true for a non-transactional send.
    consent_field: str

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


_BODY = ("body copy", "message body")

CHANNELS: dict[Channel, ChannelSpec] = {
    Channel.EMAIL: ChannelSpec(
        Channel.EMAIL,
        (
            FieldSpec("subject", "subject line", required=True, short=True,
                      synonyms=("subject line", "email subject")),
            FieldSpec("preheader", "preview text shown after the subject", short=True,
                      synonyms=("pre-header", "pre header", "preview", "preview text")),
            FieldSpec("body", "email body", required=True, synonyms=(*_BODY, "email body")),
            FieldSpec("cta", "call-to-action button text", short=True,
                      synonyms=("call to action", "call-to-action", "button", "cta text")),
        ),
        main="body",
        consent_field="consent_email",
    ),
    Channel.SMS: ChannelSpec(
        Channel.SMS,
        (FieldSpec("text", "the SMS text", required=True, synonyms=("sms", "sms text", "message")),),
        main="text",
        consent_field="consent_sms",
    ),
    Channel.PUSH: ChannelSpec(
        Channel.PUSH,
        (
            FieldSpec("title", "notification title", required=True, short=True,
                      synonyms=("push title", "notification title")),
            FieldSpec("body", "notification body", required=True, synonyms=_BODY),
        ),
        main="body",
        consent_field="consent_push",
    ),
    Channel.WEB: ChannelSpec(
        Channel.WEB,
        (
            FieldSpec("headline", "page headline", required=True, short=True, synonyms=("heading",)),
            FieldSpec("body", "body copy", required=True, synonyms=_BODY),
            FieldSpec("cta", "call-to-action text", short=True,
                      synonyms=("call to action", "call-to-action", "button", "cta text")),
        ),
        main="body",
        consent_field="consent_web",
    ),
    Channel.AD: ChannelSpec(
        Channel.AD,
        (
            FieldSpec("headline", "ad headline", required=True, short=True, synonyms=("heading",)),
            FieldSpec("description", "ad description line", required=True,
                      synonyms=("ad description",)),
        ),
        main="description",
        consent_field="consent_ad",
    ),
}


def spec(channel: Channel | str) -> ChannelSpec:
    """The spec of ``channel``."""
    return CHANNELS[Channel(channel)]


def channel_fields(channel: Channel | str) -> tuple[str, ...]:
    """The message fields of ``channel``, in display order."""
    return spec(channel).field_names


def all_field_names() -> tuple[str, ...]:
    """Every field name any channel has, first-seen order (the CLI's field options)."""
    seen: dict[str, None] = {}
    for s in CHANNELS.values():
        for name in s.field_names:
            seen.setdefault(name, None)
    return tuple(seen)


#: The message fields of each channel, in display order.
CHANNEL_FIELDS: dict[Channel, tuple[str, ...]] = {c: s.field_names for c, s in CHANNELS.items()}
#: Fields a variant must fill; the rest may be empty.
REQUIRED_FIELDS: dict[Channel, tuple[str, ...]] = {c: s.required for c, s in CHANNELS.items()}
