"""``policy eval``: measure a policy against a labelled set of drafts.

A compliance owner changing a pack sees what the change does before it goes live:
per-category precision and recall, the share of clean drafts flagged, and every miss
and false alarm. Each line of the set is one JSON object::

    {"id": "urg-007", "channel": "email", "fields": {"subject": "...", "body": "..."},
     "brief": {...}, "expect": ["urgency"], "note": "why"}

``expect`` lists the finding categories a correct policy raises at ``warn`` or
``block`` (``[]``: a clean draft that must raise nothing at those severities).
``brief`` is optional; with one, grounding and the brief's must-include and
must-avoid lists apply, as they do when a draft is generated for it. Its ``id`` and
``channel`` default to the row's. A malformed line is reported with its line and
field and the other lines are still evaluated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copydesk.errors import InputError
from copydesk.guardrails.engine import Policy
from copydesk.guardrails.pack import EvalThresholds
from copydesk.inputs import bad_character, json_object
from copydesk.models import Brief, Finding
from copydesk.vocab import CHANNEL_FIELDS, Category, Channel, Severity

#: Findings at these severities count as "flagged"; ``info`` is advice, not an alarm.
FLAGGING = frozenset({Severity.WARN, Severity.BLOCK})


class EvalCase(BaseModel):
    """One labelled draft."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    channel: Channel
    fields: dict[str, str]
    brief: dict[str, Any] | None = None
    expect: list[Category] = Field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Case:
    """A case ready to check: its validated brief, if any."""

    id: str
    channel: Channel
    fields: dict[str, str]
    brief: Brief | None
    expect: frozenset[Category]
    note: str
    line: int


@dataclass
class Outcome:
    """What the policy raised on one case."""

    case: Case
    findings: list[Finding]

    @property
    def flagged(self) -> frozenset[Category]:
        return frozenset(f.category for f in self.findings if f.severity in FLAGGING)


@dataclass
class CategoryScore:
    """Counts for one category: true positives, misses, false alarms."""

    category: str
    expected: int = 0
    caught: int = 0
    false_alarms: int = 0

    @property
    def recall(self) -> float | None:
        return self.caught / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        raised = self.caught + self.false_alarms
        return self.caught / raised if raised else None


@dataclass
class EvalReport:
    """The result of :func:`evaluate`."""

    source: str
    thresholds: EvalThresholds
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)

    @property
    def scores(self) -> list[CategoryScore]:
        table: dict[str, CategoryScore] = {}
        for out in self.outcomes:
            for cat in out.case.expect | out.flagged:
                score = table.setdefault(cat.value, CategoryScore(cat.value))
                if cat in out.case.expect:
                    score.expected += 1
                    score.caught += cat in out.flagged
                else:
                    score.false_alarms += 1
        return sorted(table.values(), key=lambda s: s.category)

    @property
    def clean(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.case.expect]

    @property
    def clean_flagged(self) -> list[Outcome]:
        return [o for o in self.clean if o.flagged]

    @property
    def flagged_clean_share(self) -> float | None:
        return len(self.clean_flagged) / len(self.clean) if self.clean else None

    def misses(self) -> list[tuple[Outcome, Category]]:
        """Expected categories the policy did not raise."""
        return [(o, c) for o in self.outcomes for c in sorted(o.case.expect - o.flagged)]

    def false_alarms(self) -> list[tuple[Outcome, Finding]]:
        """Flagging findings in a category the case does not expect."""
        return [
            (o, f) for o in self.outcomes for f in o.findings
            if f.severity in FLAGGING and f.category not in o.case.expect
        ]

    def failures(self) -> list[str]:
        """Why the policy falls short of its thresholds (empty: it meets them)."""
        out = []
        t = self.thresholds
        for s in self.scores:
            if s.recall is not None and s.recall < t.min_recall:
                out.append(f"{s.category}: recall {s.recall:.2f} < {t.min_recall:.2f}")
            if s.precision is not None and s.precision < t.min_precision:
                out.append(f"{s.category}: precision {s.precision:.2f} < {t.min_precision:.2f}")
        share = self.flagged_clean_share
        if share is not None and share > t.max_flagged_clean:
            out.append(f"clean drafts flagged {share:.1%} > {t.max_flagged_clean:.1%}")
        if not self.outcomes:
            out.append("no case could be evaluated")
        return out

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "source": self.source,
            "cases": len(self.outcomes),
            "clean": len(self.clean),
            "flagged_clean": len(self.clean_flagged),
            "flagged_clean_share": self.flagged_clean_share,
            "thresholds": self.thresholds.model_dump(),
            "categories": [
                {"category": s.category, "expected": s.expected, "caught": s.caught,
                 "false_alarms": s.false_alarms, "recall": s.recall, "precision": s.precision}
                for s in self.scores
            ],
            "misses": [
                {"id": o.case.id, "line": o.case.line, "category": c.value,
                 "raised": sorted(x.value for x in o.flagged), "note": o.case.note}
                for o, c in self.misses()
            ],
            "false_alarms": [
                {"id": o.case.id, "line": o.case.line, "rule_id": f.rule_id, "category": f.category.value,
                 "severity": f.severity.value, "field": f.field, "match": f.match}
                for o, f in self.false_alarms()
            ],
            "problems": [str(p) for p in self.problems],
            "failures": self.failures(),
        }


def _case(raw: bytes, source: str, line: int) -> Case:
    data = json_object(raw)
    if isinstance(data, str):
        raise InputError(data, source=source, line=line)
    try:
        item = EvalCase.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(err["msg"], source=source, line=line, field=where) from None
    allowed = CHANNEL_FIELDS[item.channel]
    for name, value in item.fields.items():
        if name not in allowed:
            raise InputError(f"{item.channel.value} has no field '{name}'; its fields are {', '.join(allowed)}",
                             source=source, line=line, field=f"fields.{name}")
        problem = bad_character(value)
        if problem:
            raise InputError(problem, source=source, line=line, field=f"fields.{name}")
    brief = None
    if item.brief is not None:
        spec = {"id": "eval-brief", "channel": item.channel.value, **item.brief}
        try:
            brief = Brief.model_validate(spec)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in ("brief", *err["loc"]))
            raise InputError(err["msg"], source=source, line=line, field=where) from None
    return Case(item.id, item.channel, dict(item.fields), brief, frozenset(item.expect), item.note, line)


def load_cases(path: Path) -> tuple[list[Case], list[InputError]]:
    """The cases of a JSON Lines file, and one error per line that could not be read."""
    source = str(path)
    try:
        raw_lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        raise InputError("file not found", source=source) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=source) from None
    cases: list[Case] = []
    problems: list[InputError] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            case = _case(raw.removeprefix(b"\xef\xbb\xbf") if i == 1 else raw, source, i)
        except InputError as exc:
            problems.append(exc)
            continue
        if case.id in seen:
            problems.append(InputError(f"duplicate id '{case.id}'", source=source, line=i, field="id"))
            continue
        seen.add(case.id)
        cases.append(case)
    return cases, problems


def evaluate(policy: Policy, cases: Sequence[Case], *, source: str = "",
             problems: Iterable[InputError] = ()) -> EvalReport:
    """Check every case with ``policy`` and score the findings against the labels."""
    report = EvalReport(source, policy.evaluation, problems=list(problems))
    for case in cases:
        found = policy.check(case.channel, case.fields, brief=case.brief)
        report.outcomes.append(Outcome(case, found))
    return report


def category_counts(cases: Iterable[Case]) -> Mapping[str, int]:
    """How many cases expect each category, and how many are clean."""
    counts: Counter[str] = Counter()
    for case in cases:
        if not case.expect:
            counts["clean"] += 1
        for cat in case.expect:
            counts[cat.value] += 1
    return dict(sorted(counts.items()))
