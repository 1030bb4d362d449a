"""A workspace with approved variants for the sample campaigns, API tokens, and a real
uvicorn server on 127.0.0.1 (a free port, on a thread) started and stopped per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from copydesk.api.server import running
from copydesk.api.settings import ApiSettings
from copydesk.services import Desk
from copydesk.workspace import Workspace


@pytest.fixture
def ws(campaign_ws: Workspace) -> Workspace:
    return campaign_ws


@pytest.fixture
def content_token(desk: Desk, ws: Workspace) -> str:
    return desk.create_token("content-reader", "content", actor="admin")[1]


@pytest.fixture
def campaign_token(desk: Desk, ws: Workspace) -> str:
    return desk.create_token("braze", "campaign:spring-boots", actor="admin")[1]


Serve = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture
def serve(ws: Workspace) -> Iterator[Serve]:
    """``with serve(**settings) as client:`` a server on a free port and an httpx client for it."""
    from contextlib import contextmanager

    @contextmanager
    def start(**settings: object) -> Iterator[httpx.Client]:
        with running(ws, ApiSettings(**settings)) as url, httpx.Client(base_url=url, timeout=30) as client:  # type: ignore[arg-type]
            yield client

    yield start


@pytest.fixture
def api(serve: Serve) -> Iterator[httpx.Client]:
    """A server with the default limits."""
    with serve() as client:
        yield client

