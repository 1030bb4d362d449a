"""Fixtures for the generation tests: the fake OpenAI server and a desk with prompts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from copydesk.llm.openai_backend import OpenAIBackend
from copydesk.llm.settings import load_settings
from copydesk.services import Desk
from tests.fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI-compatible server on a free 127.0.0.1 port."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def gen_desk(desk: Desk) -> Desk:
    """The core ``desk`` fixture (team, sample briefs, no policy) plus the prompt files."""
    assert desk.workspace is not None
    shutil.copytree(REPO / "prompts", desk.workspace.prompts_dir)
    return desk


@pytest.fixture
def make_backend(fake_openai: FakeOpenAI):  # type: ignore[no-untyped-def]
    """Build an OpenAIBackend on the fake server; sleeps are recorded, not slept."""

    def build(**settings: object) -> OpenAIBackend:
        values = {"base_url": fake_openai.base_url, "model": "fake-model", "timeout": 5.0,
                  "backoff_base": 0.01, **settings}
        backend = OpenAIBackend(load_settings({}, overrides=values))
        slept: list[float] = []

        async def asleep(delay: float) -> None:
            slept.append(delay)

        backend._asleep = asleep
        return backend

    return build
