"""The CLI reference (``docs/reference/cli.md``), generated from the commands' own help.

``python -m copydesk.cli.reference`` rewrites the file; ``--check`` exits 1 when it is
out of date. ``tests/test_docs.py`` compares the file with :func:`cli_reference`, so the
reference can never drift from ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
import typer.core
import typer.main

#: Help is wrapped at this width whatever the terminal, so the output is the same everywhere.
WIDTH = 100

#: Where the generated reference lives, relative to the repository root.
REFERENCE_PATH = Path("docs") / "reference" / "cli.md"

REGENERATE = "python -m copydesk.cli.reference"

_HEADER = f"""# CLI reference

<!-- Generated from the commands' --help by `{REGENERATE}`; do not edit by hand. -->

Every `copydesk` command with its `--help`, as printed by the command itself (plain text,
wrapped at {WIDTH} columns). Expected failures print one line (`error: ...`) and exit 1
(2 for usage errors), never a traceback. Commands that change the library act `--as` a
named user: see [the security model](../security.md). The guides say when to use which
command: [copywriter](../guides/copywriter.md), [reviewer](../guides/reviewer.md),
[marketer](../guides/marketer.md), [admin](../guides/admin.md).
"""


def _root_command() -> typer.core.TyperGroup:
    """A fresh click tree for the CLI, with Rich formatting switched off.

    Typer's Rich help prints straight to a console sized from the terminal and the
    environment; its plain (click) formatter returns text. ``get_command`` builds new
    command objects on every call, so switching them to plain mode changes nothing
    for the real CLI.
    """
    from copydesk.cli import app

    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    _plain_help(root)
    return root


def _plain_help(command: object) -> None:
    if isinstance(command, typer.core.TyperCommand | typer.core.TyperGroup):
        command.rich_markup_mode = None
    if isinstance(command, typer.core.TyperGroup):
        for sub in command.commands.values():
            _plain_help(sub)


def _visible_commands(
    ctx: typer.Context, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], typer.Context]]:
    """Every visible command below ``ctx`` (itself first), in the order ``--help`` lists them."""
    yield path, ctx
    group = ctx.command
    if not isinstance(group, typer.core.TyperGroup):
        return
    for name in group.list_commands(ctx):
        sub = group.commands[name]
        if sub.hidden:
            continue
        child = typer.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH)
        yield from _visible_commands(child, (*path, name))


def _anchor(title: str) -> str:
    return title.lower().replace(" ", "-")


def cli_reference() -> str:
    """The CLI reference as markdown: a contents list, then each command's ``--help``."""
    root = _root_command()
    ctx = typer.Context(root, info_name="copydesk", terminal_width=WIDTH, max_content_width=WIDTH)
    entries = list(_visible_commands(ctx, ("copydesk",)))
    out = [_HEADER, "## Commands\n"]
    for path, _ in entries:
        title = " ".join(path)
        indent = "  " * (len(path) - 1)
        out.append(f"{indent}- [`{title}`](#{_anchor(title)})")
    out.append("")
    for path, sub_ctx in entries:
        title = " ".join(path)
        help_text = sub_ctx.command.get_help(sub_ctx).rstrip()
        lines = "\n".join(line.rstrip() for line in help_text.splitlines())
        out += [f"## {title}\n", "```text", lines, "```", ""]
    return "\n".join(out)


def _checkout_root() -> Path:
    """The source checkout this module runs from, else the current folder."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def main(argv: list[str] | None = None) -> int:
    """Write the reference (default) or, with ``--check``, report whether it is current."""
    parser = argparse.ArgumentParser(prog=REGENERATE, description="Generate docs/reference/cli.md.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--out", type=Path, default=None, help=f"output file (default: {REFERENCE_PATH})")
    args = parser.parse_args(argv)
    out: Path = args.out or _checkout_root() / REFERENCE_PATH
    text = cli_reference()
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date; regenerate it with: {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{out} is current")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
