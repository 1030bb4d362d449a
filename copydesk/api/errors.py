"""Every error the API answers is JSON: ``{"error": {"status", "code", "message",
"field"}}``, with a 4xx status for anything a caller did, never a traceback. A bug is a
500 with a one-line log naming the route and the exception type only: exception
messages can quote contact values, and contact data is never logged."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from copydesk.errors import (
    AuditIntegrityError,
    AuthenticationError,
    CopydeskError,
    InputError,
    NotFoundError,
    PermissionDenied,
    UsageError,
)

log = logging.getLogger("copydesk.api")


class ApiError(Exception):
    """An error answered as it is (status, code, message, field, extra headers)."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}


def error_body(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of an error."""
    return {"error": {"status": status, "code": code, "message": message, "field": field}}


def error_response(err: ApiError) -> JSONResponse:
    """An :class:`ApiError` as a response."""
    return JSONResponse(error_body(err.status, err.code, err.message, err.field), status_code=err.status,
                        headers=err.headers)


def from_copydesk(exc: CopydeskError) -> ApiError:
    """The API form of a service-layer error."""
    if isinstance(exc, AuthenticationError):
        return ApiError(401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, PermissionDenied):
        return ApiError(403, "forbidden", str(exc))
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, InputError):
        return ApiError(422, "invalid", exc.reason, field=exc.field)
    if isinstance(exc, UsageError):
        return ApiError(400, "bad_request", str(exc))
    if isinstance(exc, AuditIntegrityError):
        # no approval can be trusted: nothing is served until 'copydesk audit verify' is clean
        return ApiError(503, "audit_integrity", str(exc))
    return ApiError(503, "unavailable", str(exc))


def field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """``contact.orders`` from a pydantic location like ``("body", "contact", "orders")``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or None


def validation_error(exc: RequestValidationError) -> ApiError:
    """A request FastAPI could not validate: 400 for malformed JSON, else 422 naming the
    first field. The offending input is never echoed (it may be contact data)."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        where = (first.get("ctx") or {}).get("error", "")
        return ApiError(400, "malformed_json", f"the body is not valid JSON ({where})".replace(" ()", ""))
    message = str(first.get("msg", "invalid request"))
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ApiError(422, "invalid", message + extra, field=field_of(first.get("loc", ())))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a JSON error."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(CopydeskError)
    async def _copydesk(request: Request, exc: CopydeskError) -> JSONResponse:
        err = from_copydesk(exc)
        if err.status >= 500:
            log.error("%s %s -> %d %s", request.method, _route(request), err.status, type(exc).__name__)
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(exc.status_code, code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    # Exceptions that are not CopydeskError: see :class:`copydesk.api.limits.CatchAll` (an
    # exception_handler(Exception) would answer, then re-raise into uvicorn's traceback log).


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "") or "(no route)")
