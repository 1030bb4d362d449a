"""Rich renderings of variants, findings and revisions shared by CLI commands."""

from __future__ import annotations

import difflib

from rich.text import Text

from copydesk.cli.common import console
from copydesk.models import Finding, Revision, Variant
from copydesk.vocab import Severity

SEVERITY_STYLE = {Severity.BLOCK: "bold white on red", Severity.WARN: "black on yellow", Severity.INFO: "black on cyan"}


def highlighted(text: str, findings: list[Finding]) -> Text:
    """``text`` with each finding's span styled by severity."""
    out = Text(text)
    for f in findings:
        if 0 <= f.start < f.end <= len(text):
            out.stylize(SEVERITY_STYLE.get(f.severity, "underline"), f.start, f.end)
    return out


def print_revision(rev: Revision) -> None:
    """Print the fields of a revision with findings highlighted, then the findings."""
    waived = {(w.rule_id, w.field, w.start, w.end): w for w in rev.waivers}
    for name, value in rev.content.fields.items():
        if not value:
            continue
        mine = [f for f in rev.findings if f.field == name]
        line = Text(f"  {name:>10}: ", style="dim")
        line.append_text(highlighted(value, mine))
        console.print(line)
    for f in rev.findings:
        w = waived.get((f.rule_id, f.field, f.start, f.end))
        tag = f"[{SEVERITY_STYLE.get(f.severity, '')}] {f.severity.value} [/]"
        extra = f"  (waived by {w.by}: {w.reason})" if w else ""
        fix = f" → {f.suggestion}" if f.suggestion else ""
        console.print(f"  {tag} {f.rule_id} ({f.category.value}) {f.field}[{f.start}:{f.end}] "
                      f"'{f.match}': {f.message}{fix}{extra}")


def print_variant(variant: Variant) -> None:
    """Header line and current revision of a variant."""
    rev = variant.current
    status = variant.status.value
    if variant.review_by and variant.status == "approved":
        status += f" until {variant.review_by}"
    console.print(
        f"[bold]{variant.id}[/] {variant.brief_id} · {variant.stage.value} · {variant.channel.value} · "
        f"[bold]{status}[/] · revision {rev.number} by {rev.author} · hash {rev.content_hash[:12]}"
    )
    print_revision(rev)


def revision_diff(old: Revision, new: Revision) -> str:
    """A unified diff of two revisions' fields."""
    a = [f"{k}: {v}" for k, v in old.content.fields.items()]
    b = [f"{k}: {v}" for k, v in new.content.fields.items()]
    return "\n".join(difflib.unified_diff(a, b, f"revision {old.number}", f"revision {new.number}", lineterm=""))
