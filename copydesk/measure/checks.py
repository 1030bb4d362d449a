"""Trust checks: is the data fit to judge, and is it time to judge?

- **Sample ratio mismatch (SRM).** The holdout share and each rule's variant split
  are fixed by the campaign file, so the recorded recipients must follow them up to
  chance. Pearson's chi-square tests that; below p = 0.001 the assignment or the
  records are broken (sends lost, contacts recorded twice, the file edited
  mid-campaign), every comparison is suspect and the report withholds its verdicts.
- **Peeking.** Intervals are valid for one look at a planned end (``ends_at`` in the
  campaign file); a report read before it says so.
- **Winsorising** (optional): revenue per recipient capped at a stated percentile, so
  one huge order cannot decide a revenue comparison; the raw figures stay beside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel

from copydesk.measure import stats
from copydesk.measure.comparisons import MinimumCounts, p_clause
from copydesk.measure.design import Design, SplitPlan
from copydesk.measure.recipients import Recipient

#: Below this p-value the sample ratio is a mismatch: at 0.001 a healthy campaign is
#: flagged about once in a thousand checks, while real breakage gives p far smaller.
SRM_ALPHA = 0.001
#: Pearson's chi-square needs expected counts of about 5 or more per cell.
MIN_EXPECTED = 5.0
NO_VARIANT = "(no variant)"


class SrmCheck(BaseModel):
    """One sample-ratio check: observed recipients against the configured shares."""

    check: str
    observed: dict[str, int]
    expected_share: dict[str, float]
    statistic: float | None = None
    df: int | None = None
    p_value: float | None = None
    mismatch: bool = False
    summary: str = ""


class Peeking(BaseModel):
    """When the report was read against the campaign's planned end."""

    read_at: datetime
    ends_at: datetime | None = None
    early: bool = False
    note: str = ""


class Winsorizing(BaseModel):
    """Revenue capped at ``percentile`` of the revenue of recipients with revenue
    (all arms pooled, so every arm gets the same cap)."""

    percentile: float
    cap: float | None
    capped: int
    note: str


class TestCount(BaseModel):
    """How many distinct tests the report makes (rows with the same recipients and
    baseline count once)."""

    primary: int
    harm: int
    head_to_head: int

    @property
    def against_holdout(self) -> int:
        return self.primary + self.harm


class Checks(BaseModel):
    """All trust checks of one report."""

    srm: list[SrmCheck]
    srm_not_checked: list[str]
    srm_alpha: float = SRM_ALPHA
    mismatch: bool
    minimum: MinimumCounts
    peeking: Peeking
    winsorizing: Winsorizing | None = None
    tests: TestCount


def _chi_square(check: str, observed: dict[str, int], shares: dict[str, float], described: str) -> SrmCheck | str:
    total = sum(observed.values())
    low = min(total * share for share in shares.values())
    if low < MIN_EXPECTED:
        return (f"{check}: too few recipients to check (expected {low:.1f} in the smallest group, "
                f"needs {MIN_EXPECTED:g})")
    result = stats.goodness_of_fit([observed[k] for k in shares], list(shares.values()))
    mismatch = result.p_value < SRM_ALPHA
    parts = ", ".join(
        f"{key} {observed[key]:,} ({observed[key] / total:.2%}, configured {share:.2%})"
        for key, share in shares.items()
    )
    summary = (
        f"{check} ({described}): {parts}; chi-square {result.statistic:.2f}, {result.df:.0f} df, "
        f"{p_clause(result.p_value)}: " + ("MISMATCH" if mismatch else "consistent with the configuration")
    )
    return SrmCheck(
        check=check, observed=observed, expected_share=shares, statistic=result.statistic,
        df=int(result.df or 0), p_value=result.p_value, mismatch=mismatch, summary=summary,
    )


def holdout_check(holdout: int, treated: int, share: float) -> SrmCheck | str:
    """The holdout share of all recipients against the configured ``share``; a reason
    string when it cannot be checked."""
    if share <= 0:
        if holdout:
            return SrmCheck(
                check="holdout share", observed={"holdout": holdout, "messaged": treated},
                expected_share={"holdout": 0.0, "messaged": 1.0}, mismatch=True,
                summary=f"holdout share: {holdout:,} holdout recipients recorded, but the campaign file has "
                "no holdout: MISMATCH (was the file changed, or are these sends from another campaign?)",
            )
        return "holdout share: the campaign has no holdout, so there is no share to check"
    shares = {"holdout": share, "messaged": 1.0 - share}
    return _chi_square("holdout share", {"holdout": holdout, "messaged": treated}, shares, f"holdout: {share:g}")


def split_check(plan: SplitPlan, observed: Mapping[str, int]) -> SrmCheck | str | None:
    """A rule's variant split against its configuration; a reason string when it cannot
    be checked; ``None`` when there is nothing to check (one variant, as configured)."""
    check = f"split of rule {plan.rule_id}"
    if plan.learnt:
        return f"{check}: learns its split from outcomes ({plan.describe}): no fixed ratio to check"
    if plan.weights is None:
        if len(observed) < 2:
            return None
        shares = {vid: 1.0 / len(observed) for vid in sorted(observed)}
        return _chi_square(check, dict(observed), shares, f"{plan.describe}: even among the variants it sent")
    unknown = sorted(set(observed) - set(plan.weights))
    if unknown:
        return (f"{check}: sent {', '.join(unknown)}, which its ids do not list (was the campaign file "
                "changed?); split not checked")
    missing = [vid for vid in plan.weights if vid not in observed]
    sent = {vid: w for vid, w in plan.weights.items() if vid in observed}
    if len(sent) < 2:
        return None if not missing else (
            f"{check}: only {', '.join(sent) or 'nothing'} sent ({', '.join(missing)} never sent, perhaps not "
            "approved while sending); nothing to compare")
    total = sum(sent.values())
    result = _chi_square(check, {vid: observed[vid] for vid in sent}, {vid: w / total for vid, w in sent.items()},
                         plan.describe + (f"; {', '.join(missing)} never sent, left out" if missing else ""))
    return result


def sample_ratio(design: Design | None, recipients: Sequence[Recipient]) -> tuple[list[SrmCheck], list[str]]:
    """Every sample-ratio check the design allows, and what could not be checked (and why)."""
    if design is None:
        return [], ["no campaign file for this campaign: the configured holdout share and splits are unknown, "
                    "so the sample ratio was not checked"]
    checks: list[SrmCheck] = []
    skipped: list[str] = []
    holdout = sum(1 for r in recipients if r.holdout)
    outcome = holdout_check(holdout, len(recipients) - holdout, design.holdout_share)
    if isinstance(outcome, SrmCheck):
        checks.append(outcome)
    else:
        skipped.append(outcome)
    by_rule: dict[str, dict[str, int]] = {}
    no_rule = 0
    for r in recipients:
        if r.holdout:
            continue
        if r.rule_id is None:
            no_rule += 1
            continue
        counts = by_rule.setdefault(r.rule_id, {})
        key = r.variant_id or NO_VARIANT
        counts[key] = counts.get(key, 0) + 1
    for rule_id, observed in sorted(by_rule.items()):
        plan = design.splits.get(rule_id)
        if plan is None:
            skipped.append(f"split of rule {rule_id}: not in the campaign file (renamed or removed?); not checked")
            continue
        found = split_check(plan, observed)
        if isinstance(found, SrmCheck):
            checks.append(found)
        elif found is not None:
            skipped.append(found)
    if no_rule:
        skipped.append(f"{no_rule:,} messaged recipients have no rule recorded: their split was not checked")
    return checks, skipped


def peeking(design: Design | None, now: datetime) -> Peeking:
    """Whether the report is read before the campaign's planned end."""
    ends_at = design.ends_at if design is not None else None
    if ends_at is None:
        return Peeking(
            read_at=now,
            note="no planned end (ends_at) in the campaign file: the report cannot tell an early look from the "
            "final one. Decide the run length before looking; stopping at the first 'wins' finds chance wins.",
        )
    stamp = "%Y-%m-%d %H:%M UTC"
    if now < ends_at:
        left = ends_at - now
        days = left.days + (1 if left.seconds else 0)
        return Peeking(
            read_at=now, ends_at=ends_at, early=True,
            note=f"EARLY LOOK: read {now.strftime(stamp)}, before the planned end {ends_at.strftime(stamp)} "
            f"({days} day(s) left). The intervals are for one look at the planned end: checking repeatedly and "
            "stopping at the first 'wins' makes a chance win far likelier than 5%. Decide at the planned end.",
        )
    return Peeking(read_at=now, ends_at=ends_at,
                   note=f"read after the planned end ({ends_at.strftime(stamp)}): the look the intervals are for")


def winsorizing(recipients: Sequence[Recipient], percentile: float) -> Winsorizing:
    """The cap at ``percentile`` of the revenue of recipients with revenue (all arms pooled)."""
    values = [r.revenue for r in recipients if r.revenue > 0]
    if not values:
        return Winsorizing(percentile=percentile, cap=None, capped=0, note="no revenue recorded: nothing to cap")
    cap = stats.percentile(values, percentile)
    capped = sum(1 for v in values if v > cap)
    return Winsorizing(
        percentile=percentile, cap=cap, capped=capped,
        note=f"revenue winsorised: each recipient's revenue capped at {cap:,.2f}, the {percentile:g}th percentile "
        f"of the {len(values):,} recipients with revenue (all arms pooled); {capped:,} recipient(s) capped. "
        "Revenue figures and verdicts use the capped values; raw figures are shown beside them.",
    )


def tests_note(tests: TestCount, confidence: float) -> str:
    """The multiple-comparison note: distinct tests and the chance findings to expect."""
    alpha = 1.0 - confidence
    total = tests.against_holdout
    text = (
        f"Comparisons with the holdout are {confidence:.0%} intervals, not adjusted for multiple comparisons: "
        f"this report makes {total} distinct test(s) against the holdout ({tests.primary} on the primary metric, "
        f"{tests.harm} harm tests on unsubscribes and complaints; rows with the same recipients and baseline "
        f"count once), so expect about {alpha * total:.1f} significant result(s) by chance even when nothing "
        "differs."
    )
    if tests.head_to_head:
        text += (f" Head-to-head variant comparisons are Holm-adjusted over their {tests.head_to_head} test(s), "
                 f"keeping the chance of any false 'beats' at {alpha:.0%}.")
    return text
