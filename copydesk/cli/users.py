"""``copydesk user``: add users, list them, change roles and passwords, deactivate and
reactivate them. User data goes through display.lit before Rich sees it (a name is never markup)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, open_desk
from copydesk.cli.display import lit
from copydesk.errors import InputError, UsageError
from copydesk.vocab import Role

users = typer.Typer(help="Manage users and their roles (admin).", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for a password: pipe it with --password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _roles(values: list[str]) -> list[Role]:
    try:
        return [Role(v) for v in values]
    except ValueError:
        raise InputError(
            f"unknown role in {values}; roles are {', '.join(r.value for r in Role)}"
        ) from None


@users.command("add")
def add(
    name: str = typer.Argument(
        ..., help="User name: 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter."
    ),
    role: list[str] = typer.Option(..., "--role", "-r", help="copywriter, reviewer, marketer or admin; repeatable."),
    as_: str = typer.Option(None, "--as", help=ACT_AS_HELP + " Not for the first admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Add a user; the password is asked on the terminal and stored as a salted scrypt hash.
    The very first user must be an admin and needs no --as. Passwords: at least 12
    characters, not a common password (docs/security.md)."""
    desk = open_desk()
    roles = _roles(role)
    password = _read_password(password_stdin)
    user = desk.add_user(name, roles, password, actor=as_)
    console.print(f"added user [bold]{lit(user.name)}[/] ({', '.join(r.value for r in user.roles)})")


@users.command("list")
def list_() -> None:
    """List users and their roles."""
    table = Table("user", "roles", "active", "since")
    for u in open_desk().list_users():
        table.add_row(lit(u.name), ", ".join(r.value for r in u.roles), "yes" if u.active else "no",
                      u.created_at.date().isoformat())
    console.print(table)


@users.command("roles")
def roles(
    name: str,
    role: list[str] = typer.Option(..., "--role", "-r", help="The new roles (replace the old ones)."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
) -> None:
    """Replace a user's roles. The last active admin keeps the admin role."""
    user = open_desk().set_roles(name, _roles(role), actor=as_)
    console.print(f"{lit(user.name)}: {', '.join(r.value for r in user.roles)}")


@users.command("deactivate")
def deactivate(name: str, as_: str = typer.Option(..., "--as", help=ACT_AS_HELP)) -> None:
    """Deactivate a user (kept for the audit log; can no longer act or sign in). The last
    active admin cannot be deactivated."""
    user = open_desk().set_active(name, False, actor=as_)
    console.print(f"deactivated {lit(user.name)}")


@users.command("activate")
def activate(name: str, as_: str = typer.Option(..., "--as", help=ACT_AS_HELP)) -> None:
    """Reactivate a deactivated user: they can act and sign in again, with their old
    roles and password."""
    user = open_desk().set_active(name, True, actor=as_)
    console.print(f"activated {lit(user.name)} ({', '.join(r.value for r in user.roles)})")


@users.command("password")
def password(
    name: str,
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a user's password (your own while you are active, or anyone's as an admin).
    At least 12 characters, not a common password (docs/security.md)."""
    open_desk().set_password(name, _read_password(password_stdin), actor=as_)
    console.print(f"password set for {lit(name)}")


def register(app: typer.Typer) -> None:
    """Add the ``user`` command group."""
    app.add_typer(users, name="user")
