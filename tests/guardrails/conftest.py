"""Fixtures for the guardrail tests: the sample policy and small ad-hoc packs."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

from copydesk.guardrails import Policy, load_policy  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "guardrails"


@pytest.fixture(scope="session")
def sample_policy() -> Policy:
    """The sample workspace's effective policy (Ridgeline Outfitters)."""
    return load_policy(SAMPLE)


@pytest.fixture
def make_policy(tmp_path: Path) -> Callable[[str], Policy]:
    """Write a pack (YAML text, dedented) to a temp file and load it."""
    counter = iter(range(10_000))

    def make(text: str) -> Policy:
        path = tmp_path / f"pack{next(counter)}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_policy(path)

    return make
