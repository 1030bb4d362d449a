"""The structured output the model must return: one pydantic model per channel,
derived from the channel table (:mod:`copydesk.channels`)."""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from copydesk.channels import CHANNEL_FIELDS, CHANNELS, REQUIRED_FIELDS, Channel, ChannelSpec
from copydesk.llm.client import ResponseSchema

RATIONALE_MAX = 400
_WORD = re.compile(r"[^\W\d_]{2,}")


class Draft(BaseModel):
    """Base of the channel drafts: message fields plus a short ``rationale``.

    Locally, optional fields (``preheader``, ``cta``, ``rationale``) may be missing;
    the schema sent to the endpoint still requires every key (strict mode)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    channel: ClassVar[Channel]

    rationale: str = Field(default="", description="one sentence: why this angle fits the brief")

    @model_validator(mode="after")
    def _filled(self) -> Draft:
        empty = [f for f in REQUIRED_FIELDS[self.channel] if not getattr(self, f)]
        if empty:
            raise ValueError(f"required field(s) empty: {', '.join(empty)}")
        wordless = [f for f in CHANNEL_FIELDS[self.channel]
                    if getattr(self, f) and not _WORD.search(getattr(self, f))]
        echoed = [f for f in CHANNEL_FIELDS[self.channel]
                  if getattr(self, f).lower().removeprefix("the ").strip(" .")
                  == (type(self).model_fields[f].description or "").lower()]
        if echoed:
            raise ValueError(f"field(s) repeat the instruction instead of copy: "
                             f"{', '.join(echoed)}; write the actual text")
        if wordless:
            raise ValueError(f"field(s) with no words, only a placeholder: {', '.join(wordless)}; "
                             "write the actual text")
        if len(self.rationale) > RATIONALE_MAX:  # a note for the reviewer, not copy
            self.rationale = self.rationale[: RATIONALE_MAX - 1] + "…"
        return self

    def fields(self) -> dict[str, str]:
        """The channel's message fields in display order (rationale excluded)."""
        return {name: getattr(self, name) for name in CHANNEL_FIELDS[self.channel]}


def _model(spec: ChannelSpec) -> type[Draft]:
    definitions: dict[str, Any] = {
        f.name: (str, Field(default=... if f.required else "", description=f.description))
        for f in spec.fields
    }
    model = create_model(f"{spec.channel.value.capitalize()}Draft", __base__=Draft, **definitions)
    model.channel = spec.channel
    return model


#: One output model per channel, derived from :data:`copydesk.channels.CHANNELS`.
DRAFT_MODELS: dict[Channel, type[Draft]] = {c: _model(s) for c, s in CHANNELS.items()}


def draft_model(channel: Channel | str) -> type[Draft]:
    """The output model for ``channel``."""
    return DRAFT_MODELS[Channel(channel)]


def output_keys(channel: Channel | str) -> tuple[str, ...]:
    """Keys the model must return, in the order the prompt lists them."""
    return (*CHANNEL_FIELDS[Channel(channel)], "rationale")


def response_schema(channel: Channel | str) -> ResponseSchema:
    """The JSON schema sent as ``response_format``: strict-mode compatible (every key
    required, no additional properties, no length keywords — lengths are the
    guardrails' job and validation happens locally anyway)."""
    model = draft_model(channel)
    schema: dict[str, Any] = copy.deepcopy(model.model_json_schema())
    props = schema.get("properties", {})
    ordered = {key: props[key] for key in output_keys(channel)}
    for prop in ordered.values():
        prop.pop("title", None)
        for keyword in ("minLength", "maxLength", "default"):
            prop.pop(keyword, None)
    return ResponseSchema(
        name=f"{Channel(channel).value}_draft",
        schema={
            "type": "object",
            "properties": ordered,
            "required": list(ordered),
            "additionalProperties": False,
        },
    )
