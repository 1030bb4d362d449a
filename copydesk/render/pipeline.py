"""Render a campaign for an audience, streaming: decide, render, write, one chunk at a time.

Memory stays flat for any audience size: rows are read, decided, rendered and written
in chunks of ``chunk_size``; a contact id seen before in the run is rejected
(:mod:`copydesk.render.unique`, on disk). With ``workers > 1`` an audience file is cut
into pieces that the workers read, decide, render and write themselves
(:mod:`copydesk.render.pieces`, :mod:`copydesk.render.parallel`); the parent only
stitches them together, so the run scales with cores and writes the same bytes as one
process. Contacts given in code (or a file the byte scan cannot cut) are read by the
parent and handed out in chunks, at most ``2 × workers`` in flight. One bad row
(unreadable, undecidable or unrenderable) goes to the rejects file and the run
continues. Output order follows the audience.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from copydesk.errors import CopydeskError, UsageError
from copydesk.models import ApprovedContent, SendRecord
from copydesk.render.audience import ID_FIELD, REJECT_COLUMNS, Record, Reject, RowWriter, read_rows, record_or_reject
from copydesk.render.chunk import ChunkRenderer, Layout, RenderJob, Summary, lay_out, output_columns
from copydesk.render.orphans import die_with_parent
from copydesk.render.parallel import PieceOutput, PieceResult, Stitcher, run_piece
from copydesk.render.pieces import Piece, Split, split
from copydesk.render.templates import TemplateSnapshot
from copydesk.render.unique import unique_contacts
from copydesk.rules.campaign import CampaignFile

__all__ = ["Summary", "default_rejects_path", "render_campaign"]

_WORKER: ChunkRenderer | None = None


def _init_worker(job: RenderJob, parent_pid: int) -> None:
    global _WORKER
    die_with_parent(parent_pid)
    _WORKER = ChunkRenderer(job)


def _run_chunk(chunk: list[Record | Reject]) -> ChunkResult:
    assert _WORKER is not None
    return _WORKER.run(chunk)


def _run_piece(pieces: Split, piece: Piece, output: PieceOutput) -> PieceResult:
    assert _WORKER is not None
    return run_piece(_WORKER, pieces, piece, output)


def _records(audience: Path | Iterable[Mapping[str, Any]]) -> Iterator[Record | Reject]:
    if isinstance(audience, str | Path):
        yield from read_rows(audience)
        return
    for n, data in enumerate(audience, start=1):
        yield record_or_reject(n, None, dict(data))  # the file readers' checks, for rows given in code


def _chunks(items: Iterator[Record | Reject], size: int) -> Iterator[list[Record | Reject]]:
    while chunk := list(islice(items, size)):
        yield chunk


def default_rejects_path(out: Path) -> Path:
    """``messages.jsonl`` → ``messages.rejects.csv``."""
    return out.with_name(out.name.split(".")[0] + ".rejects.csv")


def render_campaign(
    campaign_file: CampaignFile,
    audience: Path | Iterable[Mapping[str, Any]],
    out: Path,
    *,
    library: Sequence[ApprovedContent],
    templates_dir: Path | TemplateSnapshot,
    history: Iterable[SendRecord] = (),
    rejects: Path | None = None,
    explain: bool = False,
    workers: int = 1,
    today: date | None = None,
    now: datetime | None = None,
    chunk_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    layout: Layout | None = None,
) -> Summary:
    """Decide and render ``campaign_file`` for every contact of ``audience``.

    ``audience`` is a file (CSV/JSONL/Parquet) or an iterable of contact mappings.
    Writes ``out`` (all decided contacts, rendered fields for selected ones) and the
    rejects file (default ``OUT-STEM.rejects.csv``). ``progress`` is called with the
    number of contacts handled so far. ``layout`` writes rows in another shape (e.g. a
    sending platform's import file, :mod:`copydesk.export.presets`)."""
    if workers < 1:
        raise UsageError("--workers must be 1 or more")
    job = RenderJob.build(campaign_file, library, templates_dir, history=history, now=now, today=today,
                          explain=explain, carry=layout.carry if layout is not None else ())
    local = ChunkRenderer(job)  # compiles everything up front: bad templates fail before any output
    columns = layout.columns if layout is not None else output_columns(local.renderer.columns, explain=explain)
    rejects_path = rejects or default_rejects_path(out)
    summary = Summary(out=out, rejects=rejects_path)
    pieces = split(Path(audience), workers) if workers > 1 and isinstance(audience, str | Path) else None
    with RowWriter(out, columns) as writer, RowWriter(rejects_path, REJECT_COLUMNS) as rw:
        if pieces is not None:
            _render_pieces(job, pieces, PieceOutput(out.parent, out.suffix, columns, explain, layout),
                           Stitcher(writer, rw, summary, progress), workers)
            return summary
        sink = _Sink(writer, rw, summary, layout, progress)
        items = unique_contacts(_records(audience))
        if workers == 1:
            for chunk in _chunks(items, chunk_size):
                sink.add(chunk, local.run(chunk))
        else:  # contacts given in code, or a file the parent must read itself
            with _pool(job, workers) as pool:
                pending: deque[tuple[list[Record | Reject], Future[ChunkResult]]] = deque()
                for chunk in _chunks(items, chunk_size):
                    pending.append((chunk, pool.submit(_run_chunk, chunk)))
                    if len(pending) >= 2 * workers:
                        done, future = pending.popleft()
                        sink.add(done, future.result())
                while pending:
                    done, future = pending.popleft()
                    sink.add(done, future.result())
    return summary


def _render_pieces(job: RenderJob, pieces: Split, output: PieceOutput, stitcher: Stitcher, workers: int) -> None:
    """Workers render the pieces into part files in a private folder beside the output;
    the stitcher appends them in order."""
    folder = Path(tempfile.mkdtemp(prefix=".copydesk-pieces-", dir=output.folder))
    output = replace(output, folder=folder)
    try:
        with _pool(job, workers) as pool:
            futures = [pool.submit(_run_piece, pieces, piece, output) for piece in pieces.pieces]
            for future in futures:
                stitcher.add(future.result())
    finally:
        stitcher.close()
        shutil.rmtree(folder, ignore_errors=True)


ChunkResult = tuple[list[dict[str, Any]], list[Reject], Summary]


class _Sink:
    """Writes the results of chunks read by this process, in order."""

    def __init__(self, writer: RowWriter, rejects: RowWriter, summary: Summary, layout: Layout | None,
                 progress: Callable[[int], None] | None) -> None:
        self.writer, self.rejects, self.summary = writer, rejects, summary
        self.layout, self.progress = layout, progress
        self.text_trace = writer.format != "jsonl"

    def add(self, chunk: list[Record | Reject], result: ChunkResult) -> None:
        rows, rejected, part = result
        layout = self.layout
        where = {item.data[ID_FIELD]: (item.row, item.line) for item in chunk if isinstance(item, Record)}
        for row in rows:
            laid = lay_out(layout, row, where[row["contact_id"]], part) if layout is not None else row
            if isinstance(laid, Reject):
                rejected.append(laid)
            elif laid is not None:
                if self.text_trace and "trace" in laid:
                    laid["trace"] = json.dumps(laid["trace"], ensure_ascii=False)
                self.writer.write(laid)
        for rej in sorted(rejected, key=lambda r: r.row):
            self.rejects.write(rej.as_dict())
        self.summary.add(part)
        if self.progress is not None:
            self.progress(self.summary.total)


@contextlib.contextmanager
def _pool(job: RenderJob, workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes that build the job's renderer once and die with this process."""
    ctx = mp.get_context("spawn") if _needs_spawn() else mp.get_context()
    # ProcessPoolExecutor, not mp.Pool: a worker that cannot start must fail the run with
    # a message, not be respawned forever.
    try:
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(job, os.getpid())
        ) as pool:
            yield pool
    except BrokenProcessPool as exc:
        raise CopydeskError(f"render worker processes failed ({exc}); run again with --workers 1") from None


def _needs_spawn() -> bool:
    # fork is fastest where available; threads (e.g. the Streamlit server) make fork unsafe.
    import threading

    return threading.active_count() > 1 or "fork" not in mp.get_all_start_methods()
