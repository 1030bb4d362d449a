"""Campaign files: the YAML rule set for one send, validated with pydantic.

See docs/reference/campaigns.md for the format. :func:`load_campaign` reads a file and returns
the model together with the file's sha256, which every output row carries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from copydesk.channels import Channel, spec
from copydesk.errors import InputError
from copydesk.inputs import EARLIEST, to_utc
from copydesk.models import SLUG, FileModel
from copydesk.rules.allocate import OutcomeCounts
from copydesk.rules.conditions import TAG_PREFIX, Condition, check_depth
from copydesk.yamlio import line_of, parse_yaml

#: Reason ids the engine itself records; campaign rules may not reuse them.
RESERVED_IDS = frozenset(
    {"no-consent", "frequency-cap", "holdout", "no-eligible-variant", "fallback"}
)

#: Outcomes an allocating rule may learn from: yes/no per recipient (a Beta posterior).
ALLOCATION_METRICS = ("converted",)


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError("must be a slug: lower-case letters, digits and '-', at most 64")
    return value


class FrequencyCap(FileModel):
    """At most ``max`` messages on this channel per ``per_days`` days (send history)."""

    max: int = Field(ge=1)
    per_days: int = Field(ge=1)


class VariantChoice(FileModel):
    """Which approved variants a rule may send: all of a ``brief``, or listed ``ids``.

    Variants are split evenly, by ``weights`` (one per id), or, with ``allocate:
    thompson``, by weights learnt from imported outcomes on ``metric``, never below
    ``min_share`` each (see :mod:`copydesk.rules.allocate`)."""

    brief: str | None = None
    ids: list[str] | None = None
    weights: list[float] | None = None
    allocate: Literal["thompson"] | None = Field(
        default=None, description="learn the split from outcomes (Thompson sampling)"
    )
    metric: str | None = Field(
        default=None, description="the yes/no outcome the allocation learns from (default converted)"
    )
    min_share: float | None = Field(
        default=None, ge=0.0, le=1.0, allow_inf_nan=False,
        description="the least share any variant gets, at most 1/number of variants (default 0)",
    )

    @field_validator("metric")
    @classmethod
    def _yes_no_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in ALLOCATION_METRICS:
            raise ValueError(
                f"allocation learns from a yes/no outcome per recipient: use "
                f"{', '.join(ALLOCATION_METRICS)} (not '{value}')"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> VariantChoice:
        if (self.brief is None) == (self.ids is None):
            raise ValueError("give either 'brief' (a brief id) or 'ids' (variant ids), not both")
        if self.ids is not None:
            if not self.ids:
                raise ValueError("'ids' needs at least one variant id")
            if len(set(self.ids)) != len(self.ids):
                raise ValueError("'ids' lists a variant twice")
        if self.weights is not None:
            if self.ids is None:
                raise ValueError("'weights' need 'ids' (one weight per listed variant)")
            if len(self.weights) != len(self.ids):
                raise ValueError(
                    f"{len(self.weights)} weights for {len(self.ids)} ids; give one weight per id"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be 0 or more, and not all 0")
        self._check_allocation()
        return self

    def _check_allocation(self) -> None:
        if self.allocate is None:
            given = [name for name in ("metric", "min_share") if getattr(self, name) is not None]
            if given:
                raise ValueError(f"'{given[0]}' needs 'allocate: thompson'")
            return
        if self.weights is not None:
            raise ValueError("'weights' fix the split and 'allocate' learns it: give one, not both")
        # with a brief, the number of variants is only known on the day (approved ones)
        if self.ids is not None and self.min_share is not None and self.min_share > 1 / len(self.ids):
            raise ValueError(
                f"min_share {self.min_share:g} is more than 1/{len(self.ids)}: "
                f"{len(self.ids)} variants cannot each get it"
            )

    @property
    def learn_metric(self) -> str:
        """The metric an allocating choice learns from."""
        return self.metric or "converted"

    @property
    def floor(self) -> float:
        """The least share per variant asked for (0 when not given)."""
        return self.min_share or 0.0

    def describe(self) -> str:
        """Short text for traces: ``brief boots-onboarding`` or ``ids V1, V2``, with the
        allocation when there is one."""
        what = f"brief {self.brief}" if self.brief is not None else "ids " + ", ".join(self.ids or [])
        if self.allocate is not None:
            what += f", {self.allocate} on {self.learn_metric}"
            if self.floor:
                what += f", min share {self.floor:g}"
        return what


class SuppressRule(FileModel):
    """Contacts matching ``when`` get no message; ``id`` is recorded as the reason."""

    id: str
    description: str = ""
    when: Condition

    _id = field_validator("id")(_slug)
    _depth = field_validator("when", mode="before")(check_depth)


class SelectRule(FileModel):
    """First matching rule wins; ``when`` omitted matches everyone."""

    id: str
    description: str = ""
    when: Condition | None = None
    variants: VariantChoice

    _id = field_validator("id")(_slug)
    _depth = field_validator("when", mode="before")(check_depth)


class Campaign(FileModel):
    """A rule set for one send: eligibility, suppressions, selection, split, holdout, cap."""

    id: str
    description: str = ""
    metric: Literal["converted", "revenue"] = Field(
        default="converted",
        description="the primary metric the report judges this campaign on (never opens or clicks)",
    )
    channel: Channel
    template: str = Field(description="a channel template in templates/, e.g. email/default")
    holdout: float = Field(default=0.0, ge=0.0, lt=1.0)
    frequency_cap: FrequencyCap | None = None
    transactional: bool = Field(
        default=False, description="service messages: sent without marketing consent"
    )
    suppress: list[SuppressRule] = Field(default_factory=list)
    select: list[SelectRule] = Field(default_factory=list)
    fallback: VariantChoice | None = None
    ends_at: datetime | None = Field(
        default=None,
        description="the planned end (UTC; a date alone means 00:00 UTC that day); "
        "a report read before it says so (peeking)",
    )

    #: Outcome counts for the allocating rules: run-time data, never read from the file.
    _outcomes: OutcomeCounts | None = PrivateAttr(default=None)

    _id = field_validator("id")(_slug)

    @field_validator("ends_at", mode="before")
    @classmethod
    def _day_is_midnight(cls, value: Any) -> Any:
        # YAML reads 2026-04-30 as a date: the planned end is then the start of that day
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        return value

    @field_validator("ends_at")
    @classmethod
    def _ends_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        utc = to_utc(value)
        if utc < EARLIEST:
            raise ValueError(f"'{value.isoformat()}' is before {EARLIEST.date().isoformat()}")
        return utc

    @field_validator("template")
    @classmethod
    def _template_ref(cls, value: str) -> str:
        parts = value.split("/")
        if len(parts) != 2 or not all(SLUG.match(p) for p in parts):
            raise ValueError("must be CHANNEL/NAME, e.g. email/default")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Campaign:
        if self.template.split("/")[0] != self.channel.value:
            raise ValueError(
                f"template '{self.template}' is not a {self.channel.value} template "
                f"(use {self.channel.value}/NAME)"
            )
        if not self.select and self.fallback is None:
            raise ValueError("give at least one 'select' rule or a 'fallback'")
        seen: set[str] = set()
        for rule_id in [r.id for r in self.suppress] + [r.id for r in self.select]:
            if rule_id in RESERVED_IDS:
                raise ValueError(f"rule id '{rule_id}' is reserved; pick another")
            if rule_id in seen:
                raise ValueError(f"rule id '{rule_id}' is used twice")
            seen.add(rule_id)
        return self

    @property
    def choices(self) -> list[tuple[str, VariantChoice]]:
        """Every (rule id, variant choice) in file order, the fallback last."""
        out = [(rule.id, rule.variants) for rule in self.select]
        if self.fallback is not None:
            out.append(("fallback", self.fallback))
        return out

    @property
    def allocates(self) -> bool:
        """True when some rule learns its split from outcomes."""
        return any(choice.allocate is not None for _, choice in self.choices)

    @property
    def outcomes(self) -> OutcomeCounts | None:
        """The outcome counts attached by :meth:`with_outcomes`, if any."""
        return self._outcomes

    def with_outcomes(self, counts: OutcomeCounts | None) -> Campaign:
        """A copy carrying ``counts`` for its allocating rules. The services layer loads
        them; whatever builds a :class:`~copydesk.rules.decide.Plan` from the campaign
        alone (the render pipeline, its worker processes) then decides with them."""
        copy = self.model_copy()
        copy._outcomes = counts
        return copy

    @property
    def consent_field(self) -> str:
        """The contact field that must be true for a non-transactional send."""
        return spec(self.channel).consent_field


@dataclass(frozen=True)
class CampaignFile:
    """A loaded campaign with where it came from and the sha256 of its bytes."""

    campaign: Campaign
    path: Path
    sha256: str


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    return tuple(
        p
        for p in loc
        if not (isinstance(p, str) and (p.startswith(TAG_PREFIX) or p.startswith("function-")))
    )


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def parse_campaign(text: str, source: str) -> Campaign:
    """Validate campaign YAML ``text``; errors name ``source``, line and field."""
    data: Any = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise InputError("expected a mapping of fields at the top level", source=source, line=1)
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key gives "unknown field" and "field required": the first says more
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = _clean_loc(tuple(err["loc"]))
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif err["type"] == "union_tag_invalid":
            message = "not a condition: use {field: ..., is: ...} or all / any / not"
        more = len(errors) - 1
        if more:
            message += f" (and {more} more error{'s' if more > 1 else ''})"
        raise InputError(
            message, source=source, line=line_of(text, loc), field=_field_path(loc) or None
        ) from None


def load_campaign(path: Path | str) -> CampaignFile:
    """Read and validate a campaign file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a campaign file", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=str(path)) from None
    campaign = parse_campaign(text, str(path))
    return CampaignFile(campaign, path, hashlib.sha256(raw).hexdigest())
