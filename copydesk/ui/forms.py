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


def _brief_data(values: dict[str, Any]) -> dict[str, Any]:
    return {
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


def brief_from_form(values: dict[str, Any]) -> Brief:
    """Build a :class:`Brief` from the Briefs form. ``must_include``/``must_avoid`` are
    one item per line; ``personalization`` is comma-separated; errors name the field."""
    data = _brief_data(values)
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


#: The Briefs form's fields, core first: label, and whether a brief needs it.
BRIEF_FIELDS: dict[str, tuple[str, bool]] = {
    "goal": ("Goal", True),
    "key_message": ("Key message", True),
    "id": ("Id (slug)", True),
    "title": ("Title", False),
    "segment_name": ("Segment name", True),
    "segment_description": ("Segment description", False),
    "stage": ("Lifecycle stage", True),
    "channel": ("Channel", True),
    "offer": ("Offer (optional)", False),
    "tone_notes": ("Tone notes", False),
    "must_include": ("Must include (one per line)", False),
    "must_avoid": ("Must avoid (one per line)", False),
    "personalization": ("Personalization fields (comma-separated)", False),
    "locale": ("Locale", False),
    "variants": ("Variants to draft", False),
}
#: Key in the error dict for a problem that belongs to no single field.
WHOLE_FORM = "_form"


def _form_key(loc: tuple[Any, ...]) -> str:
    if not loc:
        return WHOLE_FORM
    if loc[0] == "segment":
        return "segment_name" if len(loc) < 2 or loc[1] == "name" else "segment_description"
    return str(loc[0]) if str(loc[0]) in BRIEF_FIELDS else WHOLE_FORM


def _plain(key: str, err: Any) -> str:
    """A validation error in plain words."""
    kind, message = err["type"], str(err["msg"]).removeprefix("Value error, ")
    if kind == "missing" or (kind == "string_too_short" and err.get("ctx", {}).get("min_length") == 1):
        return "required: please fill this in"
    if key == "id":
        return ("must be a slug: lower-case letters, digits and '-' only, at most 64 characters "
                "(e.g. autumn-socks)")
    if key == "variants":
        return "a whole number from 1 to 50"
    if key in ("stage", "channel"):
        return "pick one from the list"
    if key == "personalization":
        return message + " (letters, digits and _ only, e.g. first_name)"
    return message


def brief_form_errors(values: dict[str, Any]) -> dict[str, str]:
    """Every problem of the Briefs form at once, in plain words, keyed by form field
    (``id``, ``segment_name``, ``goal``...; :data:`WHOLE_FORM` for the rest). Empty: valid."""
    out: dict[str, str] = {}
    if not str(values.get("id", "")).strip():
        out["id"] = "required: please fill this in"
    try:
        brief_from_form(values)
    except InputError:
        pass
    else:
        return out
    try:
        Brief.model_validate(_brief_data(values))
    except ValidationError as exc:
        for err in exc.errors():
            key = _form_key(tuple(err["loc"]))
            out.setdefault(key, _plain(key, err))
    return out


def save_error_field(exc: InputError) -> tuple[str, str]:
    """Where a problem found on saving belongs in the form, and in plain words (no CLI advice)."""
    if "already exists" in exc.reason:
        return "id", "a brief with this id exists already: pick it under 'Start from' to edit it, or choose another id"
    field = exc.field if exc.field in BRIEF_FIELDS else WHOLE_FORM
    return field or WHOLE_FORM, exc.reason
