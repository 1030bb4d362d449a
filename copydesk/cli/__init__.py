"""The ``copydesk`` command line. Each command group lives in its own module and
registers itself on :data:`app`; :func:`main` turns every :class:`CopydeskError`
into a one-line message and exit code 1 (2 for usage), never a traceback."""

from __future__ import annotations

import importlib
import sys

import typer

from copydesk.cli.common import console_err, state
from copydesk.errors import CopydeskError
from copydesk.workspace import find_workspace

app = typer.Typer(
    name="copydesk",
    help="Governed LLM copy for personalized marketing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: Command modules, each with ``register(app)``. One that fails to import fails the
#: whole CLI: a silently missing command would look like a feature that was never there.
COMMAND_MODULES = (
    "workspace_cmds",
    "users",
    "briefs",
    "variants",
    "review",
    "library",
    "audit",
    "check",
    "policy",
    "generate",
    "campaigns",
    "outcomes",
)


@app.callback()
def _root(
    workspace: str = typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="COPYDESK_WORKSPACE",
        help="Workspace folder (default: the current folder or a parent with copydesk.yaml).",
    ),
) -> None:
    state.workspace_arg = workspace


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"copydesk.cli.{name}").register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; ``argv`` defaults to ``sys.argv[1:]``."""
    try:
        code = app(args=argv, prog_name="copydesk", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except CopydeskError as exc:
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        console_err.print("aborted")
        sys.exit(1)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None)
        if code is None:
            code = getattr(exc, "code", 0)
        sys.exit(code or 0)
    except Exception as exc:
        # usage errors from (typer's vendored) click: show them the click way, exit 2
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


__all__ = ["app", "main", "find_workspace"]
