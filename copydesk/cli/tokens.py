"""``copydesk token``: create, list and revoke the API tokens ``copydesk serve`` accepts
(admin). The secret is printed once; only its sha256 is stored."""

from __future__ import annotations

import typer
from rich.table import Table

from copydesk.cli.common import ACT_AS_HELP, console, console_err, open_desk
from copydesk.cli.display import lit
from copydesk.clock import now

tokens = typer.Typer(help="API tokens for 'copydesk serve' (admin).", no_args_is_help=True)


def _moment(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "-"


@tokens.command("create")
def create(
    name: str = typer.Option(..., "--name", help="What the token is for (e.g. 'braze-prod')."),
    scope: str = typer.Option(..., "--scope", help="'content' (read approved content) or 'campaign:ID' "
                              "(decide for campaign ID)."),
    expires: str = typer.Option(None, "--expires", help="30d (days), a date (2027-01-31, end of that UTC day) "
                                "or an ISO date-time; default 90d, at most 366d."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
) -> None:
    """Create a token. Its secret is shown once, here: store it in the caller's secret store.
    Audited."""
    token, secret = open_desk().create_token(name, scope, actor=as_, expires=expires)
    console_err.print(f"created token [bold]{lit(token.id)}[/] ({lit(token.name)}, scope {lit(token.scope)}, "
                      f"expires {_moment(token.expires_at)}). The secret is shown once:")
    # the secret alone on stdout, so it can be piped into a secret store
    console.print(lit(secret))


@tokens.command("list")
def list_() -> None:
    """List tokens (never their secrets): scope, state, expiry and last use (to the hour)."""
    table = Table("id", "name", "scope", "state", "created", "by", "expires", "last used")
    at = now()
    for t in open_desk().list_tokens():
        table.add_row(lit(t.id), lit(t.name), lit(t.scope), t.state(at), _moment(t.created_at), lit(t.created_by),
                      _moment(t.expires_at), _moment(t.last_used_at))
    console.print(table)


@tokens.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="The token's id (T1, T2, ... from 'copydesk token list')."),
    as_: str = typer.Option(..., "--as", help=ACT_AS_HELP),
) -> None:
    """Revoke a token: every request with it is refused from now on. Audited."""
    token = open_desk().revoke_token(token_id, actor=as_)
    console.print(f"revoked token [bold]{lit(token.id)}[/] ({lit(token.name)})")


def register(app: typer.Typer) -> None:
    """Add ``token`` (create, list, revoke)."""
    app.add_typer(tokens, name="token")
