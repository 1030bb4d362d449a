"""Coverage of the approved library: which lifecycle stage × channel (× segment) cells
have approved, unexpired content, and which are empty."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from copydesk.errors import CopydeskError
from copydesk.models import ApprovedContent, Brief, Variant
from copydesk.rules.campaign import Campaign
from copydesk.ui.messages import error_text
from copydesk.vocab import Channel, Stage

if TYPE_CHECKING:
    from copydesk.services.desk import Desk

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


# -- need: which cells some campaign would send from ---------------------------------

#: Cell states, with the colour each is drawn in and the words of the legend.
GAP, COVERED, NOT_NEEDED = "gap", "covered", "not needed"
CELL_STYLES = {
    GAP: "background-color: #ffd6d6; color: #a00; font-weight: bold",
    COVERED: "background-color: #dff3e0; color: #1b5e20",
    NOT_NEEDED: "background-color: #f0f0f0; color: #9e9e9e",
}
LEGEND = ("🟥 **needed, nothing approved**: a campaign's rule or fallback sends from this cell and nothing "
          "approved covers it · 🟩 **covered**: approved, unexpired content · ⬜ **not needed**: empty, "
          "but no campaign sends from it")


@dataclass(frozen=True)
class Need:
    """A campaign rule (or its fallback) that sends from one stage × channel (× segment)."""

    stage: str
    channel: str
    segment: str
    campaign: str
    rule: str


def campaign_needs(
    campaigns: Iterable[Campaign], brief_of: Callable[[str], Brief | None],
    variant_of: Callable[[str], Variant | None],
) -> list[Need]:
    """The cells the campaigns' select rules and fallbacks send from: a ``brief:`` choice
    needs the brief's stage and segment, an ``ids:`` choice each listed variant's, on the
    campaign's channel. A brief or variant that cannot be found needs nothing here (the
    campaign's own check reports it)."""
    needs: list[Need] = []
    for c in campaigns:
        choices = [(s.id, s.variants) for s in c.select]
        if c.fallback is not None:
            choices.append(("fallback", c.fallback))
        for rule, choice in choices:
            if choice.brief is not None:
                brief = brief_of(choice.brief)
                if brief is not None:
                    needs.append(Need(brief.stage.value, c.channel.value, brief.segment.name, c.id, rule))
            for vid in choice.ids or []:
                variant = variant_of(vid)
                if variant is not None:
                    needs.append(Need(variant.stage.value, c.channel.value, variant.segment or "(none)", c.id, rule))
    return needs


def cell_states(frame: pd.DataFrame, needs: Iterable[Need], *, segment: str | None = None) -> pd.DataFrame:
    """For a stage × channel count table: each cell :data:`COVERED` (has content),
    :data:`GAP` (empty and needed by a campaign, of ``segment`` when given) or
    :data:`NOT_NEEDED` (empty and needed by none)."""
    wanted = {(n.stage, n.channel) for n in needs if segment is None or n.segment == segment}
    states = frame.copy().astype(object)
    for row in frame.index:
        for col in frame.columns:
            if frame.at[row, col]:
                states.at[row, col] = COVERED
            else:
                states.at[row, col] = GAP if (str(row), str(col)) in wanted else NOT_NEEDED
    return states


def styled(frame: pd.DataFrame, states: pd.DataFrame) -> Any:
    """``frame`` as a pandas Styler with each cell coloured by its state."""
    css = states.map(lambda state: CELL_STYLES[str(state)])
    return frame.style.apply(lambda _: css, axis=None)


def gap_rows(needs: Iterable[Need], counts: Counter[tuple[str, ...]]) -> list[dict[str, str]]:
    """One row per needed segment × stage × channel with nothing approved (``counts`` by
    segment), naming the campaigns and rules that need it; full segment names."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for n in needs:
        if not counts.get((n.segment, n.stage, n.channel)):
            found.setdefault((n.segment, n.stage, n.channel), []).append(f"{n.campaign} · {n.rule}")
    return [{"segment": seg, "stage": stage, "channel": ch, "needed by": ", ".join(sorted(set(by)))}
            for (seg, stage, ch), by in sorted(found.items())]


def segment_matrix(items: Iterable[ApprovedContent], segment: str) -> pd.DataFrame:
    """The stage × channel table of one segment's approved content."""
    return coverage_matrix([i for i in items if (i.segment or "(none)") == segment])


def workspace_needs(desk: Desk) -> tuple[list[Need], list[str]]:
    """The needs of every campaign file of the desk's workspace, and one line per file
    that does not load (named by file name, never a server path)."""
    from copydesk.services import campaigns as svc

    if desk.workspace is None:
        return [], []
    loaded: list[Campaign] = []
    problems: list[str] = []
    for path in svc.campaign_files(desk.workspace):
        try:
            loaded.append(svc.open_campaign(desk.workspace, path).campaign)
        except CopydeskError as exc:
            problems.append(error_text(exc, desk.workspace.root))

    def brief_of(brief_id: str) -> Brief | None:
        try:
            return desk.get_brief(brief_id)
        except CopydeskError:
            return None

    def variant_of(variant_id: str) -> Variant | None:
        try:
            return desk.get_variant(variant_id)
        except CopydeskError:
            return None

    return campaign_needs(loaded, brief_of, variant_of), problems
