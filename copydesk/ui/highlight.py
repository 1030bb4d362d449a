"""Guardrail findings drawn on their spans: escaped HTML with one ``<mark>`` per span.

Offsets index the field's original text (see :class:`copydesk.models.Finding`).
Overlapping findings split the text at every boundary; each piece takes the colour of
the most severe finding covering it. All text is HTML-escaped, including the tooltips.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from copydesk.models import Finding, Waiver
from copydesk.vocab import Severity

#: Background colour per severity (waived findings are drawn grey and struck through).
SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.BLOCK: "#ffc9c9",
    Severity.WARN: "#ffe8a3",
    Severity.INFO: "#cfe3ff",
}
WAIVED_COLOUR = "#e2e2e2"
SEVERITY_RANK = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}
SEVERITY_ICONS = {Severity.BLOCK: "⛔", Severity.WARN: "⚠️", Severity.INFO: "ℹ️"}

FindingKey = tuple[str, str, int, int]


def finding_key(f: Finding | Waiver) -> FindingKey:
    """What ties a waiver to the finding it waives."""
    return (f.rule_id, f.field, f.start, f.end)


def waived_keys(waivers: Iterable[Waiver]) -> set[FindingKey]:
    """The keys of every waived finding."""
    return {finding_key(w) for w in waivers}


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by field and position."""
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.field, f.start, f.rule_id))


def _text(value: str) -> str:
    return html.escape(value).replace("\n", "<br>")


def highlight_html(text: str, findings: Sequence[Finding], waived: set[FindingKey] | None = None) -> str:
    """``text`` as escaped HTML with every finding's span marked in its severity colour.

    Spans outside the text are clipped; empty spans are skipped."""
    waived = waived or set()
    spans = []
    for f in findings:
        start, end = max(0, min(f.start, len(text))), max(0, min(f.end, len(text)))
        if end > start:
            spans.append((start, end, f))
    if not spans:
        return _text(text)
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = text[a:b]
        covering = [f for s, e, f in spans if s <= a and b <= e]
        if not covering:
            out.append(_text(piece))
            continue
        open_ = [f for f in covering if finding_key(f) not in waived]
        top = min(open_ or covering, key=lambda f: SEVERITY_RANK[f.severity])
        colour = SEVERITY_COLOURS[top.severity] if open_ else WAIVED_COLOUR
        title = " | ".join(
            f"{f.severity.value} {f.rule_id}: {f.message}" + (" (waived)" if finding_key(f) in waived else "")
            for f in covering
        )
        style = f"background:{colour};border-radius:3px;padding:0 1px"
        if not open_:
            style += ";text-decoration:line-through"
        out.append(
            f'<mark class="cd-{top.severity.value}" style="{style}" title="{html.escape(title, quote=True)}">'
            f"{_text(piece)}</mark>"
        )
    return "".join(out)


def fields_html(
    fields: dict[str, str], findings: Sequence[Finding], waived: set[FindingKey] | None = None
) -> str:
    """Every non-empty field as a labelled block of highlighted text."""
    parts = []
    for name, value in fields.items():
        if not value:
            continue
        mine = [f for f in findings if f.field == name]
        parts.append(
            f'<div style="margin-bottom:0.5em"><span style="color:#666;font-size:0.8em;'
            f'text-transform:uppercase">{html.escape(name)}</span><br>{highlight_html(value, mine, waived)}</div>'
        )
    return "".join(parts)


def finding_lines(findings: Sequence[Finding], waived: set[FindingKey] | None = None) -> list[str]:
    """One Markdown line per finding: severity, rule, field, match, message, suggestion."""
    waived = waived or set()
    lines = []
    for f in sort_findings(findings):
        line = (
            f"{SEVERITY_ICONS[f.severity]} **{f.severity.value}** `{f.rule_id}` ({f.category.value}) "
            f"on *{f.field}*{f' “{md_escape(f.match)}”' if f.match else ''}: {md_escape(f.message)}"
        )
        if f.suggestion:
            line += f" — suggestion: {md_escape(f.suggestion)}"
        if finding_key(f) in waived:
            line += " — **waived**"
        lines.append(line)
    return lines


def md_escape(text: str) -> str:
    """Escape Markdown (and HTML) in user or model text shown inside Markdown."""
    escaped = html.escape(text, quote=False)
    for ch in "\\`*_[]#|<>$~":
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped

