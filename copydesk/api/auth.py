"""Who may call what: a bearer token, its scope, its rate, and the audit of its use.

Order of the checks: the token must be valid (401; invalid tokens from one client
address beyond ``ApiSettings.auth_failures_per_second`` get 429), then it is rate-limited (429, before
the scope, so a token is limited whatever it asks for), then its scope must allow the
endpoint (403), then its use is audited (:mod:`copydesk.api.usage`): a use that cannot
be audited is refused (503)."""

from __future__ import annotations

import sqlite3

from fastapi import Request

from copydesk.api.errors import ApiError
from copydesk.api.state import ServerState
from copydesk.errors import AuthenticationError, CopydeskError
from copydesk.services.tokens import Token

_BEARER = "bearer "


def server_state(request: Request) -> ServerState:
    """The state of the server answering ``request``."""
    state: ServerState = request.app.state.copydesk
    return state


def authorize(request: Request, scope: str) -> Token:
    """The caller's token, when it may use this endpoint under ``scope``."""
    state = server_state(request)
    header = request.headers.get("authorization", "")
    if not header[: len(_BEARER)].lower() == _BEARER:
        raise ApiError(401, "unauthorized", "send an API token: 'Authorization: Bearer cdk_...'",
                       field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    try:
        token = state.desk().authenticate_token(header[len(_BEARER):].strip())
    except AuthenticationError as exc:
        # failures are rate-limited per client address too, so guessing costs time (429)
        client = request.client.host if request.client else "?"
        state.failures.take(f"client:{client}")
        raise ApiError(401, "unauthorized", str(exc), field="Authorization",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    state.limiter.take(token.id)
    if not token.allows(scope):
        raise ApiError(403, "forbidden", f"token {token.id} has scope '{token.scope}'; this needs '{scope}'")
    route = request.scope.get("route")
    endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    try:
        state.uses.use(token.id, endpoint,
                       lambda since_last: state.desk().record_token_use(token, endpoint, since_last=since_last))
    except (CopydeskError, sqlite3.Error) as exc:
        # fail closed: a use that cannot be put on the record is not served
        raise ApiError(503, "audit_unavailable", f"this use of token {token.id} could not be audited, so it is "
                       f"refused ({type(exc).__name__}); run 'copydesk audit verify'") from None
    return token
