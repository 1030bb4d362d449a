"""Streaming readers and writers for audience and output files: CSV, JSONL, Parquet.

The format follows the extension (``.csv``, ``.jsonl``/``.ndjson``, ``.parquet``).
Readers yield one :class:`Record` or :class:`Reject` at a time, so memory stays flat;
a bad row becomes a reject naming its row (and line) and the reason, and reading goes
on. CSV cells are typed with :func:`copydesk.rules.values.coerce_text`.

A row is rejected, never allowed to stop the run, when it holds text that is not valid
UTF-8 (a lone surrogate), a number that is not finite, a date-time UTC cannot hold, JSON
nested deeper than :data:`copydesk.inputs.MAX_DEPTH` levels, or no ``contact_id``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, cast

import orjson

from copydesk.errors import InputError, UsageError
from copydesk.inputs import MAX_DEPTH, has_surrogates, json_object, printable, too_deep, unreadable_value
from copydesk.rules.values import TEXT_COLUMNS, coerce_iso, coerce_text

Format = Literal["csv", "jsonl", "parquet"]
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
BATCH = 4096
ID_FIELD = "contact_id"


def file_format(path: Path | str) -> Format:
    """The format of ``path`` from its extension."""
    suffix = Path(path).suffix.lower()
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        raise UsageError(
            f"{path}: unknown file type '{suffix}'; use .csv, .jsonl or .parquet"
        ) from None


@dataclass(frozen=True, slots=True)
class Record:
    """One good row: 1-based data ``row``, file ``line`` for text formats, typed ``data``."""

    row: int
    line: int | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that could not be read, decided or rendered, and why."""

    row: int
    line: int | None
    contact_id: str | None
    stage: str
    reason: str
    field: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "line": self.line,
            "contact_id": self.contact_id,
            "stage": self.stage,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
        }


REJECT_COLUMNS = ("row", "line", "contact_id", "stage", "field", "value", "reason")


_PLAIN = frozenset({int, bool, date})


def _unreadable(row: int, line: int | None, data: dict[str, Any]) -> Reject | None:
    """A reject naming the first field whose name or value cannot be used, else ``None``."""
    cid = data.get(ID_FIELD)
    shown = cid if isinstance(cid, str) and not has_surrogates(cid) else None
    for key, value in data.items():
        kind = type(value)
        # the common cells (ASCII names; text, whole numbers, days) need no deeper look
        if type(key) is str and key.isascii() and (
            kind in _PLAIN or (kind is str and (value.isascii() or not has_surrogates(value)))
        ):
            continue
        problem = unreadable_value(key) or unreadable_value(value)
        if problem:
            return Reject(row, line, shown, "read", problem, printable(str(key)))
    return None


def _finish(row: int, line: int | None, data: dict[str, Any]) -> Record | Reject:
    bad = _unreadable(row, line, data)
    if bad is not None:
        return bad
    cid = data.get(ID_FIELD)
    if cid is None or cid == "":
        return Reject(row, line, None, "read", f"no {ID_FIELD}")
    if not isinstance(cid, str):
        if isinstance(cid, bool) or not isinstance(cid, int | str):
            return Reject(row, line, str(cid), "read", f"{ID_FIELD} must be text or a whole number")
        data[ID_FIELD] = str(cid)
    return Record(row, line, data)


def record_or_reject(row: int, line: int | None, data: dict[str, Any]) -> Record | Reject:
    """One decoded row (from any source, e.g. contacts passed in code) checked the way the
    file readers check theirs: a reject naming the field when a name or value cannot be
    used or the ``contact_id`` is missing, else the record."""
    return _finish(row, line, data)


def read_rows(path: Path | str) -> Iterator[Record | Reject]:
    """Yield every row of an audience (or history) file, typed, one at a time."""
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise InputError("file not found", source=printable(str(path)))
    try:
        path.open("rb").close()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=printable(str(path))) from None
    if fmt == "csv":
        yield from _read_csv(path)
    elif fmt == "jsonl":
        yield from _read_jsonl(path)
    else:
        yield from _read_parquet(path)


def _csv_header(reader: Any, path: Path) -> list[str] | None:
    """The checked header row (``None`` for an empty file)."""
    try:
        header = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise InputError(f"unreadable header: {exc}", source=str(path), line=1) from None
    header = [h.strip() for h in header]
    if any(has_surrogates(name) for name in header):
        raise InputError("the header is not valid UTF-8 text", source=str(path), line=1)
    if ID_FIELD not in header:
        raise InputError(f"no '{ID_FIELD}' column (columns: {', '.join(header)})", source=str(path), line=1)
    seen: set[str] = set()
    for name in header:
        if not name or name in seen:
            raise InputError(f"empty or repeated column name '{name}'", source=str(path), line=1)
        seen.add(name)
    return header


def typed_columns(header: Sequence[str]) -> list[bool]:
    """Which CSV columns get their cells typed (numbers, dates, lists); the rest stay text."""
    return [name not in TEXT_COLUMNS for name in header]


def record_from_cells(
    header: Sequence[str], typed: Sequence[bool], cells: Sequence[str], row: int, line: int | None
) -> Record | Reject:
    """One CSV row (all cells text) typed and checked exactly as the CSV reader does it;
    ``typed`` comes from :func:`typed_columns`."""
    if len(cells) != len(header):
        cid = printable(cells[0]) if header[0] == ID_FIELD and cells else None
        return Reject(row, line, cid, "read", f"expected {len(header)} fields, found {len(cells)}")
    try:
        "\x1f".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        return Reject(row, line, None, "read", "not valid UTF-8 text")
    data: dict[str, Any] = {}
    for name, cell, coerce in zip(header, cells, typed, strict=True):
        try:
            value = coerce_text(cell) if coerce else (cell.strip() or None)
            deep = type(value) is list and too_deep(value)  # only a list cell can nest
        except RecursionError:  # a JSON-array cell nested thousands deep
            deep = True
        if deep:
            cid = printable(cells[0]) if header[0] == ID_FIELD else None
            return Reject(row, line, cid, "read", f"a list nested more than {MAX_DEPTH} levels deep", name)
        if value is not None:
            data[name] = value
    return _finish(row, line, data)


def _read_csv(path: Path) -> Iterator[Record | Reject]:
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        header = _csv_header(reader, path)
        if header is None:
            return
        yield from csv_rows(reader, header, 0)


def csv_rows(reader: Any, header: list[str], line_base: int = 0, row_base: int = 0) -> Iterator[Record | Reject]:
    """The data rows of a ``csv.reader`` typed and checked as the CSV reader does it: rows
    counted after ``row_base``, lines after ``line_base`` (for a reader that starts inside
    a file); blank lines are not rows."""
    typed = typed_columns(header)
    row = row_base
    while True:
        line = line_base + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row += 1
            yield Reject(row, line, None, "read", f"malformed CSV: {exc}")
            continue
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        row += 1
        yield record_from_cells(header, typed, cells, row, line)


def csv_header(path: Path, head: bytes) -> list[str] | None:
    """The checked header of CSV ``path`` from the bytes of its first record."""
    text = head.decode("utf-8-sig", errors="surrogateescape")
    return _csv_header(csv.reader(io.StringIO(text, newline="")), path)


def read_piece(
    path: Path, start: int, stop: int, line_base: int, header: list[str] | None = None
) -> Iterator[Record | Reject]:
    """The rows of bytes ``start:stop`` of a CSV (give its ``header``) or JSONL file, a
    piece that begins at a record boundary after ``line_base`` lines. Rows are counted
    from 1 within the piece; lines are the file's."""
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read(stop - start)
    if header is not None:
        text = data.decode("utf-8", errors="surrogateescape")
        yield from csv_rows(csv.reader(io.StringIO(text, newline="")), header, line_base)
    else:
        yield from _jsonl_body(io.BytesIO(data), line_base)


def _typed_json(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if value is None or value == "":
            continue
        if isinstance(value, str) and key not in TEXT_COLUMNS:
            value = coerce_iso(value)
        out[key] = value
    return out


def _read_jsonl(path: Path) -> Iterator[Record | Reject]:
    with path.open("rb") as fh:
        yield from _jsonl_body(fh, 0)


def _jsonl_body(lines: Iterable[bytes], line_base: int) -> Iterator[Record | Reject]:
    row = 0
    for line_no, raw in enumerate(lines, start=line_base + 1):
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a byte-order mark some editors write
        if not raw.strip():
            continue
        row += 1
        obj = json_object(raw)
        if isinstance(obj, str):
            yield Reject(row, line_no, None, "read", obj)
            continue
        yield _finish(row, line_no, _typed_json(obj))


def open_parquet(path: Path) -> Any:
    """A checked :class:`pyarrow.parquet.ParquetFile` with a ``contact_id`` column."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"not a readable Parquet file: {exc}", source=str(path)) from None
    if ID_FIELD not in pf.schema_arrow.names:
        raise InputError(f"no '{ID_FIELD}' column", source=str(path))
    return pf


def _read_parquet(path: Path) -> Iterator[Record | Reject]:
    yield from parquet_rows(open_parquet(path), None)


def parquet_rows(pf: Any, row_groups: Sequence[int] | None) -> Iterator[Record | Reject]:
    """The rows of ``row_groups`` (default all) of an open Parquet file, counted from 1."""
    row = 0
    for batch in pf.iter_batches(batch_size=BATCH, row_groups=row_groups):
        try:
            objs: list[Any] = batch.to_pylist()
        except Exception:  # a value Python cannot hold (e.g. a timestamp past year 9999): row by row
            objs = [_parquet_row(batch, i) for i in range(batch.num_rows)]
        for obj in objs:
            row += 1
            yield record_from_object(obj, row, None)


def record_from_object(obj: dict[str, Any] | str, row: int, line: int | None) -> Record | Reject:
    """One decoded row of a typed source (Parquet, Arrow, a table) checked as the Parquet
    reader does it; a ``str`` is the reason the row could not be decoded."""
    if isinstance(obj, str):
        return Reject(row, line, None, "read", obj)
    if too_deep(obj):
        return Reject(row, line, None, "read", f"nested more than {MAX_DEPTH} levels deep")
    return _finish(row, line, _typed_json(obj))


def _parquet_row(batch: Any, index: int) -> dict[str, Any] | str:
    try:
        return batch.slice(index, 1).to_pylist()[0]  # type: ignore[no-any-return]
    except Exception as exc:  # pyarrow's conversion errors have no common base
        return f"unreadable value: {exc}"


def cell_text(value: Any) -> str:
    """A value as text in a CSV or Parquet output cell (ISO dates, JSON lists)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


class RowWriter:
    """Streams rows with fixed ``columns`` to CSV, JSONL or Parquet (by extension).

    Writes to ``PATH.part`` and renames on a clean :meth:`close`, so a failed run never
    leaves a half-written file under the final name. Use as a context manager."""

    def __init__(self, path: Path | str, columns: Sequence[str], *, header: bool = True) -> None:
        self.path = Path(path)
        self._header = header
        self.format = file_format(self.path)
        self.columns = list(columns)
        self.count = 0
        self._tmp = self.path.with_name(self.path.name + ".part")
        self._fh: IO[str] | None = None
        self._csv: Any = None
        self._pq: Any = None
        self._batch: list[dict[str, Any]] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", source=printable(str(self.path))) from None

    def _open(self) -> None:
        if self.format == "csv":
            self._fh = self._tmp.open("w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._fh)
            if self._header:
                self._csv.writerow(self.columns)
        elif self.format == "jsonl":
            self._fh = io.TextIOWrapper(self._tmp.open("wb"), encoding="utf-8", newline="\n")
            self._bin = cast(IO[bytes], self._fh.buffer)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            self._schema = pa.schema([(c, pa.string()) for c in self.columns])
            self._pq = pq.ParquetWriter(self._tmp, self._schema)

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row; missing columns are empty, unknown keys are ignored."""
        self.count += 1
        if self._csv is not None:
            self._csv.writerow([cell_text(row.get(c)) for c in self.columns])
        elif self._fh is not None:
            self._bin.write(_jsonl_line({c: row.get(c) for c in self.columns}))
        else:
            self._batch.append(
                {c: (cell_text(row[c]) if row.get(c) is not None else None) for c in self.columns}
            )
            if len(self._batch) >= BATCH:
                self._flush()

    def append(self, part: Path, drop: frozenset[int] = frozenset()) -> None:
        """Append every row of ``part`` (written by a headerless :class:`RowWriter` with the
        same columns and format) except the 0-based row indexes in ``drop``."""
        if self._pq is not None:
            self._append_parquet(part, drop)
            return
        assert self._fh is not None
        self._fh.flush()
        binary = cast(IO[bytes], self._fh.buffer)  # type: ignore[attr-defined]
        with part.open("rb") as src:
            if not drop:
                _copy_bytes(src, binary)
            elif self._csv is None:  # JSONL: one row per line
                binary.writelines(raw for i, raw in enumerate(src) if i not in drop)
            else:
                text = io.TextIOWrapper(src, encoding="utf-8", newline="")
                for i, cells in enumerate(csv.reader(text)):
                    if i not in drop:
                        self._csv.writerow(cells)
                self._fh.flush()
        binary.flush()

    def _append_parquet(self, part: Path, drop: frozenset[int]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._flush()
        pf = pq.ParquetFile(part)
        first = 0
        for group in range(pf.metadata.num_row_groups):
            table = pf.read_row_group(group)
            if drop:
                keep = [i not in drop for i in range(first, first + table.num_rows)]
                table = table.filter(pa.array(keep))
            first += pf.metadata.row_group(group).num_rows
            self._pq.write_table(table.cast(self._schema))

    def _flush(self) -> None:
        if self._batch:
            import pyarrow as pa

            self._pq.write_table(pa.Table.from_pylist(self._batch, schema=self._schema))
            self._batch = []

    def close(self, *, keep: bool = True) -> None:
        """Finish the file (``keep=False`` discards it)."""
        if self._pq is not None:
            if keep:
                self._flush()
            self._pq.close()
            self._pq = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if keep:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(keep=exc_type is None)


def _jsonl_line(obj: dict[str, Any]) -> bytes:
    """One JSON Lines row. orjson: a fifth of the time of :func:`json.dumps` on a rendered
    e-mail row; json for what orjson refuses (integers past 64 bits in a trace)."""
    try:
        return orjson.dumps(obj, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return (json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8")


def _copy_bytes(src: IO[bytes], dst: IO[bytes]) -> None:
    """Append ``src`` to ``dst`` in the kernel where it can (no trip through Python)."""
    import shutil

    try:
        src_fd, dst_fd = src.fileno(), dst.fileno()
        while os.copy_file_range(src_fd, dst_fd, 1 << 30):
            pass
    except (AttributeError, OSError, io.UnsupportedOperation):
        shutil.copyfileobj(src, dst, 1 << 20)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
