"""The policy-pack file format: pydantic models of packs, brand registries and rules.

Everything read from a pack forbids unknown keys, so a misspelt option is an error
naming file, line and rule rather than a rule that silently does nothing. Every rule
has the fields of :class:`RuleBase`, including inline ``tests`` (see
:class:`RuleTests`); the options of each rule type are declared by that type's module
in :mod:`copydesk.guardrails.rules`, which a pack's ``type`` selects. Rule types
follow Vale (existence, substitution, occurrence, conditional, capitalization,
readability) and Presidio (pii), plus pattern, proximity, length, template and
invisible.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, SerializeAsAny, field_validator, model_validator

from copydesk.vocab import Category, Channel, Severity

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")


class Strict(BaseModel):
    """Base for pack models: unknown keys are errors; whitespace is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TestCase(Strict):
    """One inline test: a text for one field, or several fields of one message."""

    text: str | None = None
    channel: Channel | None = None
    field: str | None = None
    fields: dict[str, str] | None = None
    match: str | None = Field(default=None, description="the matched text the rule must report")

    @model_validator(mode="after")
    def _one_input(self) -> TestCase:
        if (self.text is None) == (self.fields is None):
            raise ValueError("give either 'text' or 'fields'")
        return self


def _as_case(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


class RuleTests(Strict):
    """``fire``: inputs the rule must flag; ``pass``: inputs it must leave alone."""

    fire: list[TestCase] = Field(default_factory=list)
    pass_: list[TestCase] = Field(default_factory=list, alias="pass")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("fire", "pass_", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [_as_case(v) for v in value]
        return value


Scope = Literal["draft", "brief"]


def _drafts_only() -> list[Scope]:
    return ["draft"]


class RuleBase(Strict):
    """Fields every rule has."""

    id: str
    category: Category
    severity: Severity = Severity.WARN
    message: str = Field(description="shown to the writer; '{match}' is replaced by the match")
    suggestion: str | None = None
    channels: list[Channel] = Field(default_factory=list, description="empty: every channel")
    fields: list[str] = Field(default_factory=list, description="empty: every field")
    applies_to: list[Scope] = Field(default_factory=_drafts_only)
    tests: RuleTests = Field(default_factory=RuleTests)

    @field_validator("id")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("rule ids are lower-case letters, digits, '.', '_' and '-'")
        return value


def _registered_rule(value: Any) -> RuleBase:
    # imported here: the rule modules import this one
    from copydesk.guardrails.rules import validate_rule

    return validate_rule(value)


#: A rule of a pack: validated by the spec model its ``type`` names in the rule
#: registry (:mod:`copydesk.guardrails.rules.registry`), and dumped with that
#: model's fields too.
RuleSpec = Annotated[RuleBase, PlainValidator(_registered_rule), SerializeAsAny()]


class Offer(Strict):
    """A registered offer a brief may name by id."""

    id: str
    text: str = Field(min_length=1)
    terms: str = ""


class Claim(Strict):
    """A registered product claim and the disclaimer it requires."""

    id: str
    text: str = Field(min_length=1, description="the claim as it may appear in copy")
    terms: list[str] = Field(default_factory=list, description="wordings that make the claim")
    disclaimer: str = ""
    severity: Severity = Severity.BLOCK

    def triggers(self) -> list[str]:
        """The wordings that count as making this claim."""
        return self.terms or [self.text]


class Brand(Strict):
    """The brand's registries: what copy may state as fact."""

    name: str | None = None
    locale: str | None = None
    products: list[str] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)


class Personalization(Strict):
    """Template variables and filters a draft may use."""

    variables: list[str] = Field(default_factory=list)
    filters: list[str] = Field(default_factory=lambda: ["default"])


class Grounding(Strict):
    """Settings of the grounding check (facts must come from brief, offer or registry)."""

    enabled: bool = True
    severity: Severity = Severity.BLOCK
    product_nouns: list[str] = Field(default_factory=list)
    offer_terms: list[str] = Field(default_factory=list)


class EvalThresholds(Strict):
    """What a pack promises on its evaluation set (``evaluation:`` in a pack)."""

    min_recall: float = Field(default=0.95, ge=0, le=1, description="per category")
    min_precision: float = Field(default=0.0, ge=0, le=1, description="per category")
    max_flagged_clean: float = Field(default=0.03, ge=0, le=1, description="share of clean drafts flagged")


class Pack(Strict):
    """One policy pack file."""

    pack: str = Field(description="the pack's name")
    description: str = ""
    extends: list[str] = Field(default_factory=list, description="pack files, relative paths")
    disable: list[str] = Field(default_factory=list, description="inherited rule ids to drop")
    brand: Brand | None = None
    personalization: Personalization | None = None
    grounding: Grounding | None = None
    evaluation: EvalThresholds | None = Field(
        default=None, description="thresholds `copydesk policy eval` holds this policy to"
    )
    rules: list[RuleSpec] = Field(default_factory=list)
