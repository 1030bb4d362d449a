"""The FastAPI application: routes over :mod:`copydesk.api.decisions` and
:mod:`copydesk.api.content`, with the limits of :mod:`copydesk.api.limits`. Every route is
read-only; the one write is the token-use audit (:mod:`copydesk.api.usage`).

Routes are ``async`` and do their (short, CPU-bound) work inline: a decision takes a
fraction of a millisecond once the campaign is compiled, and a hop to a worker thread
costs about as much, with no parallelism to gain under the GIL. The library connection
is per thread (:meth:`ServerState.desk`), so this is the event loop's one connection."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from copydesk import __version__, clock
from copydesk.api import content, docs_page
from copydesk.api.auth import authorize, server_state
from copydesk.api.decisions import contact_record, decide_contact, decision_json, given_history
from copydesk.api.errors import ApiError, error_body, field_of, from_copydesk, install
from copydesk.api.limits import BodyLimit, CatchAll
from copydesk.api.models import BatchRequest, DecideRequest
from copydesk.api.settings import ApiSettings
from copydesk.api.state import ServerState
from copydesk.errors import CopydeskError, InputError
from copydesk.services.tokens import CAMPAIGN_SCOPE, CONTENT_SCOPE
from copydesk.workspace import Workspace

DESCRIPTION = (
    "Approved content and send-time decisions from a copydesk library, read-only. "
    "Tokens: 'copydesk token create --scope content|campaign:ID'. See docs/reference/api.md."
)


def create_app(workspace: Workspace, settings: ApiSettings | None = None) -> FastAPI:
    """The API over ``workspace``'s library, with ``settings``' limits."""
    settings = settings or ApiSettings()
    state = ServerState(workspace, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="copydesk API", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.copydesk = state
    install(app)
    # outermost last: the catch-all wraps everything, the body limit runs before parsing
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(CatchAll)
    _routes(app)
    return app


#: Where worker processes (``copydesk serve --workers N``) find their workspace and limits.
WORKSPACE_ENV, SETTINGS_ENV = "COPYDESK_API_WORKSPACE", "COPYDESK_API_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app for one of several uvicorn worker processes: the workspace and the limits
    come from :data:`WORKSPACE_ENV` and :data:`SETTINGS_ENV` (JSON), set by ``copydesk serve``."""
    import json
    import os

    settings = ApiSettings(**json.loads(os.environ.get(SETTINGS_ENV) or "{}"))
    return create_app(Workspace(Path(os.environ[WORKSPACE_ENV])), settings)


def _routes(app: FastAPI) -> None:

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page.render(app.openapi()))

    @app.get("/v1/health", summary="Is the server up and the library readable? (no token needed)")
    async def health(request: Request) -> dict[str, str]:
        try:
            server_state(request).data_version()
        except sqlite3.Error:
            raise ApiError(503, "unavailable", "the library cannot be read") from None
        return {"status": "ok", "version": __version__}

    dialect_help = ("Write placeholders in a sending platform's syntax: braze, iterable, klaviyo, mailchimp, "
                    "sfmc, hubspot (docs/reference/esp-export.md); default copydesk's own.")

    @app.get("/v1/content", summary="Approved, unexpired content (token scope: content)",
             description="Filters: brief, stage, channel. ETag over the listed approvals; "
                         "If-None-Match answers 304 when nothing changed. With a dialect, variants it cannot "
                         "express are left out and listed under 'skipped'.")
    async def list_content(
        request: Request,
        brief: str | None = Query(None, description="A brief id."),
        stage: str | None = Query(None, description="A lifecycle stage."),
        channel: str | None = Query(None, description="A channel."),
        dialect: str | None = Query(None, description=dialect_help),
        if_none_match: str | None = Header(None),
    ) -> Response:
        authorize(request, CONTENT_SCOPE)
        name = content.dialect_name(dialect)
        state = server_state(request)
        records, problems = state.records(clock.today(), name)
        listed = content.select(records, brief=brief, stage=stage, channel=channel)
        # what the dialect could not express, among the variants these filters select
        wanted = _ids(content.select(state.records(clock.today(), content.PLAIN)[0], brief=brief, stage=stage,
                                     channel=channel))
        skipped = [p for p in problems if p.variant_id in wanted]
        etag = content.list_etag(listed, name, skipped=len(skipped))
        if content.not_modified(if_none_match, etag):
            return Response(status_code=304, headers={"ETag": etag})
        body: dict[str, Any] = {"count": len(listed), "dialect": name, "items": listed}
        if skipped:
            body["skipped"] = content.skipped_json(skipped)
        return JSONResponse(body, headers={"ETag": etag})

    @app.get("/v1/content/{variant_id}", summary="One approved, unexpired variant (token scope: content)")
    async def get_content(
        request: Request, variant_id: str,
        dialect: str | None = Query(None, description=dialect_help),
        if_none_match: str | None = Header(None),
    ) -> Response:
        authorize(request, CONTENT_SCOPE)
        name = content.dialect_name(dialect)
        records, problems = server_state(request).records(clock.today(), name)
        found = [r for r in records if r["variant_id"] == variant_id]
        if not found:
            cannot = [p for p in problems if p.variant_id == variant_id]
            if cannot:
                raise ApiError(422, "untranslatable", f"{name} cannot express {cannot[0]}", field="dialect")
            raise ApiError(404, "not_found", "no approved, unexpired variant by that id", field="variant_id")
        etag = content.item_etag(found[0], name)
        if content.not_modified(if_none_match, etag):
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(found[0], headers={"ETag": etag})

    @app.post("/v1/campaigns/{campaign_id}/decide",
              summary="Decide for one contact (token scope: campaign:ID)",
              description="The decision, the rendered message and the trace: what "
                          "'copydesk campaign explain' shows for the same contact.")
    async def decide(request: Request, campaign_id: str, body: DecideRequest) -> JSONResponse:
        authorize(request, CAMPAIGN_SCOPE + campaign_id)
        state = server_state(request)
        return JSONResponse(_decide_one(state, campaign_id, body, field="contact"))

    @app.post("/v1/campaigns/{campaign_id}/decide/batch",
              summary="Decide for up to max_batch contacts (token scope: campaign:ID)",
              description="Each item is answered on its own: a bad item gets its error, the others "
                          "their decisions.")
    async def decide_batch(request: Request, campaign_id: str, body: BatchRequest) -> JSONResponse:
        authorize(request, CAMPAIGN_SCOPE + campaign_id)
        state = server_state(request)
        limit = state.settings.max_batch
        if len(body.items) > limit:
            raise ApiError(422, "invalid", f"at most {limit} contacts per call (got {len(body.items)})",
                           field="items")
        results = [_batch_item(state, campaign_id, i, item) for i, item in enumerate(body.items)]
        return JSONResponse({"count": len(results), "results": results})


def _ids(records: list[dict[str, Any]]) -> set[str]:
    return {str(r["variant_id"]) for r in records}


def _decide_one(state: ServerState, campaign_id: str, body: DecideRequest, *, field: str) -> dict[str, Any]:
    prefix = field.removesuffix("contact")
    if len(body.history) > state.settings.max_history:
        raise ApiError(422, "invalid", f"at most {state.settings.max_history} history records",
                       field=f"{prefix}history")
    contact = contact_record(body.contact, field=field)
    history = given_history(body.history, str(contact["contact_id"]), campaign_id, field=f"{prefix}history")
    moment = clock.now()
    try:
        result = decide_contact(state, campaign_id, contact, history, now=moment)
    except InputError as exc:
        # a contact value a rule cannot evaluate (invariant 9): this contact is refused
        raise ApiError(422, "invalid", exc.reason, field=f"{field}.{exc.field}" if exc.field else field) from None
    return decision_json(result, moment)


def _batch_item(state: ServerState, campaign_id: str, index: int, item: Any) -> dict[str, Any]:
    where = f"items.{index}"
    try:
        body = DecideRequest.model_validate(item)
        return {"index": index, "ok": True,
                "decision": _decide_one(state, campaign_id, body, field=f"{where}.contact")}
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = field_of(err.get("loc", ()))
        return {"index": index, "ok": False, **error_body(422, "invalid", str(err.get("msg", "invalid")),
                                                          f"{where}.{loc}" if loc else where)}
    except ApiError as exc:
        if exc.status >= 500 or exc.field == "campaign_id":
            raise  # the campaign itself cannot be used: every item would fail alike
        return {"index": index, "ok": False, **error_body(exc.status, exc.code, exc.message, exc.field)}
    except CopydeskError as exc:
        err2 = from_copydesk(exc)
        if err2.status >= 500:
            raise
        return {"index": index, "ok": False, **error_body(err2.status, err2.code, err2.message,
                                                          err2.field and f"{where}.{err2.field}")}
