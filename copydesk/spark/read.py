"""Audiences as Spark DataFrames of typed items, read and typed in the executors exactly as
the local file readers do it.

Every source becomes an *items* DataFrame (:data:`ITEM_SCHEMA`): one row per audience row
with ``_k`` (the contact id of a good row, null for a reject), ``_file`` and ``_row`` (the
row's place in input order: file, then 1-based row within it) and ``item`` (the pickled
:class:`~copydesk.render.audience.Record` or :class:`~copydesk.render.audience.Reject`,
only ever unpickled by copydesk's own executor code).

- **CSV and JSONL** are read as raw text lines (Spark's ``text`` source, ``\\n`` as the
  only line separator, the bytes kept as they are) and typed with the same code as the
  local readers: Python's ``csv`` module and
  :func:`~copydesk.render.audience.record_from_cells`; :func:`~copydesk.inputs.json_object`
  and :func:`~copydesk.render.audience.record_from_object`. So quoting, byte-order marks,
  invalid UTF-8, blank lines and rejects are handled identically. One pass in the JVM
  counts each file block's lines and blank lines (and, for CSV, finds lines with an odd
  number of quotes), so each block is then read where it lies with the file's own line
  and row numbers (for a folder of several files: within each file). A CSV file with a
  quoted line break (a record may span two blocks) is read whole, in order, by one task.
- **Parquet, tables and DataFrames** arrive as Arrow batches and are typed with
  :func:`~copydesk.render.audience.record_from_object`; ``row`` counts rows in Spark's
  read order (for one Parquet file: the file's order) and ``line`` is empty.
"""

from __future__ import annotations

import csv
import itertools
import pickle
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copydesk.errors import InputError, UsageError
from copydesk.inputs import json_object
from copydesk.render.audience import (
    ID_FIELD,
    Record,
    Reject,
    csv_header,
    csv_rows,
    file_format,
    record_from_object,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

ITEM_SCHEMA = "_k string, _file string, _row long, item binary"
TABLE_PREFIX = "table:"
BATCH_ROWS = 2048
_BOM = b"\xef\xbb\xbf"
# Python's text files (newline="") also end a line at a bare CR; Spark splits at LF only
_BARE_CR = re.compile(r"(?<=\r)(?!\n)")


# -- on the driver ---------------------------------------------------------------------

def read_audience(spark: SparkSession, source: str | Path) -> DataFrame:
    """The items of an audience: a ``.csv``, ``.jsonl``/``.ndjson`` or ``.parquet`` file (or
    a folder of them, named with that extension; any path Spark can read), or
    ``table:NAME`` for a table in the session's catalog."""
    text = str(source)
    if text.startswith(TABLE_PREFIX):
        name = text[len(TABLE_PREFIX):]
        if not name:
            raise UsageError("table: needs a table name (table:db.contacts)")
        try:
            df = spark.table(name)
        except Exception as exc:  # AnalysisException and friends: the table does not exist
            raise InputError(f"cannot read table: {_first_line(exc)}", source=name) from None
        return items_from_dataframe(df, source=name)
    fmt = file_format(text)
    if "://" not in text and not Path(text).exists():
        raise InputError("file not found", source=text)
    if fmt == "parquet":
        try:
            df = spark.read.parquet(text)
        except Exception as exc:  # not Parquet, unreadable
            raise InputError(f"not a readable Parquet file: {_first_line(exc)}", source=text) from None
        return items_from_dataframe(df, source=text)
    return _items_from_text(spark, text, fmt)


def items_from_dataframe(df: DataFrame, *, source: str = "the DataFrame") -> DataFrame:
    """The items of a DataFrame of contacts (any column types Arrow can carry)."""
    from pyspark.sql import functions as F

    if ID_FIELD not in df.columns:
        raise InputError(f"no '{ID_FIELD}' column (columns: {', '.join(df.columns)})", source=source)
    # rows per partition, so each task can number its rows in input order (a count, no contact data)
    counts: dict[int, int] = dict(df.groupBy(F.spark_partition_id().alias("p")).count().collect())
    offsets: dict[int, int] = {}
    total = 0
    for pid in sorted(counts):
        offsets[pid] = total
        total += counts[pid]
    return df.mapInArrow(partial(_typed_items, offsets), ITEM_SCHEMA)


# Lines a reader skips as blank: Python's bytes.strip() whitespace (JSONL) and str.strip()
# whitespace (CSV), as Java regular expressions
_BLANK = {
    "jsonl": r"^[ \t\r\x0B\f]*$",
    "csv": r"^[\s\x1C-\x1F\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
}


def _items_from_text(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    from pyspark.sql import functions as F

    text = spark.read.option("lineSep", "\n").text(path).select(
        "value",
        F.col("_metadata.file_path").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_seq"),
    )
    blocks = _block_stats(text, fmt)
    headers = _check_csv_headers(blocks, path) if fmt == "csv" else {}
    # a CSV file with a quoted line break may have records that span blocks: its lines go
    # to one task, in order; every other file is read block by block where it lies
    spanning = sorted({b.file for b in blocks if b.odd_quotes})
    lines = text.select(F.col("value").cast("binary").alias("value"), "_file", "_block", "_seq")
    plan = _block_plan(blocks, fmt)
    parts = []
    if len(spanning) < len({b.file for b in blocks}) or not blocks:
        in_place = lines.where(~F.col("_file").isin(spanning)) if spanning else lines
        parts.append(in_place.select("_file", "_block", "value").mapInArrow(
            partial(_block_items, fmt, plan, headers), ITEM_SCHEMA))
    if spanning:
        ordered = (lines.where(F.col("_file").isin(spanning)).repartition("_file")
                   .sortWithinPartitions("_file", "_block", "_seq").select("_file", "value"))
        parts.append(ordered.mapInArrow(partial(_text_items, fmt), ITEM_SCHEMA))
    return parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])


@dataclass(frozen=True, order=True)
class _Block:
    """Counts for one block (split) of a text file: its lines, blank lines, whether a line
    has an odd number of quotes (a quoted field spans lines), and its first line."""

    file: str
    start: int
    lines: int
    blank: int
    odd_quotes: bool
    head: bytes


def _block_stats(text: DataFrame, fmt: str) -> list[_Block]:
    """One pass in the JVM (no Python, no contact data leaves it but each block's first
    line, of which only the files' headers are used)."""
    from pyspark.sql import functions as F

    value = F.col("value")
    quotes = F.length(value) - F.length(F.regexp_replace(value, '"', ""))
    rows = text.groupBy("_file", "_block").agg(
        F.count("*").alias("lines"),
        F.sum(F.when(value.rlike(_BLANK[fmt]), 1).otherwise(0)).alias("blank"),
        F.max(F.when(quotes % 2 == 1, 1).otherwise(0)).alias("odd") if fmt == "csv" else F.lit(0).alias("odd"),
        F.min_by(F.when(F.col("_block") == 0, value.cast("binary")), "_seq").alias("head"),
    ).collect()
    return sorted(_Block(r["_file"], r["_block"], r["lines"], r["blank"], bool(r["odd"]),
                         bytes(r["head"]) if r["head"] is not None else b"") for r in rows)


def _block_plan(blocks: list[_Block], fmt: str) -> dict[tuple[str, int], tuple[int, int]]:
    """``(file, block start)`` → lines and rows before the block in its file."""
    plan: dict[tuple[str, int], tuple[int, int]] = {}
    file, lines, rows = None, 0, 0
    for b in blocks:
        if b.file != file:
            file, lines, rows = b.file, 0, 0
        plan[(b.file, b.start)] = (lines, rows)
        lines += b.lines
        rows += b.lines - b.blank - (1 if fmt == "csv" and b.start == 0 else 0)
    return plan


def _check_csv_headers(blocks: list[_Block], path: str) -> dict[str, list[str]]:
    """Every file's header, checked as the local reader checks it (a bad header is a
    whole-file error)."""
    heads = {b.file: b.head for b in blocks if b.start == 0}
    headers: dict[str, list[str]] = {}
    for file, head in sorted(heads.items()):
        header = csv_header(Path(file if len(heads) > 1 else path), head)
        if header is not None:
            headers[file] = header
    return headers


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# -- in the executors ------------------------------------------------------------------

def _item_batch(rows: list[tuple[str | None, str, int, bytes]]) -> pa.RecordBatch:
    import pyarrow as pa

    keys, files, nums, items = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.RecordBatch.from_arrays(
        [pa.array(keys, pa.string()), pa.array(files, pa.string()), pa.array(nums, pa.int64()),
         pa.array(items, pa.binary())],
        names=["_k", "_file", "_row", "item"],
    )


def _as_rows(file: str, items: Iterable[Record | Reject]) -> Iterator[tuple[str | None, str, int, bytes]]:
    for item in items:
        key = item.data[ID_FIELD] if isinstance(item, Record) else None
        yield key, file, item.row, pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


def _batched(rows: Iterator[tuple[str | None, str, int, bytes]]) -> Iterator[pa.RecordBatch]:
    while chunk := list(itertools.islice(rows, BATCH_ROWS)):
        yield _item_batch(chunk)


def _typed_items(offsets: dict[int, int], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Arrow batches of typed contacts → items, numbered after this partition's offset."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    start = offsets.get(ctx.partitionId() if ctx is not None else 0, 0)

    def items() -> Iterator[Record | Reject]:
        row = start
        for batch in batches:
            try:
                objs: list[Any] = batch.to_pylist()
            except Exception:  # a value Python cannot hold: row by row, as the Parquet reader does
                objs = [_one_row(batch, i) for i in range(batch.num_rows)]
            for obj in objs:
                row += 1
                yield record_from_object(obj, row, None)

    yield from _batched(_as_rows("", items()))


def _one_row(batch: pa.RecordBatch, index: int) -> dict[str, Any] | str:
    try:
        return batch.slice(index, 1).to_pylist()[0]  # type: ignore[no-any-return]
    except Exception as exc:  # pyarrow's conversion errors have no common base
        return f"unreadable value: {exc}"


def _text_items(fmt: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Raw lines, grouped by file in line order → items, as the local readers make them."""
    reader: Callable[[Iterator[bytes]], Iterator[Record | Reject]] = _csv_items if fmt == "csv" else _jsonl_items

    def lines() -> Iterator[tuple[str, bytes]]:
        for batch in batches:
            yield from zip(batch.column("_file").to_pylist(), batch.column("value").to_pylist(), strict=True)

    def rows() -> Iterator[tuple[str | None, str, int, bytes]]:
        for file, group in itertools.groupby(lines(), key=lambda pair: pair[0]):
            yield from _as_rows(file, reader(raw for _, raw in group))

    yield from _batched(rows())


def _block_items(
    fmt: str, plan: dict[tuple[str, int], tuple[int, int]], headers: dict[str, list[str]],
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """Raw lines of whole blocks, each block's lines together and in order (as a text scan
    gives them) → items, numbered after the lines and rows of the blocks before."""

    def lines() -> Iterator[tuple[tuple[str, int], bytes]]:
        for batch in batches:
            yield from zip(zip(batch.column("_file").to_pylist(), batch.column("_block").to_pylist(), strict=True),
                           batch.column("value").to_pylist(), strict=True)

    def rows() -> Iterator[tuple[str | None, str, int, bytes]]:
        for key, group in itertools.groupby(lines(), key=lambda pair: pair[0]):
            line_base, row_base = plan[key]
            raws = (raw for _, raw in group)
            if fmt == "csv":
                header = headers.get(key[0])
                if header is None:
                    continue
                items = _csv_body(raws, header, first=key[1] == 0, line_base=line_base, row_base=row_base)
            else:
                items = _jsonl_items(raws, first=key[1] == 0, line_base=line_base, row_base=row_base)
            yield from _as_rows(key[0], items)

    yield from _batched(rows())


def _jsonl_items(
    raws: Iterator[bytes], *, first: bool = True, line_base: int = 0, row_base: int = 0
) -> Iterator[Record | Reject]:
    row = row_base
    for line_no, raw in enumerate(raws, start=line_base + 1):
        if first and line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if not raw.strip():
            continue
        row += 1
        # the local reader's line keeps its newline, which JSON error positions count
        yield record_from_object(json_object(raw + b"\n"), row, line_no)


def _text_lines(raws: Iterator[bytes], *, first: bool = True) -> Iterator[str]:
    """The lines Python's text reader (utf-8-sig, surrogateescape, newline="") would give."""
    for n, raw in enumerate(raws):
        if first and n == 0 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        yield from _BARE_CR.split(raw.decode("utf-8", "surrogateescape") + "\n")


def _csv_items(raws: Iterator[bytes]) -> Iterator[Record | Reject]:
    """A whole file's lines, header first."""
    reader = csv.reader(_text_lines(raws))
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):  # checked on the driver already
        return
    yield from csv_rows(reader, header, 0, 0)


def _csv_body(
    raws: Iterator[bytes], header: list[str], *, first: bool, line_base: int, row_base: int
) -> Iterator[Record | Reject]:
    """The rows of one block of a CSV file (the first block starts with the header)."""
    reader = csv.reader(_text_lines(raws, first=first))
    if first:
        try:
            next(reader)
        except (StopIteration, csv.Error):
            return
    yield from csv_rows(reader, header, line_base, row_base)


