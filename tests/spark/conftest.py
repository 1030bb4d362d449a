"""One local[2] Spark session for every Spark test (starting one takes seconds); skipped
with a reason where pyspark or Java is missing."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from copydesk.spark.session import java_available


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="the Spark tests need the spark extra: pip install -e '.[spark]'")
    if not java_available():
        pytest.skip("the Spark tests need a Java runtime (openjdk-17-jre-headless)")
    from copydesk.spark.session import spark_session

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = spark_session("local[2]", app_name="copydesk-tests")
    # small splits, so even small test files are read by several tasks (rows of one
    # contact land in different partitions), and few shuffle partitions (fast)
    session.conf.set("spark.sql.files.maxPartitionBytes", "1024")
    session.conf.set("spark.sql.files.openCostInBytes", "0")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()
