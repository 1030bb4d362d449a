"""Fixtures for the app tests: a sample workspace with a team, and AppTest runners."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from copydesk.services import Desk
from copydesk.ui.session import USER_KEY
from copydesk.workspace import Workspace
from tests.conftest import open_team_desk
from tests.fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
#: Seconds one script run may take before AppTest gives up (a hang guard, not a speed test).
RUN_TIMEOUT = 120

AppFactory = Callable[..., AppTest]


@pytest.fixture
def app_ws(sample_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The sample workspace (policy packs, campaigns, templates), pointed at by the app."""
    monkeypatch.setenv("COPYDESK_WORKSPACE", str(sample_ws.root))
    return sample_ws


@pytest.fixture
def team_desk(app_ws: Workspace) -> Iterator[Desk]:
    """The app workspace's library with the team of ``add_team`` and the sample briefs."""
    d = open_team_desk(app_ws)
    yield d
    d.close()


def new_app(user: str | None = None) -> AppTest:
    """An AppTest of ``app.py``, signed in as ``user`` when given (not yet run)."""
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)
    if user is not None:
        at.session_state[USER_KEY] = user
    return at


def page_path(module: str) -> str:
    """A page file relative to ``app.py``, for ``AppTest.switch_page``."""
    return f"copydesk/ui/pages/{module}.py"


def open_page(user: str, module: str) -> AppTest:
    """Run the app as ``user`` and switch to page ``module``."""
    at = new_app(user).run()
    assert not at.exception, at.exception
    at.switch_page(page_path(module)).run()
    return at


def texts(at: AppTest) -> str:
    """Every message, markdown, caption and title on the page, joined (for assertions)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "success", "error", "warning", "info"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


EMAIL = {"subject": "Care for your boots, {{ first_name | default('there') }}",
         "body": "Clean them after each walk and let them dry slowly.", "cta": "Read the guide"}


def in_review(
    d: Desk, author: str = "ana", brief: str = "boots-onboarding", fields: dict[str, str] | None = None
) -> str:
    """Add a draft by ``author`` and submit it; returns the variant id."""
    v = d.add_variant(brief, fields or EMAIL, actor=author)
    d.submit(v.id, actor=author)
    return v.id


def approved(d: Desk, author: str = "ana", reviewer: str = "ben", brief: str = "boots-onboarding",
             fields: dict[str, str] | None = None) -> str:
    """Add, submit and approve a variant; returns its id."""
    vid = in_review(d, author, brief, fields)
    d.approve(vid, actor=reviewer)
    return vid


@pytest.fixture
def stocked_desk(team_desk: Desk) -> Desk:
    """The team library with one variant in each status."""
    team_desk.add_variant("boots-onboarding", EMAIL, actor="ana")
    in_review(team_desk)
    approved(team_desk)
    rejected = in_review(team_desk, fields={**EMAIL, "cta": "Shop now"})
    team_desk.reject(rejected, actor="bea", comment="too pushy")
    retired = approved(team_desk, fields={**EMAIL, "cta": "See the guide"})
    team_desk.retire(retired, actor="ben")
    return team_desk


@pytest.fixture
def fake_llm(app_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server the app's workspace settings point at (via env)."""
    with FakeOpenAI() as server:
        monkeypatch.setenv("COPYDESK_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("COPYDESK_LLM_MODEL", "fake-model")
        monkeypatch.setenv("COPYDESK_LLM_BACKOFF_BASE", "0")
        monkeypatch.setenv("COPYDESK_LLM_MAX_RETRIES", "0")
        yield server
