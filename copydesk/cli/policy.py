"""``copydesk policy test|show``: run the packs' inline tests; show the effective rules."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from copydesk.cli.check import policy_for
from copydesk.cli.common import console
from copydesk.cli.display import lit, shown
from copydesk.errors import PolicyError, UsageError

policy_app = typer.Typer(help="Policy packs: test the rules, show the effective policy.", no_args_is_help=True)

POLICY_OPTION = typer.Option(None, "--policy", "-p", help="Policy folder or pack (default: the workspace's).")


@policy_app.command("test")
def test(policy_path: Path = POLICY_OPTION) -> None:
    """Run every rule's inline tests; fail rules no test fires."""
    from copydesk.guardrails import run_policy_tests

    policy = policy_for(policy_path)
    reports = run_policy_tests(policy)
    bad = 0
    for report in reports:
        if report.ok:
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


def register(app: typer.Typer) -> None:
    """Add the ``copydesk policy`` group."""
    app.add_typer(policy_app, name="policy")
