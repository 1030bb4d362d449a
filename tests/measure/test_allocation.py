"""Allocation that learns, proven in simulation and seen end to end.

The simulation uses the engine's own pieces (holdout and split hashes, outcome
counting, Thompson weights) with known true conversion rates: V1 2%, V2 3%, V3 4%,
holdout 1.5%; 10% holdout, ``min_share`` 0.1, 1,500 new contacts a day for 20 days.
Each contact draws, in order, a uniform number and a delay from the run's seeded world:
it converts when the number falls below its arm's rate, 0-3 days after the send, and
the conversion is imported at 06:00 the next day, so it steers the split from the day
after that. Same world, same draws whatever the arm: runs with and without learning
compare like with like.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import pytest

from copydesk import clock
from copydesk.measure.allocation import (
    AllocationData,
    FirstSend,
    allocation_chart,
    allocation_lines,
    allocation_rows,
    count_outcomes,
    weights_history,
)
from copydesk.rules.allocate import ArmCounts, allocate
from copydesk.rules.assign import cumulative, in_holdout, split_index
from copydesk.rules.campaign import parse_campaign
from copydesk.workspace import Workspace

RATES = {"V1": 0.02, "V2": 0.03, "V3": 0.04}
BEST = "V3"
HOLDOUT_RATE = 0.015
HOLDOUT = 0.1
MIN_SHARE = 0.1
DAYS = 20
PER_DAY = 1500
SEEDS = 16
START = date(2026, 3, 2)
RULE = "welcome"


@dataclass
class Run:
    """One simulated campaign: the weights per day, who got what, who converted."""

    weights: list[tuple[float, ...]] = field(default_factory=list)
    sent: list[Counter[str]] = field(default_factory=list)
    arm: dict[str, str] = field(default_factory=dict)  # contact -> variant id or "holdout"
    converted: set[str] = field(default_factory=set)
    delay: dict[str, int] = field(default_factory=dict)  # converter -> days after the send

    def n(self, arm: str) -> int:
        return sum(1 for a in self.arm.values() if a == arm)

    def rate(self, arms: set[str]) -> float:
        members = [c for c, a in self.arm.items() if a in arms]
        return sum(c in self.converted for c in members) / len(members)

    @property
    def treated(self) -> list[str]:
        return [a for a in self.arm.values() if a != "holdout"]

    def lift(self) -> float:
        """What the report estimates: treated conversion rate minus the holdout's."""
        return self.rate(set(RATES)) - self.rate({"holdout"})

    def true_lift(self) -> float:
        """The lift of the copy actually sent, from the true rates."""
        treated = self.treated
        return sum(RATES[v] for v in treated) / len(treated) - HOLDOUT_RATE

    def regret(self) -> float:
        """Expected conversions lost against sending the best variant to every treated recipient."""
        return sum(RATES[BEST] - RATES[v] for v in self.treated)


@cache
def simulate(seed: int, *, learn: bool = True) -> Run:
    campaign_id = f"sim-{seed}"
    world = random.Random(seed)  # two draws per contact, in contact order, whatever the arm
    run = Run()
    recipients: list[FirstSend] = []
    known: dict[str, datetime] = {}
    variants = list(RATES)
    for d in range(DAYS):
        day = START + timedelta(days=d)
        if learn:
            counts = count_outcomes(AllocationData(campaign_id, "converted", recipients, known), day)
            weights = allocate(campaign_id, RULE, variants, counts.for_rule(RULE), day=day,
                               min_share=MIN_SHARE).weights
        else:
            weights = (1 / 3,) * 3
        run.weights.append(weights)
        cum = cumulative(weights)
        sent_at = datetime.combine(day, time(9), tzinfo=UTC)
        today: Counter[str] = Counter()
        for i in range(PER_DAY):
            contact = f"d{d:02d}-{i}"
            held = in_holdout(campaign_id, contact, HOLDOUT)
            arm = "holdout" if held else variants[split_index(campaign_id, contact, RULE, cum)]
            run.arm[contact] = arm
            today[arm] += 1
            recipients.append(FirstSend(contact, None if held else RULE, None if held else arm, held, sent_at))
            converts, delay = world.random(), world.randrange(4)
            if converts < (HOLDOUT_RATE if held else RATES[arm]):
                run.converted.add(contact)
                run.delay[contact] = delay
                known[contact] = datetime.combine(day + timedelta(days=delay + 1), time(6), tzinfo=UTC)
        run.sent.append(today)
    return run


def runs() -> list[Run]:
    return [simulate(seed) for seed in range(SEEDS)]


def test_allocation_converges_to_the_best_variant() -> None:
    finals, shares = [], []
    for run in runs():
        final = dict(zip(RATES, run.weights[-1], strict=True))
        assert max(final, key=lambda v: final[v]) == BEST and final[BEST] >= 0.5
        finals.append(final[BEST])
        last = run.sent[-1]
        shares.append(last[BEST] / (last.total() - last["holdout"]))
    # at most 0.8: the other two keep min_share 0.1 each
    assert statistics.mean(finals) >= 0.75 and statistics.mean(shares) >= 0.75
    # by day 10 the best variant has the largest weight in most runs
    assert sum(max(range(3), key=lambda i: r.weights[9][i]) == 2 for r in runs()) >= 0.8 * SEEDS


def test_min_share_is_respected_every_day() -> None:
    for run in runs():
        for weights in run.weights:
            assert min(weights) >= MIN_SHARE - 1e-12 and sum(weights) == pytest.approx(1)
        for sent in run.sent:
            treated = sent.total() - sent["holdout"]
            # realised shares scatter around the weights (1,350 treated a day)
            assert all(sent[v] / treated >= MIN_SHARE - 0.03 for v in RATES)


def test_the_holdout_is_the_same_contacts_with_or_without_learning() -> None:
    learnt, even = simulate(0), simulate(0, learn=False)
    held = {c for c, a in learnt.arm.items() if a == "holdout"}
    assert held == {c for c, a in even.arm.items() if a == "holdout"}
    assert learnt.rate({"holdout"}) == even.rate({"holdout"})
    assert learnt.weights != even.weights


def _mean_and_se(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) / len(values) ** 0.5


def test_the_lift_against_the_holdout_stays_unbiased() -> None:
    # the report's lift minus the true lift of the copy actually sent, over the runs
    mean, se = _mean_and_se([run.lift() - run.true_lift() for run in runs()])
    assert abs(mean) < 3 * se, (mean, se)  # se is mostly the holdout's sampling noise
    # against the same worlds split evenly (same holdout, same outcomes): only learning differs
    paired = [(run.lift() - run.true_lift()) - (even.lift() - even.true_lift())
              for run, even in zip(runs(), [simulate(seed, learn=False) for seed in range(SEEDS)], strict=True)]
    p_mean, p_se = _mean_and_se(paired)
    assert abs(p_mean) < 3 * p_se and abs(p_mean) < 0.001, (p_mean, p_se)


def test_regret_is_well_below_an_even_split() -> None:
    learnt = statistics.mean(run.regret() for run in runs())
    even = statistics.mean(simulate(seed, learn=False).regret() for seed in range(SEEDS))
    treated = statistics.mean(len(run.treated) for run in runs())
    assert even == pytest.approx(0.01 * treated, rel=0.05)  # 1 point lost per recipient
    assert learnt < 0.55 * even
    # the floor alone costs (0.1 x 2 + 0.1 x 1) points per recipient once converged
    assert learnt > 0.003 * treated * 0.8


def test_same_inputs_same_assignment() -> None:
    simulate.cache_clear()
    first = simulate(5)
    simulate.cache_clear()
    again = simulate(5)
    assert first.arm == again.arm and first.weights == again.weights
    other = simulate(6)
    assert other.weights != first.weights


# -- counting and history --------------------------------------------------------------

def _at(day: int, hour: int = 9) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour), tzinfo=UTC)


def test_counts_use_what_was_known_before_the_day() -> None:
    data = AllocationData("c", "converted", [
        FirstSend("a", "r", "V1", False, _at(0)),
        FirstSend("b", "r", "V1", False, _at(0)),
        FirstSend("c", "r", "V2", False, _at(1)),
        FirstSend("h", None, None, True, _at(0)),
        FirstSend("d", "r", "V2", False, _at(2)),
    ], known={"a": _at(1, 6), "c": _at(2, 0), "h": _at(1)})
    day1 = count_outcomes(data, START + timedelta(days=1))
    assert day1.by_rule == {"r": {"V1": ArmCounts(0, 2)}}
    day2 = count_outcomes(data, START + timedelta(days=2))
    assert day2.by_rule == {"r": {"V1": ArmCounts(1, 2), "V2": ArmCounts(0, 1)}}
    day3 = count_outcomes(data, START + timedelta(days=3))
    assert day3.by_rule == {"r": {"V1": ArmCounts(1, 2), "V2": ArmCounts(1, 2)}}


CAMPAIGN = f"""\
id: sim-0
channel: email
template: email/default
holdout: {HOLDOUT}
select:
  - id: {RULE}
    variants: {{ids: [V1, V2, V3], allocate: thompson, metric: converted, min_share: {MIN_SHARE}}}
"""


def _history_data(run: Run) -> AllocationData:
    recipients, daily = [], Counter[tuple[date, str, str]]()
    known = {}
    for d in range(DAYS):
        day = START + timedelta(days=d)
        for i in range(PER_DAY):
            contact = f"d{d:02d}-{i}"
            arm = run.arm[contact]
            held = arm == "holdout"
            recipients.append(FirstSend(contact, None if held else RULE, None if held else arm, held,
                                        datetime.combine(day, time(9), tzinfo=UTC)))
            if not held:
                daily[(day, RULE, arm)] += 1
            if contact in run.converted:
                known[contact] = datetime.combine(day + timedelta(days=run.delay[contact] + 1), time(6), tzinfo=UTC)
    return AllocationData("sim-0", "converted", recipients, known, daily)


def test_history_recomputes_the_weights_the_engine_used() -> None:
    run = simulate(0)
    history = weights_history(parse_campaign(CAMPAIGN, "sim.yaml"), _history_data(run))
    by_day: dict[str, list[float]] = {}
    for p in history.points:
        by_day.setdefault(p.day, []).append(p.weight)
    assert list(by_day.values()) == [list(w) for w in run.weights]
    last = [p for p in history.points if p.day == (START + timedelta(days=DAYS - 1)).isoformat()]
    assert [p.sent for p in last] == [run.sent[-1][v] for v in RATES]
    assert history.min_share == {RULE: MIN_SHARE}
    lines = allocation_lines(history)
    assert len(lines) == DAYS and lines[0].startswith(f"{START.isoformat()} {RULE}: V1 33.3% (0/0)")
    rows = allocation_rows(history)
    assert len(rows) == 3 * DAYS and set(rows[0]) >= {"day", "rule_id", "variant_id", "weight", "successes",
                                                       "trials", "p_best", "sent", "sent_share"}
    spec = allocation_chart(history).to_dict()
    (values,) = spec["datasets"].values()  # altair moves inline data to named datasets
    assert json.dumps(spec) and len(values) == 3 * DAYS and {layer["mark"]["type"] for layer in spec["layer"]} == {
        "line", "point"}


def test_history_of_a_campaign_that_does_not_learn_is_empty() -> None:
    plain = CAMPAIGN.replace(", allocate: thompson, metric: converted, min_share: 0.1", "")
    history = weights_history(parse_campaign(plain, "p.yaml"), _history_data(simulate(0)))
    assert history.points == [] and "no rule" in history.notes[0]


# -- end to end: the store, the CLI, the render workers ----------------------------------

REPO = Path(__file__).resolve().parents[2]
LEARNING = """\
id: learn
channel: email
template: email/default
holdout: 0.1
select:
  - id: everyone
    variants: {brief: boots-onboarding, allocate: thompson, metric: converted, min_share: 0.1}
"""


@pytest.fixture
def learning_ws(desk, bare_ws: Workspace, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Three approved variants of one brief, a learning campaign, 300 contacts sent two
    days ago and their conversions imported yesterday (V3 converts best)."""
    import shutil

    from copydesk.models import SendRecord
    from copydesk.vocab import Channel

    shutil.copytree(REPO / "templates", bare_ws.root / "templates")
    (bare_ws.root / "campaigns").mkdir()
    (bare_ws.campaigns_dir / "learn.yaml").write_text(LEARNING, encoding="utf-8")
    ids = []
    for word in ("care", "trail", "spring"):
        v = desk.add_variant("boots-onboarding", {"subject": f"Boots {word}", "body": "Care for your boots."},
                             actor="ana")
        desk.submit(v.id, actor="ana")
        desk.approve(v.id, actor="ben", comment="ok")
        ids.append(v.id)
    now = datetime.now(UTC).replace(microsecond=0)
    sends = [SendRecord(contact_id=f"P{i}", campaign_id="learn", channel=Channel.EMAIL, variant_id=ids[i % 3],
                        rule_id="everyone", sent_at=now - timedelta(days=2)) for i in range(300)]
    sends += [SendRecord(contact_id=f"H{i}", campaign_id="learn", channel=Channel.EMAIL, holdout=True,
                         sent_at=now - timedelta(days=2)) for i in range(30)]
    desk.record_sends(sends, actor="max")
    wins = {ids[0]: 2, ids[1]: 5, ids[2]: 30}
    lines = ["contact_id,campaign_id,event,at"]
    for i in range(300):
        if i // 3 < wins[ids[i % 3]]:
            lines.append(f"P{i},learn,converted,{(now - timedelta(days=2, hours=-1)).isoformat()}")
    results = tmp_path / "results.csv"
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    clock.freeze(now - timedelta(days=1))
    try:
        assert desk.import_outcomes(results, actor="max").imported == 37
    finally:
        clock.freeze(None)
    audience = bare_ws.root / "contacts.csv"
    audience.write_text("contact_id,first_name,consent_email\n" + "".join(f"N{i},Sam,true\n" for i in range(400)),
                        encoding="utf-8")
    return bare_ws, ids, audience


def test_explain_shows_the_weights_and_counts(cli, learning_ws) -> None:  # type: ignore[no-untyped-def]
    ws, ids, audience = learning_ws
    today = datetime.now(UTC).date().isoformat()
    r = cli("-w", str(ws.root), "explain", "learn", "--audience", str(audience), "--contact", "N1")
    assert r.code == 0, r
    assert f"allocation: thompson on converted, outcomes known before {today}, min share 0.1" in r.out
    assert f"{ids[2]} 80.0% (30/100 converted, P(best) 1.00)" in r.out
    assert f"{ids[0]} 10.0% (2/100 converted" in r.out


def test_render_workers_and_dry_run_split_by_the_learnt_weights(learning_ws) -> None:  # type: ignore[no-untyped-def]
    from copydesk.services import Desk
    from copydesk.services import campaigns as svc

    ws, ids, audience = learning_ws
    d = Desk.open(ws)
    cf = svc.open_campaign(ws, "learn")
    out = ws.root / "messages.jsonl"
    summary = svc.render(d, cf, audience, out, explain=True, workers=2)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    step = next(s for s in rows[0]["trace"] + rows[1]["trace"] if s["stage"] == "allocation")
    assert [(a["successes"], a["trials"]) for a in step["actual"]] == [(2, 100), (5, 100), (30, 100)]
    assert summary.variants[ids[2]] > 0.7 * summary.rendered
    run = svc.dry_run(d, cf, audience.read_bytes(), "contacts.csv")
    assert run.summary.variants == summary.variants
    (allocation,) = run.allocations
    assert allocation.weights == pytest.approx((0.1, 0.1, 0.8))
    check = svc.validate(d, cf)
    assert "split today" in check.rules[0].as_row() and "30/100" in check.rules[0].as_row()["split today"]
    d.close()


def test_history_from_the_store(learning_ws) -> None:  # type: ignore[no-untyped-def]
    from copydesk.services import Desk
    from copydesk.services.allocation import allocation_history

    ws, ids, _ = learning_ws
    d = Desk.open(ws)
    history = allocation_history(d, "learn")
    assert history is not None
    # one send day (two days ago): nothing was known before it, an even split
    assert [(p.variant_id, round(p.weight, 4), p.trials, p.sent) for p in history.points] == [
        (v, 0.3333, 0, 100) for v in ids]
    assert allocation_history(d, "no-such-campaign") is None
    d.close()


def test_report_shows_allocation_over_time_in_every_format(cli, learning_ws) -> None:  # type: ignore[no-untyped-def]
    ws, ids, _ = learning_ws
    text = cli("-w", str(ws.root), "report", "learn")
    assert text.code == 0, text
    assert "Allocation over time (thompson" in text.out
    assert f"{ids[0]} 33.3% (0/0)" in text.out
    data = json.loads(cli("-w", str(ws.root), "report", "learn", "--format", "json").out)
    assert [p["variant_id"] for p in data["allocation"]["points"]] == ids
    csv_out = cli("-w", str(ws.root), "report", "learn", "--format", "csv").out
    import csv
    import io

    rows = [r for r in csv.DictReader(io.StringIO(csv_out)) if r["scope"] == "allocation"]
    assert [(r["allocation_variant_id"], r["allocation_sent"]) for r in rows] == [(v, "100") for v in ids]


def test_the_report_carries_the_allocation_history(learning_ws) -> None:  # type: ignore[no-untyped-def]
    from copydesk.services import Desk
    from copydesk.services import campaigns as svc

    ws, _, _ = learning_ws
    d = Desk.open(ws)
    found = svc.report(d, "learn")
    assert found.allocation is not None and len(found.allocation.points) == 3
    d.close()
