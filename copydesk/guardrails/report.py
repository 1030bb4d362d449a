"""Text rendering of findings: each with its matched span highlighted in context."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from copydesk.models import Finding
from copydesk.vocab import Severity

CONTEXT = 30
_STYLE = {Severity.BLOCK: "bold red", Severity.WARN: "yellow", Severity.INFO: "cyan"}


def excerpt(text: str, start: int, end: int, width: int = CONTEXT) -> tuple[str, str, str]:
    """(before, match, after) around ``[start, end)``, single-line, trimmed with '…'."""
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    match = text[start:end]
    if len(match) > 80:
        match = match[:38] + "…" + match[-38:]
    if start - width > 0:
        before = "…" + before
    if end + width < len(text):
        after += "…"

    def flat(s: str) -> str:
        return s.replace("\n", "⏎").replace("\r", " ").replace("\t", " ")

    return flat(before), flat(match), flat(after)


def render_finding(finding: Finding, fields: dict[str, str]) -> Text:
    """Two or three lines: severity, rule, field and message; the span in context,
    highlighted; and a caret line under it (visible without colour too)."""
    style = _STYLE.get(finding.severity, "")
    out = Text("  ")
    out.append(f"{finding.severity.value:<5}", style=style)
    out.append(f" {finding.category.value:<16} {finding.rule_id}", style="bold")
    out.append(f"  {finding.field}[{finding.start}:{finding.end}]\n", style="dim")
    out.append(f"    {finding.message}\n")
    text = fields.get(finding.field, "")
    if text:
        before, match, after = excerpt(text, finding.start, finding.end)
        out.append("    " + before)
        out.append(match or "▯", style=f"reverse {style}".strip())
        out.append(after + "\n")
        out.append("    " + " " * len(before) + "^" * max(1, len(match)) + "\n", style=style)
    if finding.suggestion:
        out.append(f"    suggestion: {finding.suggestion}\n", style="green")
    return out


def render_result(item_id: str, findings: Sequence[Finding], fields: dict[str, str]) -> Text:
    """A header line for one input, then every finding."""
    blocked = any(f.severity == Severity.BLOCK for f in findings)
    out = Text()
    status = ("BLOCKED", "bold red") if blocked else ("passed", "green")
    out.append(f"{item_id}: ")
    out.append(status[0], style=status[1])
    if findings:
        out.append(f" ({len(findings)} finding{'s' if len(findings) != 1 else ''})")
    out.append("\n")
    for finding in findings:
        out.append_text(render_finding(finding, fields))
    return out
