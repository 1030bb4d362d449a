"""Fixtures for measurement tests: an in-memory library with the core's ``sends``
schema and the outcomes migration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlite_utils

from copydesk.measure.tables import migrate_outcomes
from tests.measure.measure_fixtures import create_sends


@pytest.fixture
def db() -> Iterator[sqlite_utils.Database]:
    database = sqlite_utils.Database(memory=True)
    create_sends(database)
    migrate_outcomes(database)
    yield database
    database.close()
