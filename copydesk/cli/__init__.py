"""The ``copydesk`` command line. Each command group lives in its own module and
registers itself on :data:`app`; :func:`main` turns every :class:`CopydeskError`
into a one-line message and exit code 1 (2 for usage), never a traceback. Anything
else is a bug: one line saying so and exit code 70 (``COPYDESK_DEBUG=1`` re-raises it,
so the traceback shows)."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from copydesk.cli.common import console_err, state
from copydesk.cli.display import lit
from copydesk.errors import CopydeskError, InputError
from copydesk.inputs import bad_character, has_surrogates, printable
from copydesk.workspace import find_workspace

#: Exit status for a bug (EX_SOFTWARE in sysexits.h).
INTERNAL_ERROR = 70

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
    "tokens", "serve",
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


def _check_arguments(args: list[str]) -> None:
    """Refuse an argument that is not valid UTF-8 (the OS hands it over with lone
    surrogates): it could not be stored, looked up or printed. Names the option."""
    for i, arg in enumerate(args):
        if not has_surrogates(arg):
            continue
        name, _, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if not name and i and args[i - 1].startswith("--") and "=" not in args[i - 1]:
            name = args[i - 1]
        problem = bad_character(value) or "is not valid UTF-8 text"
        if name:
            raise InputError(problem, field=name.lstrip("-"))
        raise InputError(f"argument {i + 1} {problem}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; ``argv`` defaults to ``sys.argv[1:]``."""
    try:
        _check_arguments(sys.argv[1:] if argv is None else argv)
        code = app(args=argv, prog_name="copydesk", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except CopydeskError as exc:
        console_err.print(f"[bold red]error:[/] {lit(exc)}", highlight=False, soft_wrap=True)
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
        _internal_error(exc)


def _internal_error(exc: Exception) -> None:
    """The last resort: a bug gets one line and exit 70, never a traceback, unless
    ``COPYDESK_DEBUG=1`` asks for it (then the exception propagates as it is)."""
    if os.environ.get("COPYDESK_DEBUG") == "1":
        raise exc
    message = printable(f"{type(exc).__name__}: {exc}").replace("\n", " ")[:500]
    # plain write: whatever broke may be the console itself (e.g. its markup parser)
    sys.stderr.write(
        f"internal error: {message} — please report it; COPYDESK_DEBUG=1 shows the traceback\n"
    )
    sys.stderr.flush()
    sys.exit(INTERNAL_ERROR)


__all__ = ["app", "main", "find_workspace"]
