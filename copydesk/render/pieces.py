"""Split an audience file into pieces that worker processes read on their own.

A CSV or JSONL file is cut at record boundaries: after a newline that is not inside a
quoted CSV field (RFC 4180 quotes are doubled, so the count of quote characters before a
newline says whether it is inside a field). A Parquet file is cut between row groups.
The parent only scans bytes (newline and quote counts, at C speed); parsing, typing,
deciding, rendering and writing happen in the workers.

Files the byte scan cannot cut safely are read by the parent as before: an odd number
of quote characters (a malformed CSV), carriage returns used as line ends (the csv
module counts lines differently), or too few bytes or row groups to be worth it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from copydesk.render.audience import csv_header, file_format, open_parquet

#: Pieces per worker: enough that the last one leaves little idle time at the end.
PIECES_PER_WORKER = 16
MIN_PIECE_BYTES = 1 << 20
MAX_PIECE_BYTES = 16 << 20
_BLOCK = 1 << 24


@dataclass(frozen=True)
class Piece:
    """Bytes ``start:stop`` of a text file (after ``line_base`` lines), or row groups
    ``start:stop`` of a Parquet file."""

    index: int
    start: int
    stop: int
    line_base: int = 0


@dataclass(frozen=True)
class Split:
    """How one audience file is read in pieces."""

    path: Path
    format: str
    pieces: list[Piece]
    header: list[str] | None = None


def split(path: Path, workers: int) -> Split | None:
    """Pieces for ``workers`` processes, or ``None`` when the parent should read the
    file itself (see the module docstring). Header errors raise as the reader would."""
    fmt = file_format(path)
    if not path.is_file():
        return None
    if fmt == "parquet":
        return _split_parquet(path, workers)
    size = path.stat().st_size
    piece_bytes = min(MAX_PIECE_BYTES, max(MIN_PIECE_BYTES, size // (workers * PIECES_PER_WORKER)))
    if size < 2 * piece_bytes:
        return None
    with path.open("rb") as fh:
        data = _Scan(fh)
        if not data.safe:
            return None
        header: list[str] | None = None
        start = 0
        if fmt == "csv":
            start = data.record_end(0)
            header = csv_header(path, data.read(0, start))
            if header is None:
                return None
        pieces: list[Piece] = []
        while start < size:
            stop = size if size - start < piece_bytes * 3 // 2 else data.record_end(start + piece_bytes)
            pieces.append(Piece(len(pieces), start, stop, data.count_before(b"\n", start)))
            start = stop
    return Split(path, fmt, pieces, header) if len(pieces) > 1 else None


class _Scan:
    """Newline and quote counts of a file, kept per block so that any position's count
    costs one block read: memory stays flat for any file size."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._counts: dict[bytes, list[int]] = {b"\n": [0], b'"': [0]}
        self._cached: tuple[int, bytes] = (-1, b"")
        bare_cr = 0  # a CR not followed by LF ends a line for the csv module, not for the counts
        previous_cr = False
        while block := fh.read(_BLOCK):
            for byte, counts in self._counts.items():
                counts.append(counts[-1] + block.count(byte))
            bare_cr += block.count(b"\r") - block.count(b"\r\n") - (previous_cr and block.startswith(b"\n"))
            previous_cr = block.endswith(b"\r")
        self.safe = bare_cr == 0 and self._counts[b'"'][-1] % 2 == 0

    def _block(self, index: int) -> bytes:
        if self._cached[0] != index:
            self._fh.seek(index * _BLOCK)
            self._cached = (index, self._fh.read(_BLOCK))
        return self._cached[1]

    def read(self, start: int, stop: int) -> bytes:
        self._fh.seek(start)
        return self._fh.read(stop - start)

    def count_before(self, byte: bytes, offset: int) -> int:
        index = offset // _BLOCK
        return self._counts[byte][index] + self._block(index).count(byte, 0, offset - index * _BLOCK)

    def record_end(self, offset: int) -> int:
        """The offset just after the first newline at or after ``offset`` that is outside
        quotes (the file's length when there is none)."""
        while True:
            index = offset // _BLOCK
            block = self._block(index)
            if not block:
                return self._fh.seek(0, 2)
            at = block.find(b"\n", offset - index * _BLOCK)
            if at == -1:
                offset = (index + 1) * _BLOCK
                continue
            position = index * _BLOCK + at
            if self.count_before(b'"', position) % 2 == 0:
                return position + 1
            offset = position + 1


def _split_parquet(path: Path, workers: int) -> Split | None:
    pf = open_parquet(path)
    groups = pf.metadata.num_row_groups
    if groups < 2:
        return None
    per_piece = max(1, groups // (workers * 4))
    pieces = [Piece(i, start, min(groups, start + per_piece))
              for i, start in enumerate(range(0, groups, per_piece))]
    return Split(path, "parquet", pieces) if len(pieces) > 1 else None
