"""Coverage of the approved library: which lifecycle stage × channel (× segment) cells
have approved, unexpired content, and which are empty."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

from copydesk.models import ApprovedContent
from copydesk.vocab import Channel, Stage

STAGES = [s.value for s in Stage]
CHANNELS = [c.value for c in Channel]


def coverage_counts(
    items: Iterable[ApprovedContent], *, by_segment: bool = False
) -> Counter[tuple[str, ...]]:
    """Approved variants per (stage, channel), or per (segment, stage, channel)."""
    counts: Counter[tuple[str, ...]] = Counter()
    for item in items:
        key = (item.stage.value, item.channel.value)
        counts[(item.segment or "(none)", *key) if by_segment else key] += 1
    return counts


def coverage_matrix(
    items: Iterable[ApprovedContent], *, by_segment: bool = False, segments: Sequence[str] = ()
) -> pd.DataFrame:
    """A table with one row per stage (or segment · stage) and one column per channel;
    every stage and channel appears, so empty cells show as 0. ``segments`` adds rows for
    segments with no approved content yet (e.g. those of existing briefs)."""
    counts = coverage_counts(items, by_segment=by_segment)
    if not by_segment:
        rows = [[counts.get((stage, ch), 0) for ch in CHANNELS] for stage in STAGES]
        frame = pd.DataFrame(rows, index=STAGES, columns=CHANNELS)
        frame.index.name = "stage"
        return frame
    names = sorted({k[0] for k in counts} | set(segments))
    index = [f"{seg} · {stage}" for seg in names for stage in STAGES]
    rows = [[counts.get((seg, stage, ch), 0) for ch in CHANNELS] for seg in names for stage in STAGES]
    frame = pd.DataFrame(rows, index=index, columns=CHANNELS)
    frame.index.name = "segment · stage"
    return frame


def empty_cells(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(row, channel) of every cell with no approved content."""
    return [(str(row), str(col)) for row in frame.index for col in frame.columns if frame.at[row, col] == 0]


def highlight_empty(value: object) -> str:
    """CSS for one cell: empty cells stand out."""
    return "background-color: #ffd6d6; color: #a00" if value == 0 else ""
