"""Many worker processes on one audience file: each reads, decides, renders and writes
its own pieces; the parent only stitches the finished pieces together in order.

A worker turns one :class:`~copydesk.render.pieces.Piece` into an output part file, its
rejects and a small SQLite file of the contact ids it saw (with each one's row, output
index and outcome). The parent takes the pieces in file order: it checks their ids
against every earlier piece (one message per contact across the whole file, the first
occurrence wins, exactly as the one-process reader does), turns later repeats into
rejects, fixes row numbers (a worker counts rows from 1 within its piece) and appends
the part to the output. The output is the same bytes as a one-process run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from copydesk.render.audience import ID_FIELD, Record, Reject, RowWriter, parquet_rows, read_piece
from copydesk.render.chunk import ChunkRenderer, Layout, Summary, lay_out
from copydesk.render.pieces import Piece, Split
from copydesk.render.unique import duplicate_reject

CHUNK = 1000


@dataclass
class PieceResult:
    """What one worker made of one piece (rows counted from 1 within the piece)."""

    index: int
    rows: int
    summary: Summary
    rejects: list[Reject]
    repeats: dict[int, int] = field(default_factory=dict)
    out: Path | None = None
    ids: Path | None = None


@dataclass(frozen=True)
class PieceOutput:
    """Where and how workers write their parts."""

    folder: Path
    suffix: str
    columns: list[str]
    explain: bool
    layout: Layout | None = None


def piece_items(split: Split, piece: Piece) -> Iterator[Record | Reject]:
    """The rows of one piece, as the file readers type them."""
    if split.format == "parquet":
        from copydesk.render.audience import open_parquet

        yield from parquet_rows(open_parquet(split.path), range(piece.start, piece.stop))
    else:
        yield from read_piece(split.path, piece.start, piece.stop, piece.line_base, split.header)


def run_piece(renderer: ChunkRenderer, split: Split, piece: Piece, output: PieceOutput) -> PieceResult:
    """Read, decide, render and write one piece (runs in a worker process)."""
    out = output.folder / f"part-{piece.index:06d}{output.suffix}"
    ids_path = output.folder / f"ids-{piece.index:06d}.db"
    result = PieceResult(piece.index, 0, Summary(), [], out=out, ids=ids_path)
    first_row: dict[str, tuple[int, int | None]] = {}
    seen: list[tuple[str, int, int | None, int | None, str, str | None, str | None]] = []
    items = _unique(piece_items(split, piece), first_row, result)
    text_trace = output.explain and output.suffix != ".jsonl"
    layout = output.layout
    with RowWriter(out, output.columns, header=False) as writer:
        written = 0
        while chunk := list(islice(items, CHUNK)):
            rows, rejects, part = renderer.run(chunk)
            for row in rows:
                cid = row["contact_id"]
                laid = lay_out(layout, row, first_row[cid], part) if layout is not None else row
                if isinstance(laid, Reject):
                    rejects.append(laid)
                    continue
                if laid is None:  # decided, not in this layout's file
                    seen.append((cid, *first_row[cid], None, row["decision"], row["reason"], row.get("variant_id")))
                    continue
                if text_trace and "trace" in laid:
                    laid["trace"] = json.dumps(laid["trace"], ensure_ascii=False)
                writer.write(laid)
                seen.append((cid, *first_row[cid], written, row["decision"], row["reason"], row.get("variant_id")))
                written += 1
            for rej in rejects:
                if rej.stage != "read" and rej.contact_id is not None:
                    seen.append((rej.contact_id, rej.row, rej.line, None, "rejected", None, None))
            result.summary.add(part)
            result.rejects.extend(rejects)
    db = sqlite3.connect(ids_path)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, row INTEGER NOT NULL, line INTEGER, out INTEGER, "
                   "decision TEXT NOT NULL, reason TEXT, variant TEXT) WITHOUT ROWID")
        db.executemany("INSERT INTO seen VALUES (?, ?, ?, ?, ?, ?, ?)", seen)
        db.commit()
    finally:
        db.close()
    return result


def _unique(
    items: Iterator[Record | Reject], first_row: dict[str, tuple[int, int | None]], result: PieceResult
) -> Iterator[Record | Reject]:
    """Repeats within the piece become rejects (their reason is finished by the parent,
    which knows the absolute row of the first occurrence). Counts the piece's rows."""
    for item in items:
        result.rows = item.row
        if isinstance(item, Record):
            cid = item.data[ID_FIELD]
            first = first_row.get(cid)
            if first is not None:
                result.repeats[item.row] = first[0]
                yield duplicate_reject(item.row, item.line, cid, first[0])
                continue
            first_row[cid] = (item.row, item.line)
        yield item


class Stitcher:
    """The parent's side: takes piece results in order, writes them to the final files."""

    def __init__(self, writer: RowWriter, rejects: RowWriter, summary: Summary,
                 progress: Callable[[int], None] | None) -> None:
        self.writer = writer
        self.rejects = rejects
        self.summary = summary
        self.progress = progress
        self._base = 0
        self._db = sqlite3.connect("")  # ids of every piece so far: on disk, deleted on close
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")

    def add(self, result: PieceResult) -> None:
        """Append one piece (the next in file order)."""
        assert result.ids is not None and result.out is not None
        base = self._base
        summary = result.summary
        rejects = {rej.row: rej for rej in result.rejects}
        self._db.execute("ATTACH DATABASE ? AS piece", (str(result.ids),))
        try:
            earlier = self._db.execute(
                "SELECT p.id, p.row, p.line, p.out, p.decision, p.reason, p.variant, s.row "
                "FROM piece.seen AS p JOIN main.seen AS s ON s.id = p.id").fetchall()
            self._db.execute("INSERT OR IGNORE INTO main.seen SELECT id, row + ? FROM piece.seen", (base,))
            self._db.commit()
        finally:
            self._db.execute("DETACH DATABASE piece")
        first_seen: dict[str, int] = {}
        drop: set[int] = set()
        for cid, row, line, out, decision, reason, variant, first in earlier:
            first_seen[cid] = first
            rejects[row] = duplicate_reject(base + row, line, cid, first)
            if decision != "rejected":  # decided: take it back out; a rejected one gets the better reason
                summary.uncount(decision, reason, variant)
            if out is not None:
                drop.add(out)
        for row, first in result.repeats.items():
            rej = rejects[row]
            cid = rej.contact_id or ""
            rejects[row] = duplicate_reject(base + row, rej.line, cid, first_seen.get(cid, base + first))
        for row in sorted(rejects):
            rej = rejects[row]
            self.rejects.write({**rej.as_dict(), "row": base + row})
        self.writer.append(result.out, frozenset(drop))
        self.summary.add(summary)
        self._base += result.rows
        result.out.unlink(missing_ok=True)
        result.ids.unlink(missing_ok=True)
        if self.progress is not None:
            self.progress(self.summary.total)

    def close(self) -> None:
        self._db.close()
