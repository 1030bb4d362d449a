"""Starting (or reusing) a Spark session for copydesk, and a clear error when Spark cannot run.

pyspark is an optional extra (``pip install 'copydesk[spark]'``) and needs a Java runtime
(17 or later); either missing is a :class:`SparkUnavailable` naming what to install, never
a traceback. Executors run the interpreter in ``PYSPARK_PYTHON``: for a local master it is
set to this interpreter when unset, so tasks import the same copydesk (on a cluster the
nodes' own Python must have copydesk installed: docs/guides/spark.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from copydesk.errors import CopydeskError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"

#: Settings every copydesk session gets: no web UI or console progress bars, and UTC as
#: the session time zone so timestamps read from files mean what the local engine reads.
SESSION_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}

INSTALL_HINT = "install it with: pip install 'copydesk[spark]'"


class SparkUnavailable(CopydeskError):
    """pyspark is not installed, no Java runtime is found, or the session cannot start."""


def quiet_pandas_warning() -> None:
    """pyspark 4.3 warns that pandas 3 is not fully supported; copydesk only uses Arrow
    batches (``mapInArrow``), never pandas, so the warning does not apply."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def require_pyspark() -> None:
    """Raise :class:`SparkUnavailable` unless pyspark can be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(f"the Spark engine needs pyspark, which is not installed; {INSTALL_HINT}") from None


def java_available() -> bool:
    """True when a ``java`` executable is found (``JAVA_HOME`` first, then ``PATH``)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return True
    return shutil.which("java") is not None


def spark_session(master: str = DEFAULT_MASTER, *, app_name: str = "copydesk") -> SparkSession:
    """The active Spark session, or a new one on ``master`` with :data:`SESSION_CONF`.

    An active session (e.g. on Databricks) is reused as it is, except that its time zone
    is set to UTC; under ``spark-submit`` the master is the one given to spark-submit."""
    require_pyspark()
    quiet_pandas_warning()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    if not java_available():
        raise SparkUnavailable(
            "the Spark engine needs a Java runtime (17 or later) and none was found; install one "
            "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    if master.startswith("local"):
        # executors are started from PYSPARK_PYTHON (default: 'python3' on PATH, which would
        # not see this environment's copydesk)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder: Any = SparkSession.builder.appName(app_name)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        # under spark-submit (which starts the JVM and sets this) its --master decides
        builder = builder.master(master)
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as exc:  # py4j and pyspark raise several unrelated types when the JVM will not start
        raise SparkUnavailable(f"Spark could not start on master '{master}': {_first_line(exc)}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextlib.contextmanager
def session_for(master: str = DEFAULT_MASTER) -> Iterator[SparkSession]:
    """:func:`spark_session`, stopped on exit when this call started it (an active
    session, e.g. a notebook's, is left running)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    started = SparkSession.getActiveSession() is None
    session = spark_session(master)
    try:
        yield session
    finally:
        if started:
            session.stop()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
