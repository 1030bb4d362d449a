"""Bulk-import layouts for per-contact rendered content (``render --format NAME``).

Each platform imports a CSV whose identifier column it knows (Braze ``external_id``,
Iterable ``userId``, Klaviyo ``external_id``, Mailchimp ``Email Address``, SFMC
``SubscriberKey``, HubSpot ``Email``) and stores the other columns as attributes of that
contact. A preset writes one row per *selected* contact: the identifier, the rendered
content columns as ``copydesk_<column>`` and the approval (variant id, content hash,
campaign). Contacts that got no message (holdout, suppressed, capped...) are skipped.

``field_map`` says which column of the render output, or which contact field, feeds each
identifier column, e.g. ``{"Email Address": "email"}``; defaults are listed in
:data:`PLATFORMS`. A contact field (``email``) is copied from the audience row by the
render (:attr:`Preset.carry`); a selected contact with an empty identifier is a reject
for that row: a contact is never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from copydesk.channels import Channel
from copydesk.errors import InputError

#: Columns every render output row has (docs/reference/campaigns.md, output files).
OUTPUT_COLUMNS = frozenset({"contact_id", "campaign_id", "channel", "lifecycle_stage", "decision", "reason",
                            "rule_id", "variant_id", "revision", "content_hash", "campaign_sha256",
                            "snapshot_sha256", "decided_at"})
#: What a preset adds beside the content, so the approval travels with every row.
APPROVAL_COLUMNS = (("copydesk_variant_id", "variant_id"), ("copydesk_revision", "revision"),
                    ("copydesk_content_hash", "content_hash"), ("copydesk_campaign_id", "campaign_id"))
PREFIX = "copydesk_"


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform's import: identifier columns (with the default source column; the
    first is required), and the channels it sends."""

    name: str
    ids: tuple[tuple[str, str], ...]
    channels: frozenset[Channel] | None = None


PLATFORMS: dict[str, Platform] = {
    p.name: p for p in (
        Platform("braze", (("external_id", "contact_id"),)),
        Platform("iterable", (("userId", "contact_id"), ("email", "email"))),
        Platform("klaviyo", (("external_id", "contact_id"), ("email", "email"))),
        Platform("mailchimp", (("Email Address", "email"),), frozenset({Channel.EMAIL})),
        Platform("sfmc", (("SubscriberKey", "contact_id"), ("EmailAddress", "email"))),
        Platform("hubspot", (("Email", "email"), ("Record ID", "hubspot_record_id"))),
    )
}


@dataclass(frozen=True)
class Preset:
    """A platform's CSV layout: :attr:`columns` in order, :meth:`row` per output row."""

    platform: str
    columns: list[str]
    sources: tuple[tuple[str, str], ...]
    required: str
    #: contact fields an identifier column is read from (the render copies them into its rows)
    carry: tuple[str, ...] = ()

    def row(self, rendered_row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The import row of one render output row; ``None`` for a contact that got no
        message. Raises :class:`InputError` for a selected contact without an identifier."""
        if rendered_row.get("decision") != "selected":
            return None
        out = {column: _cell(rendered_row.get(source)) for column, source in self.sources}
        if out[self.required] == "":
            raise InputError(f"contact {rendered_row.get('contact_id')!r} has no value for "
                             f"{self.platform}'s {self.required} column")
        return out


def _cell(value: Any) -> Any:
    return "" if value is None else value


def preset(name: str, channel: Channel | str, renderer_columns: Sequence[str],
           field_map: Mapping[str, str] | None = None) -> Preset:
    """The import layout of platform ``name`` for a ``channel`` render whose content
    columns are ``renderer_columns`` (``MessageRenderer.columns``). ``field_map`` maps an
    identifier column to a render output column (``{"Email Address": "email"}``)."""
    platform = PLATFORMS.get(name)
    if platform is None:
        raise InputError(f"unknown render format '{name}'; use one of {', '.join(PLATFORMS)}")
    channel = Channel(channel)
    if platform.channels is not None and channel not in platform.channels:
        raise InputError(f"{name} does not send {channel.value} messages")
    given = dict(field_map or {})
    unknown = sorted(set(given) - {column for column, _ in platform.ids})
    if unknown:
        raise InputError(f"{name} has no identifier column {', '.join(unknown)}; "
                         f"its columns are {', '.join(c for c, _ in platform.ids)}")
    available = OUTPUT_COLUMNS | set(renderer_columns)
    sources: list[tuple[str, str]] = []
    carry: list[str] = []
    for i, (column, default) in enumerate(platform.ids):
        source = given.get(column, default)
        if source in available:
            sources.append((column, source))
        elif i == 0 or column in given:
            # a contact field (e.g. email): the render copies it from the audience row
            sources.append((column, source))
            carry.append(source)
    sources += [(PREFIX + c, c) for c in renderer_columns]
    sources += list(APPROVAL_COLUMNS)
    return Preset(name, [c for c, _ in sources], tuple(sources), sources[0][0], tuple(carry))
