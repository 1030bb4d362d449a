"""``copydesk check FILE|-``: run the guardrails over drafts, one JSON object a line.

Each line: ``{"id": "...", "channel": "email", "subject": "...", "body": "..."}``
with the channel's fields (sms: text; push: title, body; web: headline, body, cta;
ad: headline, description). A malformed line (invalid JSON or UTF-8, nested too deeply,
text with a lone surrogate, NUL or a control character) gets an error line naming its
line number and the other lines are still checked. Exit status 1 when any input has a
``block`` finding or could not be checked, else 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import typer

from copydesk.cli.common import console, workspace
from copydesk.cli.display import lit
from copydesk.errors import InputError, UsageError
from copydesk.guardrails import Policy, load_policy
from copydesk.inputs import MAX_DEPTH, bad_character, printable, too_deep
from copydesk.models import Brief
from copydesk.vocab import CHANNEL_FIELDS, Channel, Severity
from copydesk.yamlio import load_model


def policy_for(path: Path | None) -> Policy:
    """The policy at ``--policy``, else the workspace's configured one."""
    if path is None:
        path = workspace().policy_path
    if not path.exists():
        raise InputError("no policy packs here (pass --policy or add packs)", source=str(path))
    return load_policy(path)


def parse_line(raw: str, source: str, lineno: int) -> tuple[str, Channel, dict[str, str]]:
    """One input line as (id, channel, fields); malformed lines raise InputError."""
    problem = bad_character(raw.rstrip("\r\n"))
    if problem:
        # JSON escapes (\u0000, \ud800) are checked per field below; raw ones stop here
        raise InputError(f"not valid text: {problem}", source=source, line=lineno)
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, line=lineno) from None
    except RecursionError:
        raise InputError(f"invalid JSON: nested more than {MAX_DEPTH} levels deep", source=source,
                         line=lineno) from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise InputError(f"invalid JSON: {exc}", source=source, line=lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", source=source, line=lineno)
    if too_deep(data):
        raise InputError(f"invalid JSON: nested more than {MAX_DEPTH} levels deep", source=source, line=lineno)
    item_id = data.pop("id", None)
    if isinstance(item_id, dict | list):
        raise InputError("must be text or a number", source=source, line=lineno, field="id")
    item_id = str(item_id) if item_id not in (None, "") else f"line-{lineno}"
    problem = bad_character(item_id)
    if problem:
        raise InputError(problem, source=source, line=lineno, field="id")
    channel_raw = data.pop("channel", None)
    try:
        channel = Channel(channel_raw)
    except ValueError:
        names = ", ".join(c.value for c in Channel)
        raise InputError(f"channel must be one of {names}", source=source, line=lineno, field="channel") from None
    allowed = CHANNEL_FIELDS[channel]
    fields: dict[str, str] = {}
    for key, value in data.items():
        if key not in allowed:
            raise InputError(
                f"{channel.value} has no field '{printable(key)}'; its fields are {', '.join(allowed)}",
                source=source,
                line=lineno,
                field=key,
            )
        if not isinstance(value, str):
            raise InputError("must be a string", source=source, line=lineno, field=key)
        problem = bad_character(value)
        if problem:
            raise InputError(problem, source=source, line=lineno, field=key)
        fields[key] = value
    if not any(fields.values()):
        raise InputError(f"no text in any of {', '.join(allowed)}", source=source, line=lineno)
    return item_id, channel, {name: fields.get(name, "") for name in allowed if name in fields}


def _decoded(raw: bytes | str, first: bool) -> str:
    """One line as text; bytes that are not UTF-8 become lone surrogates, which
    :func:`parse_line` reports for that line alone."""
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff") if first else raw
    if first:
        raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark some editors write
    return raw.decode("utf-8", "surrogateescape")


def _lines(file: str) -> Iterator[tuple[int, str]]:
    stream: IO[bytes] | IO[str]
    if file == "-":
        stream = getattr(sys.stdin, "buffer", sys.stdin)
    else:
        try:
            stream = open(file, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise InputError("file not found", source=printable(file)) from None
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", source=printable(file)) from None
    try:
        for i, raw in enumerate(stream, start=1):
            line = _decoded(raw, i == 1)
            if line.strip():
                yield i, line
    finally:
        if file != "-":
            stream.close()


def check(
    file: str = typer.Argument(..., help="JSON-lines file of drafts, or - for stdin."),
    policy_path: Path = typer.Option(None, "--policy", "-p", help="Policy folder or pack (default: the workspace's)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json (one line per input)."),
    brief_path: Path = typer.Option(None, "--brief", help="A brief YAML: also check grounding against it."),
) -> None:
    """Check drafts against the policy packs; exit 1 when any has a block finding."""
    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    from copydesk.guardrails.report import render_result

    policy = policy_for(policy_path)
    brief = load_model(brief_path, Brief) if brief_path is not None else None
    source = "<stdin>" if file == "-" else printable(file)
    failed = False
    for lineno, raw in _lines(file):
        try:
            item_id, channel, fields = parse_line(raw, source, lineno)
        except InputError as exc:
            failed = True
            if fmt == "json":
                print(json.dumps({"id": None, "line": lineno, "error": printable(exc.reason)}), flush=False)
            else:
                console.print(f"[bold red]error[/] {lit(exc)}")
            continue
        findings = policy.check(channel, fields, brief=brief)
        blocked = any(f.severity == Severity.BLOCK for f in findings)
        failed = failed or blocked
        if fmt == "json":
            out = {
                "id": item_id,
                "passed": not blocked,
                "findings": [f.model_dump(mode="json") for f in findings],
            }
            print(json.dumps(out, ensure_ascii=False))
        else:
            console.print(render_result(item_id, findings, fields), end="")
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``copydesk check``."""
    app.command("check")(check)
