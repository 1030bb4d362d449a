"""``copydesk policy test|show|eval``: run the packs' inline tests; show the effective rules;
measure the policy against a labelled set of drafts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from copydesk.cli.check import policy_for
from copydesk.cli.common import console
from copydesk.cli.display import lit, shown
from copydesk.errors import PolicyError, UsageError

if TYPE_CHECKING:
    from copydesk.guardrails.evaluate import EvalReport

policy_app = typer.Typer(
    help="Policy packs: test the rules, show the effective policy, measure it on labelled drafts.",
    no_args_is_help=True,
)

POLICY_OPTION = typer.Option(None, "--policy", "-p", help="Policy folder or pack (default: the workspace's).")


@policy_app.command("test")
def test(policy_path: Path = POLICY_OPTION) -> None:
    """Run every rule's inline tests; fail rules no test fires."""
    from copydesk.guardrails import run_policy_tests

    policy = policy_for(policy_path)
    reports = run_policy_tests(policy)
    bad = 0
    for report in reports:
        if report.skipped:
            console.print(f"[yellow]skip[/] {lit(report.rule_id)}  [dim]{lit(report.skipped)} · "
                          f"{lit(report.source)}[/]")
        elif report.ok:
            console.print(
                f"[green]ok[/]   {lit(report.rule_id)}  [dim]{report.fire} fire, {report.passed} pass · "
                f"{lit(report.source)}[/]"
            )
        else:
            bad += 1
            console.print(f"[bold red]FAIL[/] {lit(report.rule_id)}  [dim]{lit(report.source)}[/]")
            for failure in report.failures:
                console.print(f"       {lit(failure)}")
    console.print(f"{len(reports) - bad} of {len(reports)} rules passed their tests")
    if bad:
        raise PolicyError(f"{bad} rule{'s' if bad != 1 else ''} failed their inline tests")


@policy_app.command("show")
def show(
    policy_path: Path = POLICY_OPTION,
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """The effective rules after 'extends', each with the file it comes from."""
    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    policy = policy_for(policy_path)
    rows = []
    for rule in policy.rules:
        spec = rule.spec
        rows.append(
            {
                "id": spec.id,
                "type": getattr(spec, "type", "?"),
                "category": spec.category.value,
                "severity": spec.severity.value,
                "scope": ",".join(spec.applies_to),
                "channels": [c.value for c in spec.channels],
                "fields": spec.fields,
                "source": rule.source,
                "overrides": rule.overrides,
            }
        )
    if fmt == "json":
        data = {
            "files": policy.files,
            "rules": rows,
            "variables": sorted(policy.allowed_variables),
            "filters": sorted(policy.allowed_filters),
            "offers": [o.model_dump() for o in policy.offers],
            "claims": [c.model_dump(mode="json") for c in policy.claims],
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console.print(f"{len(rows)} effective rules from {len(policy.files)} pack file(s)")
    console.print(f"{'id':<34} {'type':<14} {'category':<16} {'severity':<8} {'scope':<11} source", style="bold")
    for row in rows:
        source = str(row["source"])
        if row["overrides"]:
            source += f" (overrides {row['overrides']})"
        console.print(
            shown(f"{row['id']!s:<34} {row['type']!s:<14} {row['category']!s:<16} {row['severity']!s:<8} "
                  f"{row['scope']!s:<11} {source}"),
            markup=False,
        )
    console.print(f"variables: {lit(', '.join(sorted(policy.allowed_variables)) or '-')}")
    console.print(f"filters:   {lit(', '.join(sorted(policy.allowed_filters)) or '-')}")
    console.print(f"offers:    {lit(', '.join(o.id for o in policy.offers) or '-')}")
    console.print(f"claims:    {lit(', '.join(c.id for c in policy.claims) or '-')}")


@policy_app.command("eval")
def eval_(
    file: Path = typer.Argument(..., help="JSON-lines file of labelled drafts (see docs/reference/policy-packs.md)."),
    policy_path: Path = POLICY_OPTION,
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Per-category precision and recall on labelled drafts, with every miss and false
    alarm; exit 1 under the thresholds the pack declares (`evaluation:`)."""
    from copydesk.guardrails.evaluate import evaluate, load_cases

    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    policy = policy_for(policy_path)
    cases, problems = load_cases(file)
    report = evaluate(policy, cases, source=str(file), problems=problems)
    if fmt == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_eval(report)
    failures = report.failures()
    if problems:
        failures.append(f"{len(problems)} line{'s' if len(problems) != 1 else ''} could not be read")
    if failures:
        raise PolicyError("below the policy's evaluation thresholds: " + "; ".join(failures))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print_eval(report: EvalReport) -> None:
    for problem in report.problems:
        console.print(f"[red]skipped[/] {lit(str(problem))}")
    t = report.thresholds
    console.print(f"{len(report.outcomes)} drafts from {lit(report.source)}: "
                  f"{len(report.outcomes) - len(report.clean)} with violations, {len(report.clean)} clean")
    console.print(f"{'category':<18} {'expected':>8} {'caught':>7} {'false alarms':>13} {'recall':>7} "
                  f"{'precision':>9}", style="bold")
    for s in report.scores:
        low = s.recall is not None and s.recall < t.min_recall
        line = (f"{s.category:<18} {s.expected:>8} {s.caught:>7} {s.false_alarms:>13} {_pct(s.recall):>7} "
                f"{_pct(s.precision):>9}")
        console.print(shown(line), style="red" if low else None, markup=False)
    share = report.flagged_clean_share
    console.print(f"clean drafts flagged: {len(report.clean_flagged)} of {len(report.clean)}"
                  + ("" if share is None else f" ({share:.1%}; limit {t.max_flagged_clean:.1%})"))
    misses = report.misses()
    if misses:
        console.print(f"\n[bold]misses ({len(misses)})[/]")
        for out, cat in misses:
            raised = ", ".join(sorted(c.value for c in out.flagged)) or "nothing"
            console.print(shown(f"  {out.case.id} (line {out.case.line}): {cat.value} not raised "
                                f"(raised {raised}) {out.case.note}"), markup=False)
    alarms = report.false_alarms()
    if alarms:
        console.print(f"\n[bold]false alarms ({len(alarms)})[/]")
        for out, f in alarms:
            console.print(shown(f"  {out.case.id} (line {out.case.line}): {f.rule_id} {f.severity.value} "
                                f"on {f.field} '{f.match}'"), markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``copydesk policy`` group."""
    app.add_typer(policy_app, name="policy")
