"""The policy-pack file format: pydantic models of packs, brand registries and rules.

Everything read from a pack forbids unknown keys, so a misspelt option is an error
naming file, line and rule rather than a rule that silently does nothing. Rule types
follow Vale (existence, substitution, occurrence, conditional, capitalization,
readability) and Presidio (pii), plus pattern, proximity, length, template and
invisible. Every rule carries inline ``tests`` (see :class:`RuleTests`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class Existence(RuleBase):
    """Flag any of ``terms`` (whole words unless ``whole_words`` is off), except
    inside one of ``exceptions``. ``obfuscations`` also catches l33t spellings,
    masked vowels and separators (``f*ck``, ``s.h.i.t``)."""

    type: Literal["existence"]
    terms: list[str] = Field(min_length=1)
    exceptions: list[str] = Field(default_factory=list)
    whole_words: bool = True
    obfuscations: bool = False


class Substitution(RuleBase):
    """Flag a term and suggest the preferred one: ``swap: {bad: good}``."""

    type: Literal["substitution"]
    swap: dict[str, str] = Field(min_length=1)
    exceptions: list[str] = Field(default_factory=list)


class Occurrence(RuleBase):
    """Flag ``token`` (a literal) beyond ``max`` occurrences in one field."""

    type: Literal["occurrence"]
    token: str = Field(min_length=1)
    max: int = Field(ge=0)


class Pattern(RuleBase):
    """Flag matches of a regular expression (RE2 syntax: linear time, no backreferences)."""

    type: Literal["pattern"]
    pattern: str = Field(min_length=1)
    ignorecase: bool = True
    exceptions: list[str] = Field(default_factory=list)


class Capitalization(RuleBase):
    """Shouting: runs of all-capital words. Words in ``allow`` and acronyms up to
    ``acronym_max`` letters (GPS, UV) are fine."""

    type: Literal["capitalization"]
    allow: list[str] = Field(default_factory=list)
    acronym_max: int = Field(default=3, ge=0)
    min_words: int = Field(default=1, ge=1, description="capital words in a row to flag")


class Proximity(RuleBase):
    """Flag a term within ``window`` words of an anchor in the same sentence, e.g.
    a second-person anchor ("you", "your") near a sensitive term."""

    type: Literal["proximity"]
    anchors: list[str] = Field(min_length=1)
    terms: list[str] = Field(min_length=1)
    window: int = Field(default=4, ge=1)
    exceptions: list[str] = Field(default_factory=list)


class Conditional(RuleBase):
    """If any ``when`` term appears in the message, one of ``requires`` must too."""

    type: Literal["conditional"]
    when: list[str] = Field(min_length=1)
    requires: list[str] = Field(min_length=1)


class Readability(RuleBase):
    """Flesch-Kincaid grade above ``max_grade``, on texts of at least ``min_words``."""

    type: Literal["readability"]
    max_grade: float = 9.0
    min_words: int = Field(default=60, ge=10)


class Length(RuleBase):
    """A length limit for one channel field: characters or SMS segments.

    Placeholders count as ``placeholder_chars`` characters each (a typical value)."""

    type: Literal["length"]
    channel: Channel
    field: str
    max: int = Field(ge=1)
    unit: Literal["chars", "segments"] = "chars"
    placeholder_chars: int = Field(default=10, ge=0)


class Pii(RuleBase):
    """Personal data found by Presidio pattern recognizers (no NLP model)."""

    type: Literal["pii"]
    entities: dict[str, float] = Field(min_length=1, description="Presidio entity -> minimum score to report")
    phone_regions: list[str] = Field(default_factory=lambda: ["GB", "US"])


class Template(RuleBase):
    """Placeholder safety: allow-listed variables and filters, a default on each
    placeholder, no attribute access, calls, loops, imports; syntax errors reported."""

    type: Literal["template"]


class Invisible(RuleBase):
    """Invisible characters (zero-width, bidirectional controls) in the original text."""

    type: Literal["invisible"]
    bidi_only: bool = False


Rule = Annotated[
    Existence
    | Substitution
    | Occurrence
    | Pattern
    | Capitalization
    | Proximity
    | Conditional
    | Readability
    | Length
    | Pii
    | Template
    | Invisible,
    Field(discriminator="type"),
]


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


class Pack(Strict):
    """One policy pack file."""

    pack: str = Field(description="the pack's name")
    description: str = ""
    extends: list[str] = Field(default_factory=list, description="pack files, relative paths")
    disable: list[str] = Field(default_factory=list, description="inherited rule ids to drop")
    brand: Brand | None = None
    personalization: Personalization | None = None
    grounding: Grounding | None = None
    rules: list[Rule] = Field(default_factory=list)
