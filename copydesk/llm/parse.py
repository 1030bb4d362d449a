"""Turn a model reply into a validated draft.

Two readers: JSON (first object in the reply, code fences tolerated) and a labelled
text format (``SUBJECT: ...`` lines, multi-line values, markdown decoration
tolerated; prose without labels as a last resort) for small models that write
labels more reliably than JSON. Whatever was
asked for, both are tried; the error of the preferred one is what the re-ask quotes.

A draft that fits the schema must also be copy (:mod:`copydesk.llm.copycheck`): no
chat, markup, labels, template slots or JSON debris in a field, and within the
channel's length budget. Whether the reply was complete (``finish_reason``) is the
caller's to check, before parsing: :func:`check_finished`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import ValidationError

from copydesk.channels import Channel, spec
from copydesk.llm import copycheck
from copydesk.llm.client import Completion
from copydesk.llm.schemas import Draft, draft_model, output_keys

Style = Literal["json", "labelled"]

#: Other names small models use for the rationale label (field synonyms live in the channel table).
RATIONALE_SYNONYMS = ("reason", "reasoning")


class OutputInvalid(ValueError):
    """The reply could not be read as a valid draft. ``str()`` is what the re-ask quotes."""

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class OutputTruncated(OutputInvalid):
    """The reply stopped at the token cap: whatever it holds is incomplete."""


def check_finished(completion: Completion, channel: Channel | str) -> None:
    """Raise when the endpoint says the reply is not a whole answer: cut off at the token
    cap (:class:`OutputTruncated`, whose message asks for the channel's target lengths),
    stopped by a content filter, or refused."""
    if completion.refusal:
        raise OutputInvalid(f"the model refused: {completion.refusal[:200]}", raw=completion.text)
    if completion.truncated:
        tokens = completion.usage.completion_tokens
        hidden = completion.usage.reasoning_tokens
        spent = f" after {tokens} completion tokens" if tokens else ""
        if hidden:
            spent += f", {hidden} of them hidden reasoning"
        raise OutputTruncated(
            f"the reply was cut off at the token limit{spent} (finish_reason "
            f"'{completion.finish_reason}'), so it is incomplete. Write a shorter reply: "
            f"{copycheck.tighter(channel)}",
            raw=completion.text,
        )
    if completion.finish_reason == "content_filter":
        raise OutputInvalid("the endpoint's content filter stopped the reply", raw=completion.text)


def _strip_fences(text: str) -> str:
    return re.sub(r"```[a-zA-Z]*", "", text)


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``; raises OutputInvalid with the decoder's error."""
    body = _strip_fences(text)
    decoder = json.JSONDecoder()
    first_error: json.JSONDecodeError | None = None
    for match in re.finditer(r"\{", body):
        try:
            value, _ = decoder.raw_decode(body, match.start())
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
            continue
        if isinstance(value, dict):
            return value
    if first_error is not None:
        raise OutputInvalid(
            f"the reply is not valid JSON: {first_error.msg} at line {first_error.lineno} "
            f"column {first_error.colno}",
            raw=text,
        )
    raise OutputInvalid("the reply contains no JSON object", raw=text)


def _label_pattern(channel: Channel | str) -> tuple[re.Pattern[str], dict[str, str]]:
    names: dict[str, str] = {}
    for f in spec(channel).fields:
        names[f.name] = f.name
        for alias in f.synonyms:
            names[alias] = f.name
    names["rationale"] = "rationale"
    for alias in RATIONALE_SYNONYMS:
        names[alias] = "rationale"
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(
        rf"^[\s>#*_\-\d.)]*(?P<label>{alternation})[\s*_]*(?:\([^)]*\))?[\s*_]*:\s*(?P<rest>.*)$",
        re.IGNORECASE,
    )
    return pattern, names


_ECHOED_HINT = re.compile(r"^\([^()]{1,80}\)\s*[:,.\-–—]?\s*")


def _clean(value: str) -> str:
    value = value.strip().strip("*_").strip()
    # small models echo the prompt's "(field description)" hint before the text
    value = _ECHOED_HINT.sub("", value, count=1).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


def parse_labelled(text: str, channel: Channel | str) -> dict[str, str]:
    """Read ``LABEL: value`` lines. A long field's value runs until the next label; a
    short one (subject, title...) is one line, and unlabelled lines after it are the main
    text when that has no label. A repeated label ends the read (the model began a second
    draft). Prose before the first label fills required fields the labels left out."""
    pattern, names = _label_pattern(channel)
    found: dict[str, list[str]] = {}
    preamble: list[str] = []
    overflow: list[str] = []
    channel_spec = spec(channel)
    main = channel_spec.main
    short = {f.name for f in channel_spec.fields if f.short} | {"rationale"}
    current: str | None = None
    for line in _strip_fences(text).splitlines():
        match = pattern.match(line)
        if match:
            key = names[match.group("label").lower()]
            if key in found:
                break
            found[key] = [match.group("rest")]
            current = key
        elif current is not None and current not in short:
            found[current].append(line)
        elif current is not None and main not in found:
            overflow.append(line)  # a short field is one line; what follows is the main text
        elif current is None:
            preamble.append(line)
    data = {key: _clean("\n".join(lines)) for key, lines in found.items()}
    if not data.get(main) and "".join(overflow).strip():
        data[main] = _clean("\n".join(overflow))
    if data and any(not data.get(f) for f in channel_spec.required):
        for key, value in parse_unlabelled("\n".join(preamble), channel).items():
            data.setdefault(key, value)
            if not data[key]:
                data[key] = value
    return data


def parse_unlabelled(text: str, channel: Channel | str) -> dict[str, str]:
    """Last resort for prose without labels: a one-field channel takes the whole text;
    otherwise a short first line is the headline-like field and the rest the body."""
    fields = spec(channel).field_names
    lines = [ln.strip() for ln in _strip_fences(text).strip().splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return {}
    if len(fields) == 1:
        return {fields[0]: _clean("\n".join(lines))}
    head, rest = _clean(lines[0]), "\n".join(lines[1:]).strip()
    if len(head) > 120:  # one long paragraph: its first sentence is the head
        sentence = re.match(r"(.{10,120}?[.!?])\s+(.+)", lines[0], re.DOTALL)
        if sentence is None:
            return {}
        head, rest = sentence.group(1), (sentence.group(2) + "\n" + rest).strip()
    if not rest:
        return {}
    return {fields[0]: head, spec(channel).main: rest}


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)


def validate_draft(data: dict[str, Any], channel: Channel | str, *, raw: str) -> Draft:
    """Validate a decoded reply against the channel's schema, then check that its
    fields are copy (:func:`copydesk.llm.copycheck.problems`)."""
    model = draft_model(channel)
    if not isinstance(data, dict):
        raise OutputInvalid("the reply must be one JSON object", raw=raw)
    data = {k: ("" if v is None else v) for k, v in data.items()}
    try:
        draft = model.model_validate(data)
    except ValidationError as exc:
        raise OutputInvalid(
            f"the reply does not match the {Channel(channel).value} schema: "
            f"{_validation_message(exc)}",
            raw=raw,
        ) from None
    issues = copycheck.problems(draft.fields(), channel)
    if issues:
        raise OutputInvalid("the reply is not usable copy: " + "; ".join(issues), raw=raw)
    return draft


def parse_reply(text: str, channel: Channel | str, *, prefer: Style = "json") -> Draft:
    """The draft in ``text``. Tries the preferred reader first, then the other; on
    failure raises the preferred reader's error (it matches what the prompt asked for)."""
    if not text.strip():
        raise OutputInvalid("the reply was empty", raw=text)
    order: tuple[Style, ...] = ("json", "labelled") if prefer == "json" else ("labelled", "json")
    errors: list[OutputInvalid] = []
    for style in order:
        try:
            if style == "json":
                data: dict[str, Any] = extract_json(text)
            else:
                data = parse_labelled(text, channel) or parse_unlabelled(text, channel)
                if not data:
                    raise OutputInvalid(
                        "no labelled fields found; start each field on its own line as "
                        + ", ".join(f"{k.upper()}:" for k in output_keys(channel)),
                        raw=text,
                    )
            return validate_draft(data, channel, raw=text)
        except OutputInvalid as exc:
            errors.append(exc)
    raise errors[0]
