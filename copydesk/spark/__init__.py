"""The Spark engine (``pip install 'copydesk[spark]'``): the local engine's decisions and
renders, run in Spark executors, for audiences beyond one machine.

- :func:`render` — contacts already in a Spark DataFrame → a :class:`SparkRender`
  (``messages`` and ``rejects`` DataFrames; ``write()`` writes both as Parquet);
- :func:`render_source` — the same from a CSV/JSONL/Parquet path or ``table:NAME``;
- :func:`spark_session` — a session with copydesk's settings (UTC, no UI), or a clear
  :class:`SparkUnavailable` when pyspark or Java is missing.

Importing this package does not import pyspark. See docs/guides/spark.md.
"""

from copydesk.spark.engine import SparkRender, default_rejects_dir, render, render_source
from copydesk.spark.session import DEFAULT_MASTER, SparkUnavailable, spark_session

__all__ = [
    "DEFAULT_MASTER",
    "SparkRender",
    "SparkUnavailable",
    "default_rejects_dir",
    "render",
    "render_source",
    "spark_session",
]
