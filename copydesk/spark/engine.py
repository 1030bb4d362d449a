"""The Spark engine: the local engine's decide-and-render code, run in Spark executors.

:func:`render` takes contacts that already live in Spark (a DataFrame); :func:`render_source`
reads a CSV, JSONL or Parquet path or a table first (:mod:`copydesk.spark.read`). Both return
a :class:`SparkRender` whose ``messages`` and ``rejects`` are DataFrames; its
:meth:`~SparkRender.write` writes them as Parquet datasets.

What happens where:

- **On the driver**, once: the run's :class:`~copydesk.render.chunk.RenderJob` (campaign
  file, the library approved at the start, the template texts, the clock) is built and
  compiled (a bad template fails here, before any task runs), pickled and broadcast. It
  holds no contact data. Only counts come back: rows per input partition (to number rows)
  and the summary's outcome counts.
- **In the executors**: reading and typing rows, one message per contact (the first
  occurrence in input order wins; later ones are rejects naming the first row, as in the
  local engine), the send history joined by contact id (never broadcast), and
  :class:`~copydesk.render.chunk.ChunkRenderer` on each Arrow batch inside ``mapInArrow``.
  Contacts and messages never pass through the driver.

Output values are the local engine's Parquet output, column for column (all text), with
``snapshot_sha256`` in every row; rejects have :data:`~copydesk.render.audience.REJECT_COLUMNS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from copydesk.errors import CopydeskError, InputError, UsageError
from copydesk.inputs import printable
from copydesk.models import ApprovedContent, SendRecord
from copydesk.render.audience import ID_FIELD, REJECT_COLUMNS, Record, Reject, cell_text
from copydesk.render.chunk import BASE_COLUMNS, ChunkRenderer, RenderJob, Summary, index_history, output_columns
from copydesk.render.templates import TemplateSnapshot
from copydesk.render.unique import duplicate_reject
from copydesk.rules.campaign import CampaignFile
from copydesk.spark.read import items_from_dataframe, read_audience
from copydesk.spark.session import quiet_pandas_warning

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

KIND = "_kind"
#: The partition column of the one-pass write (a name Spark does not hide, unlike ``_kind``).
PART = "copydesk_part"
REJECT_PREFIX = "_reject_"
_REJECT_TYPES = {"row": "long", "line": "long"}


@dataclass
class SparkRender:
    """One Spark render: ``messages`` and ``rejects`` DataFrames over one shared plan.

    Both are lazy and come from the same ``mapInArrow`` stage (:attr:`combined`): reading
    both without :meth:`write` (or persisting :attr:`combined` first) renders twice."""

    combined: DataFrame
    columns: list[str]
    snapshot_sha256: str

    @property
    def messages(self) -> DataFrame:
        """One row per decided contact, :attr:`columns` as text (rendered fields for selected ones)."""
        from pyspark.sql import functions as F

        return self.combined.where(F.col(KIND) == "message").select(*self.columns)

    @property
    def rejects(self) -> DataFrame:
        """Rows that could not be read, decided or rendered, and why (``REJECT_COLUMNS``)."""
        from pyspark.sql import functions as F

        return self.combined.where(F.col(KIND) == "reject").select(
            *(F.col(REJECT_PREFIX + c).alias(c) for c in REJECT_COLUMNS)
        )

    def write(self, out: str | Path, rejects: str | Path | None = None) -> Summary:
        """Render once and write ``messages`` to the Parquet dataset ``out`` (a folder of
        part files) and ``rejects`` (default: :func:`default_rejects_dir`); returns the
        counts (the only thing that comes back to the driver). An earlier Parquet dataset
        at either path is replaced; anything else there is a :class:`UsageError`."""
        out_text = str(out)
        rejects_text = str(rejects) if rejects is not None else default_rejects_dir(out_text)
        for target in (out_text, rejects_text):
            if target.lower().endswith((".csv", ".jsonl", ".ndjson")):
                raise UsageError(f"{target}: Spark writes a folder of Parquet files; name it without "
                                 ".csv/.jsonl (e.g. 'messages' or 'messages.parquet')")
        with spark_errors():
            fs = _HadoopFiles.of(self.combined.sparkSession)
            if fs is not None:
                for target in (out_text, rejects_text):
                    fs.check_replaceable(target)
                self._write_once(fs, out_text, rejects_text)
            else:
                self._write_twice(out_text, rejects_text)
            spark = self.combined.sparkSession
            from pyspark.sql import functions as F

            counts = [("message", *r) for r in spark.read.parquet(out_text).groupBy(
                "decision", "reason", "variant_id").agg(F.count("*")).collect()]
            counts.append(("reject", None, None, None, spark.read.parquet(rejects_text).count()))
        summary = summary_of(counts)
        summary.out = Path(out_text)
        summary.rejects = Path(rejects_text)
        return summary

    def _write_once(self, fs: _HadoopFiles, out: str, rejects: str) -> None:
        """One render, one Parquet write: reject rows ride in message columns
        (:data:`REJECT_SLOTS`) of a dataset partitioned by kind; the message folder becomes
        ``out`` and the (small) reject folder is rewritten with the reject columns."""
        from pyspark.sql import functions as F

        spark = self.combined.sparkSession
        is_reject = F.col(KIND) == "reject"
        slot_of = {slot: c for c, slot in REJECT_SLOTS.items()}
        packed = self.combined.select(F.col(KIND).alias(PART), *(
            F.when(is_reject, F.col(REJECT_PREFIX + slot_of[c]).cast("string")).otherwise(F.col(c)).alias(c)
            if c in slot_of else F.col(c) for c in self.columns))
        staging = f"{out.rstrip('/')}.copydesk-staging"
        fs.delete(staging)
        # two open writers per task (messages, rejects) instead of sorting every task's
        # rendered rows by kind before writing
        conf = spark.conf
        before = conf.get("spark.sql.maxConcurrentOutputFileWriters", "0")
        conf.set("spark.sql.maxConcurrentOutputFileWriters", "2")
        try:
            _text_writer(packed.write.partitionBy(PART), self.columns).parquet(staging)
        finally:
            conf.set("spark.sql.maxConcurrentOutputFileWriters", before or "0")
        kept = f"{staging}/{PART}=reject"
        found = spark.read.parquet(kept) if fs.exists(kept) else None
        if found is not None:
            unpacked = found.select(*(
                F.col(REJECT_SLOTS[c]).cast(_REJECT_TYPES.get(c, "string")).alias(c) for c in REJECT_COLUMNS))
        else:
            unpacked = spark.createDataFrame([], _reject_schema())
        unpacked.write.mode("overwrite").parquet(rejects)
        messages = f"{staging}/{PART}=message"
        fs.delete(out)
        if fs.exists(messages):
            fs.rename(messages, out)
            fs.touch(f"{out}/_SUCCESS")
        else:
            spark.createDataFrame([], ", ".join(f"`{c}` string" for c in self.columns)).write.parquet(out)
        fs.delete(staging)

    def _write_twice(self, out: str, rejects: str) -> None:
        """Where the files cannot be moved (Spark Connect): rendered rows kept on the
        executors' disks between the two writes (``DISK_ONLY``), never on the driver. Nothing
        existing is replaced here (what it is cannot be checked): remove an old output first."""
        from pyspark import StorageLevel

        kept = self.combined.persist(StorageLevel.DISK_ONLY)
        try:
            _text_writer(self.messages.write.mode("errorifexists"), self.columns).parquet(out)
            self.rejects.write.mode("errorifexists").parquet(rejects)
        finally:
            kept.unpersist()


def _text_writer(writer: Any, columns: Sequence[str]) -> Any:
    """``writer`` without Parquet dictionaries for the rendered text (every value differs:
    building and dropping a dictionary per page cost more than the rest of the write)."""
    for c in columns:
        if c not in BASE_COLUMNS:
            writer = writer.option(f"parquet.enable.dictionary#{c}", "false")
    return writer


#: Where a reject's fields ride in the message columns while both are written in one pass.
REJECT_SLOTS = {"row": "campaign_id", "line": "channel", "contact_id": "contact_id", "stage": "decision",
                "field": "rule_id", "value": "variant_id", "reason": "reason"}


def _reject_schema() -> str:
    return ", ".join(f"`{c}` {_REJECT_TYPES.get(c, 'string')}" for c in REJECT_COLUMNS)


class _HadoopFiles:
    """Deleting, testing and moving paths through the session's Hadoop file system (any
    storage Spark writes to: local, HDFS, cloud stores)."""

    def __init__(self, spark: Any) -> None:
        self._jvm = spark._jvm
        self._conf = spark._jsc.hadoopConfiguration()

    @classmethod
    def of(cls, spark: Any) -> _HadoopFiles | None:
        """For a classic session; ``None`` under Spark Connect (no JVM in this process)."""
        try:
            return cls(spark) if getattr(spark, "_jvm", None) is not None else None
        except Exception:  # Spark Connect sessions have no _jsc
            return None

    def _path(self, path: str) -> tuple[Any, Any]:
        p = self._jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self._conf), p

    def exists(self, path: str) -> bool:
        fs, p = self._path(path)
        return bool(fs.exists(p))

    def delete(self, path: str) -> None:
        fs, p = self._path(path)
        if fs.exists(p):
            fs.delete(p, True)

    def rename(self, source: str, target: str) -> None:
        fs, p = self._path(source)
        if not fs.rename(p, self._jvm.org.apache.hadoop.fs.Path(target)):
            raise CopydeskError(f"could not move {source} to {target}")

    def check_replaceable(self, path: str) -> None:
        """Refuse to replace ``path`` unless it is absent, an empty folder or a Parquet
        dataset Spark wrote (a ``_SUCCESS`` marker beside part files): a mistyped --out
        must never delete someone's folder."""
        fs, p = self._path(path)
        if not fs.exists(p):
            return
        if not fs.getFileStatus(p).isDirectory():
            raise UsageError(f"{path} exists and is a file; Spark writes a folder of Parquet files there")
        names = [status.getPath().getName() for status in fs.listStatus(p)]
        ours = all(n.startswith(("part-", "_", ".")) for n in names)
        if names and not (ours and "_SUCCESS" in names):
            raise UsageError(f"{path} exists and is not a Parquet dataset written by Spark; "
                             "choose another folder or remove it")

    def touch(self, path: str) -> None:
        fs, p = self._path(path)
        fs.create(p, True).close()


def summary_of(counts: Iterable[Sequence[Any]]) -> Summary:
    """A :class:`Summary` from ``(kind, decision, reason, variant_id, count)`` rows."""
    summary = Summary()
    for kind, decision, reason, variant_id, n in counts:
        summary.total += n
        if kind == "reject":
            summary.rejected += n
        elif decision == "selected":
            summary.rendered += n
            summary.variants[variant_id] += n
        elif decision == "holdout":
            summary.held_out += n
        elif decision == "suppressed":
            summary.suppressed[reason] += n
        elif decision == "capped":
            summary.capped += n
        else:
            summary.no_variant += n
    return summary


def default_rejects_dir(out: str) -> str:
    """``.../messages`` → ``.../messages.rejects``; ``messages.parquet`` → ``messages.rejects.parquet``."""
    trimmed = out.rstrip("/")
    head, sep, name = trimmed.rpartition("/")
    stem = name.split(".")[0]
    suffix = ".parquet" if name.lower().endswith(".parquet") else ""
    return f"{head}{sep}{stem}.rejects{suffix}"


def render(
    contacts: DataFrame,
    campaign_file: CampaignFile,
    *,
    library: Sequence[ApprovedContent],
    templates_dir: Path | None = None,
    snapshot: TemplateSnapshot | None = None,
    history: Iterable[SendRecord] | DataFrame | None = None,
    now: datetime | None = None,
    today: date | None = None,
    explain: bool = False,
    partitions: int | None = None,
) -> SparkRender:
    """Decide and render ``campaign_file`` for the contacts of a Spark DataFrame (one row per
    contact, a ``contact_id`` column; column types as Arrow carries them).

    ``library`` is the approved content at the start of the run
    (``Desk.approved_content(day)``) and the templates come from ``templates_dir`` or a
    ``snapshot`` of it, read once now: later approvals or template edits cannot change
    the run. ``history`` (sends, as records or a DataFrame with :class:`SendRecord`
    columns) is joined by contact id for the frequency cap. Returns the lazy result;
    call :meth:`SparkRender.write` to write it."""
    quiet_pandas_warning()
    return render_items(items_from_dataframe(contacts), campaign_file, library=library,
                        templates=_templates(templates_dir, snapshot), history=history, now=now,
                        today=today, explain=explain, partitions=partitions)


def render_source(
    spark: SparkSession,
    source: str | Path,
    campaign_file: CampaignFile,
    *,
    library: Sequence[ApprovedContent],
    templates_dir: Path | None = None,
    snapshot: TemplateSnapshot | None = None,
    history: Iterable[SendRecord] | DataFrame | None = None,
    now: datetime | None = None,
    today: date | None = None,
    explain: bool = False,
    partitions: int | None = None,
) -> SparkRender:
    """:func:`render` for an audience path (``.csv``, ``.jsonl``, ``.parquet``, or a folder
    so named) or ``table:NAME``, read and typed in the executors as the local readers do."""
    quiet_pandas_warning()
    return render_items(read_audience(spark, source), campaign_file, library=library,
                        templates=_templates(templates_dir, snapshot), history=history, now=now,
                        today=today, explain=explain, partitions=partitions)


def _templates(templates_dir: Path | None, snapshot: TemplateSnapshot | None) -> TemplateSnapshot:
    if (templates_dir is None) == (snapshot is None):
        raise CopydeskError("give either templates_dir or snapshot")
    return snapshot if snapshot is not None else TemplateSnapshot.read(Path(templates_dir or "."))


def render_items(
    items: DataFrame,
    campaign_file: CampaignFile,
    *,
    library: Sequence[ApprovedContent],
    templates: TemplateSnapshot,
    history: Iterable[SendRecord] | DataFrame | None = None,
    now: datetime | None = None,
    today: date | None = None,
    explain: bool = False,
    partitions: int | None = None,
) -> SparkRender:
    """:func:`render` for an items DataFrame (:data:`copydesk.spark.read.ITEM_SCHEMA`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = items.sparkSession
    job = RenderJob.build(campaign_file, library, templates, now=now, today=today, explain=explain)
    # compiles everything up front: a bad template fails before any task runs
    columns = output_columns(ChunkRenderer(job).renderer.columns, explain=explain)
    n = partitions or _partitions(spark)
    # one message per contact: the first occurrence in input order (file, row) wins. The
    # explicit partitioning by contact id is shared by the window and the history join
    # (one shuffle of the audience), and sets how many tasks render.
    keyed = items.repartition(n, "_k").withColumn(
        "_first", F.min(F.struct("_file", "_row")).over(Window.partitionBy("_k")))
    sends = _sends(spark, history, job, n)
    if sends is not None:
        keyed = keyed.join(sends, on="_k", how="left")
    else:
        keyed = keyed.withColumn("_sends", F.lit(None).cast("array<binary>"))
    payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    shipped: Any = _broadcast(spark, payload)
    combined = keyed.select("_k", "_file", "_row", "item", "_first", "_sends").mapInArrow(
        partial(_render_batches, shipped, tuple(columns)), _result_schema(columns)
    )
    return SparkRender(combined, columns, job.snapshot_sha256)


def _partitions(spark: SparkSession) -> int:
    """Render tasks: three per core Spark has (so a slow task does not hold up the others)."""
    try:
        return max(2, 3 * spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no sparkContext: the session's shuffle setting
        return int(spark.conf.get("spark.sql.shuffle.partitions") or 200)


def _broadcast(spark: SparkSession, payload: bytes) -> Any:
    """The pickled job as a broadcast variable (sent once per executor), or the bytes
    themselves where the session has no SparkContext (Spark Connect)."""
    try:
        return spark.sparkContext.broadcast(payload)
    except Exception:  # Spark Connect has no sparkContext: the bytes travel with each task
        return payload


def _result_schema(columns: Sequence[str]) -> str:
    parts = [f"`{KIND}` string", *(f"`{c}` string" for c in columns)]
    parts += [f"`{REJECT_PREFIX}{c}` {_REJECT_TYPES.get(c, 'string')}" for c in REJECT_COLUMNS]
    return ", ".join(parts)


# -- send history ----------------------------------------------------------------------

def _sends(
    spark: SparkSession, history: Iterable[SendRecord] | DataFrame | None, job: RenderJob, partitions: int
) -> DataFrame | None:
    """``_k`` → ``_sends`` (pickled records in the cap window), or ``None`` when the
    campaign has no cap or there is no history."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    cap = job.campaign_file.campaign.frequency_cap
    if cap is None or history is None:
        return None
    channel = job.campaign_file.campaign.channel
    since = job.now - timedelta(days=cap.per_days)
    if isinstance(history, DataFrame):
        rows = history.mapInArrow(partial(_history_rows, channel.value, since), "_k string, send binary")
    else:
        import pyarrow as pa

        index = index_history(history, channel=channel, since=since)
        if not index:
            return None
        keys = [cid for cid, recs in index.items() for _ in recs]
        blobs = [pickle.dumps(rec) for recs in index.values() for rec in recs]
        table = pa.table({"_k": pa.array(keys, pa.string()), "send": pa.array(blobs, pa.binary())})
        rows = spark.createDataFrame(table)
    return rows.repartition(partitions, "_k").groupBy("_k").agg(F.collect_list("send").alias("_sends"))


def _history_rows(channel: str, since: datetime, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A DataFrame of sends → ``(_k, pickled SendRecord)`` for the cap window. A row that
    is not a valid send stops the run (fail closed: an undercounted history over-sends)."""
    import pyarrow as pa

    names = set(SendRecord.model_fields)
    for batch in batches:
        keys: list[str] = []
        blobs: list[bytes] = []
        for obj in batch.to_pylist():
            data = {k: v for k, v in obj.items() if k in names and v is not None}
            try:
                rec = SendRecord.model_validate(data)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise InputError(f"not a valid send: {printable(str(err['msg']))}", source="send history",
                                 field=".".join(str(p) for p in err["loc"]) or None) from None
            if rec.channel.value == channel and not rec.holdout and rec.sent_at > since:
                keys.append(rec.contact_id)
                blobs.append(pickle.dumps(rec))
        yield pa.RecordBatch.from_arrays([pa.array(keys, pa.string()), pa.array(blobs, pa.binary())],
                                         names=["_k", "send"])


# -- in the executors ------------------------------------------------------------------

_RENDERERS: dict[bytes, ChunkRenderer] = {}


def _renderer(shipped: Any) -> ChunkRenderer:
    """The chunk renderer for this job, built once per Python worker (workers are reused
    across tasks) from the broadcast job."""
    payload: bytes = shipped if isinstance(shipped, bytes) else shipped.value
    key = hashlib.sha256(payload).digest()
    renderer = _RENDERERS.get(key)
    if renderer is None:
        _RENDERERS.clear()
        renderer = _RENDERERS[key] = ChunkRenderer(pickle.loads(payload))
    return renderer


def _render_batches(
    shipped: Any, columns: tuple[str, ...], batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    renderer = _renderer(shipped)
    for batch in batches:
        data = batch.to_pydict()
        chunk: list[Record | Reject] = []
        history: dict[str, list[SendRecord]] = {}
        for key, file, row, blob, first, sends in zip(
            data["_k"], data["_file"], data["_row"], data["item"], data["_first"], data["_sends"], strict=True
        ):
            item: Record | Reject = pickle.loads(blob)
            if key is not None and isinstance(item, Record) and (first["_file"], first["_row"]) != (file, row):
                item = duplicate_reject(item.row, item.line, item.data[ID_FIELD], first["_row"])
            elif key is not None and sends:
                history[key] = [pickle.loads(s) for s in sends]
            chunk.append(item)
        rows, rejects, _ = renderer.run(chunk, history)
        yield _result_batch(rows, rejects, columns)


def _result_batch(
    rows: list[dict[str, Any]], rejects: list[Reject], columns: tuple[str, ...]
) -> pa.RecordBatch:
    import pyarrow as pa

    n, r = len(rows), len(rejects)
    arrays: list[pa.Array] = [pa.array(["message"] * n + ["reject"] * r, pa.string())]
    for c in columns:
        values = [_cell(c, row.get(c)) for row in rows]
        arrays.append(pa.array(values + [None] * r, pa.string()))
    for c in REJECT_COLUMNS:
        kind = pa.int64() if c in _REJECT_TYPES else pa.string()
        arrays.append(pa.array([None] * n + [getattr(rej, c) for rej in rejects], kind))
    names = [KIND, *columns, *(REJECT_PREFIX + c for c in REJECT_COLUMNS)]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _cell(column: str, value: Any) -> str | None:
    """A value as the local engine's Parquet writer stores it (the trace as JSON text)."""
    if value is None:
        return None
    if column == "trace":
        value = json.dumps(value, ensure_ascii=False)
    return cell_text(value)


# -- errors ----------------------------------------------------------------------------

_EXECUTOR_ERROR = re.compile(r"copydesk\.errors\.\w+: (.+)")


@contextlib.contextmanager
def spark_errors() -> Iterator[None]:
    """Turn a failed Spark job into a one-line :class:`CopydeskError`: the copydesk error
    an executor raised when there is one, else the first line of Spark's message."""
    try:
        yield
    except CopydeskError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        text = str(exc)
        found = _EXECUTOR_ERROR.search(text)
        if found is not None:
            raise CopydeskError(found.group(1).strip()) from None
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        raise CopydeskError(f"the Spark job failed: {first}") from None
