"""``copydesk generate``, ``copydesk llm check`` and ``copydesk llm logs``."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, workspace
from copydesk.cli.display import cell, lit
from copydesk.errors import LLMError, UsageError
from copydesk.llm.client import LLMClient
from copydesk.llm.factory import make_client
from copydesk.llm.settings import EMBEDDED_LABEL
from copydesk.services.endpoints import connection_test, endpoint_label, endpoint_settings

llm_app = typer.Typer(help="The LLM endpoint: which one is configured, and whether it answers.",
                      no_args_is_help=True)

STATUS_STYLE = {"ok": "green", "blocked": "bold red", "failed": "red", "skipped": "dim", "duplicate": "yellow"}
#: Events shown per draft in the final table (the rest are counted; provenance has all).
SHOWN_EVENTS = 3


def saved_drafts_command(brief_id: str) -> str:
    """The command that lists a brief's saved drafts (named after an interruption)."""
    return f"copydesk library list --brief {brief_id} --status draft"


def generate(
    brief_id: str = typer.Argument(..., help="Id of a stored brief (see 'copydesk brief list')."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    n: int = typer.Option(None, "-n", "--variants", help="How many variants (default: the brief's)."),
    model: str = typer.Option(None, "--model", help="Model name; with no endpoint set, the OpenAI API."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1."),
    api_key_env: str = typer.Option(None, "--api-key-env", help="Environment variable holding the API key."),
    concurrency: int = typer.Option(None, "--concurrency", min=1, max=64, help="Requests in flight at once."),
    redact_pii: bool = typer.Option(
        False, "--redact-pii", help="Send a redacted brief instead of refusing one with PII."
    ),
    deadline: float = typer.Option(
        None, "--deadline", min=0.001,
        help="Seconds for the whole run; drafts not finished by then are reported, finished ones kept.",
    ),
    tone: str = typer.Option(None, "--tone", help="Tone for these drafts, e.g. warmer, more playful."),
    length: str = typer.Option(None, "--length", help="short, medium or long."),
    temperature: float = typer.Option(
        None, "--temperature", min=0.0, max=2.0,
        help="Sampling temperature (not sent to reasoning models).",
    ),
    regenerate: str = typer.Option(
        None, "--regenerate", metavar="VARIANT_ID",
        help="Redo one of your own drafts (draft or rejected) as its next revision; needs --instruction.",
    ),
    instruction: str = typer.Option(
        None, "--instruction", help="What to change in the --regenerate draft, e.g. 'shorter, mention the kit'.",
    ),
) -> None:
    """Draft variants for a brief with the LLM; each is checked by the guardrails,
    repaired when blocked, and saved as a draft the moment it is ready. The prompt
    carries up to llm.examples approved variants of the same channel and stage as
    examples; every prompt and reply is kept ('copydesk llm logs')."""
    from copydesk.llm.generate import LENGTHS, GenerationOptions
    from copydesk.services import Desk
    from copydesk.services.generation import DraftRecord, generate_for_brief

    if length is not None and length not in LENGTHS:
        raise UsageError(f"--length must be one of {', '.join(LENGTHS)}, not {length!r}")
    ws = workspace()
    settings = endpoint_settings(ws, model=model, base_url=base_url, api_key_env=api_key_env,
                                 max_concurrency=concurrency, temperature=temperature)
    desk = Desk.open(ws)
    try:
        brief = desk.get_brief(brief_id)
        count = 1 if regenerate else n or brief.variants
        client = make_client(settings)
        what = (f"Regenerating {lit(regenerate)}" if regenerate
                else f"Generating {count} {brief.channel.value} variant(s)")
        console.print(f"{what} for [bold]{lit(brief.id)}[/] with {lit(endpoint_label(settings))}")
        options = GenerationOptions.from_settings(
            settings, redact_pii=redact_pii, deadline=deadline, tone=tone,
            length=next((x for x in LENGTHS if x == length), None),
        )
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console_err, transient=True,
        ) as progress:
            task = progress.add_task("drafting", total=count)

            def on_progress(done: int, total: int, record: DraftRecord) -> None:
                progress.update(task, completed=done)

            try:
                report = generate_for_brief(
                    desk, brief.id, actor=as_, n=count, client=client, policy=desk.policy,
                    on_progress=on_progress, options=options, settings=settings,
                    regenerate=regenerate, instruction=instruction,
                )
            except KeyboardInterrupt:
                progress.stop()
                console_err.print("interrupted: the drafts saved so far are kept "
                                  f"(see '{lit(saved_drafts_command(brief.id))}')")
                raise typer.Exit(130) from None
        client.close()
    finally:
        desk.close()
    _print_report(report, client)
    if not report.variants:
        first = report.aborted or next((o.error for o in report.failures if o.error), "")
        raise LLMError(f"no variants created: {first}")


def _print_report(report: Any, client: LLMClient) -> None:
    if report.redacted:
        console.print(f"[yellow]PII redacted from the brief before sending:[/] "
                      f"{len(report.redacted)} span(s)")
    table = Table(title=f"{lit(report.brief_id)}: {len(report.variants)} of {report.requested} "
                        f"variant(s) created")
    numeric = ("#", "attempts", "retries", "repairs", "tokens", "time", "cost")
    # a cost column only for a priced model (the line under the table says "no price"),
    # last, so the columns before it keep their places for anyone reading the table
    priced = any(isinstance(r.outcome.provenance.get("cost"), (int, float)) for r in report.records)
    for col in ("#", "variant", "guardrails", "attempts", "retries", "repairs", "tokens", "time",
                "retries and fallbacks", *(("cost",) if priced else ())):
        table.add_column(col, justify="right" if col in numeric else "left")
    for record in sorted(report.records, key=lambda r: r.outcome.index):
        o = record.outcome
        if record.variant is not None:
            blocks = len(o.blocks)
            warns = len(o.findings) - blocks
            status = "blocked" if blocks else "ok"
            detail = (f"{blocks} block, {warns} warn/info" if blocks
                      else f"{warns} warn/info" if warns else "clean")
            guard = f"[{STATUS_STYLE[status]}]{status}[/] ({detail})"
        else:
            guard = f"[{STATUS_STYLE[o.status]}]{o.status}[/]: {lit(o.error or '')}"
        table.add_row(str(o.index), cell(record.variant.id if record.variant else "-"), guard,
                      str(o.attempts), str(o.retries + o.fallbacks), str(o.repair_rounds),
                      str(o.usage.total_tokens), f"{o.latency:.1f}s", lit(_events(o.events)),
                      *((money(o.provenance.get("cost")),) if priced else ()))
    console.print(table)
    model = EMBEDDED_LABEL if client.endpoint_kind == "embedded" else client.label
    console.print(f"model: {lit(model)} · tokens: {report.usage.total_tokens} · "
                  f"cost: {money(report.cost)} · wall time: {report.elapsed:.1f}s")
    if report.regenerated and report.variants:
        v = report.variants[0]
        console.print(f"{lit(v.id)} revision {v.current.number}: regenerated "
                      f"(see 'copydesk variant show {lit(v.id)}')")
    if report.examples:
        shown = ", ".join(f"{e['variant_id']} r{e['revision']} ({e['chosen_by']})" for e in report.examples)
        console.print(f"examples in the prompt: {lit(shown)}")
    else:
        console.print("examples in the prompt: none (no approved variant of this channel and stage)")
    if report.log_run_id:
        console.print(f"prompts and replies: 'copydesk llm logs --brief {lit(report.brief_id)}' "
                      f"(run {lit(report.log_run_id)})")
    if report.log_error:
        console_err.print(f"[yellow]warning:[/] {lit(report.log_error)}")
    for note in report.adjustments:
        console.print(f"[yellow]endpoint correction:[/] {lit(note)}")
    if report.aborted:
        console_err.print(f"[bold red]stopped early:[/] {lit(report.aborted)}")


def money(cost: object) -> str:
    """A cost as shown: six decimals at most, or 'no price' (the model has no price)."""
    if not isinstance(cost, (int, float)):
        return "no price"
    return f"{cost:.6f}".rstrip("0").rstrip(".") if cost else "0"


def _events(events: list[str]) -> str:
    shown = "; ".join(events[:SHOWN_EVENTS])
    more = len(events) - SHOWN_EVENTS
    return shown + (f"; and {more} more (see the provenance)" if more > 0 else "") if events else "-"


@llm_app.command("check")
def check(
    model: str = typer.Option(None, "--model", help="Model name to check."),
    base_url: str = typer.Option(None, "--base-url", help="Endpoint to check."),
    api_key_env: str = typer.Option(None, "--api-key-env", help="Environment variable holding the API key."),
) -> None:
    """Show the configured endpoint and model, and check that it answers a short
    structured question correctly (the sum of two numbers, as JSON)."""
    ws = workspace()
    settings = endpoint_settings(ws, model=model, base_url=base_url, api_key_env=api_key_env)
    client = make_client(settings)
    info = client.describe()
    console.print(f"endpoint kind: {info['endpoint_kind']}")
    console.print(f"base_url:      {lit(info.get('base_url') or '(in process)')}")
    console.print(f"model:         {lit(str(info['model']))}")
    if "model_family" in info:
        kind = "reasoning" if info.get("reasoning") else "chat"
        console.print(f"family:        {lit(str(info['model_family']))} ({kind} model)")
    console.print(f"label:         {lit(endpoint_label(settings))}")
    result = connection_test(ws, settings, client)
    for event in result.events:
        console.print(f"[yellow]note:[/] {lit(event)}")
    console.print(f"[green]ok[/]: {lit(result.message)}")


@llm_app.command("logs")
def logs(
    brief: str = typer.Option(None, "--brief", help="Only requests for this brief."),
    variant: str = typer.Option(None, "--variant", help="Only requests for this saved variant."),
    search: str = typer.Option(None, "--search", "-q", help="Text in the prompt or the reply (any case)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """Every prompt sent during generation and what came back, newest first (stored
    after the personal-data screening, like the requests themselves)."""
    from copydesk.llm.logs import LogStore
    from copydesk.services import Desk

    desk = Desk.open(workspace())
    try:
        entries = LogStore(desk.db).query(brief_id=brief, variant_id=variant, search=search, limit=limit)
    finally:
        desk.close()
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        console.print("no logged requests" + (" match" if brief or variant or search else ""))
        return
    for e in reversed(entries):
        where = f"brief {e.brief_id} draft {e.variant_number}"
        if e.variant_id:
            where += f" → {e.variant_id}"
        console.rule(f"#{e.id} {e.at} · {where} · {e.purpose}", align="left")
        console.print(f"model: {lit(e.model or '?')} ({lit(e.endpoint_kind or '?')}) · run {lit(e.run_id)} · "
                      f"tokens {e.prompt_tokens} in / {e.completion_tokens} out · {e.latency_s:.1f}s · "
                      f"cost {money(e.cost)}" + (f" · finish {lit(e.finish_reason)}" if e.finish_reason else ""))
        for m in e.messages:
            console.print(f"[bold]{lit(m.get('role', '?'))}:[/]")
            console.print(cell(m.get("content", "")))
        if e.response is not None:
            console.print("[bold]response:[/]")
            console.print(cell(e.response))
        if e.error:
            console.print(f"[red]error:[/] {lit(e.error)}")


def register(app: typer.Typer) -> None:
    """Add ``generate`` and the ``llm`` group to the root command."""
    app.command("generate")(generate)
    app.add_typer(llm_app, name="llm")
