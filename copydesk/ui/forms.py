"""Form values to domain objects, with validation messages that name the field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from copydesk.errors import InputError
from copydesk.models import Brief


def lines(text: str) -> list[str]:
    """Non-empty lines of a text area, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def names(text: str) -> list[str]:
    """Comma- or line-separated names, stripped."""
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def brief_from_form(values: dict[str, Any]) -> Brief:
    """Build a :class:`Brief` from the Briefs form. ``must_include``/``must_avoid`` are
    one item per line; ``personalization`` is comma-separated; errors name the field."""
    data = {
        "id": str(values.get("id", "")).strip(),
        "title": values.get("title", ""),
        "segment": {"name": values.get("segment_name", ""), "description": values.get("segment_description", "")},
        "stage": values.get("stage"),
        "channel": values.get("channel"),
        "goal": values.get("goal", ""),
        "key_message": values.get("key_message", ""),
        "offer": str(values.get("offer") or "").strip() or None,
        "tone_notes": values.get("tone_notes", ""),
        "must_include": lines(values.get("must_include", "")),
        "must_avoid": lines(values.get("must_avoid", "")),
        "personalization": names(values.get("personalization", "")),
        "locale": str(values.get("locale") or "en-GB").strip(),
        "variants": values.get("variants", 3),
    }
    try:
        return Brief.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InputError(message, field=field) from None


def brief_to_form(brief: Brief) -> dict[str, Any]:
    """The Briefs form values of an existing brief (inverse of :func:`brief_from_form`)."""
    return {
        "id": brief.id,
        "title": brief.title,
        "segment_name": brief.segment.name,
        "segment_description": brief.segment.description,
        "stage": brief.stage.value,
        "channel": brief.channel.value,
        "goal": brief.goal,
        "key_message": brief.key_message,
        "offer": brief.offer or "",
        "tone_notes": brief.tone_notes,
        "must_include": "\n".join(brief.must_include),
        "must_avoid": "\n".join(brief.must_avoid),
        "personalization": ", ".join(brief.personalization),
        "locale": brief.locale,
        "variants": brief.variants,
    }
