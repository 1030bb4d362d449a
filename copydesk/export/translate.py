"""One approved variant in one platform dialect, with its approval travelling along.

Every field is parsed (:mod:`copydesk.export.parse`) and each part written by the
dialect. A placeholder the dialect cannot write faithfully, one without a default
(copydesk rejects a contact without the field; a platform would print an empty value) or
a field with no platform attribute is an :class:`Untranslatable`, never dropped. The
channel's main field starts with a comment carrying the approval where the platform has
comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from copydesk.channels import Channel, spec
from copydesk.export.dialect import Dialect, Unsupported, Untranslatable, comment_text
from copydesk.export.parse import ParseProblem, Part, Placeholder, parse_text
from copydesk.models import ApprovedContent

#: Fields whose text lands in HTML (copydesk's HTML templates escape the values there).
HTML_FIELDS: dict[Channel, frozenset[str]] = {
    Channel.EMAIL: frozenset({"preheader", "body", "cta"}),
    Channel.WEB: frozenset({"headline", "body", "cta"}),
}


def is_html(channel: Channel | str, name: str) -> bool:
    """True when field ``name`` of ``channel`` is HTML content (email body, web copy)."""
    return name in HTML_FIELDS.get(Channel(channel), frozenset())


@dataclass
class Translation:
    """A variant's fields in one dialect, the platform attribute of every field it uses,
    and what could not be translated (empty when the whole variant could)."""

    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    problems: list[Untranslatable] = field(default_factory=list)


def approval_comment(item: ApprovedContent) -> str:
    """The approval as one line of comment-safe text."""
    review_by = item.review_by.isoformat() if item.review_by else "none"
    return comment_text(
        f"copydesk variant {item.variant_id} revision {item.revision} approval {item.content_hash} "
        f"approved by {item.approved_by} review-by {review_by}"
    )


def translate_text(dialect: Dialect, parts: list[Part], field_map: Mapping[str, str], *,
                   html: bool, attributes: dict[str, str]) -> tuple[str, list[ParseProblem]]:
    """``parts`` written in ``dialect``, and every part that cannot be written."""
    out: list[str] = []
    problems: list[ParseProblem] = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            before = i + 1 < len(parts) and isinstance(parts[i + 1], Placeholder)
            after = i > 0 and isinstance(parts[i - 1], Placeholder)
            try:
                out.append(dialect.literal(part, after_placeholder=after, before_placeholder=before))
            except Unsupported as exc:
                problems.append(ParseProblem(part, str(exc)))
            continue
        if part.fallback is None:
            problems.append(ParseProblem(part.source, f"no default: copydesk rejects a contact without "
                                         f"'{part.field}', {dialect.title} would print an empty value"))
            continue
        try:
            attr = dialect.attribute(part.field, field_map.get(part.field))
            out.append(dialect.placeholder(part, attr, html=html))
        except Unsupported as exc:
            problems.append(ParseProblem(part.source, str(exc)))
            continue
        attributes[part.field] = attr
    return "".join(out), problems


def translate(dialect: Dialect, item: ApprovedContent, field_map: Mapping[str, str]) -> Translation:
    """Every field of ``item`` in ``dialect``; problems name variant, field and placeholder."""
    result = Translation()
    main = spec(item.channel).main
    for name, text in item.fields.items():
        try:
            parts = parse_text(text)
        except ParseProblem as exc:
            result.problems.append(Untranslatable(item.variant_id, name, exc.placeholder, exc.reason))
            continue
        written, problems = translate_text(dialect, parts, field_map, html=is_html(item.channel, name),
                                           attributes=result.attributes)
        result.problems += [Untranslatable(item.variant_id, name, p.placeholder, p.reason) for p in problems]
        comment = dialect.comment(approval_comment(item)) if name == main else None
        result.fields[name] = (comment or "") + written
    return result
