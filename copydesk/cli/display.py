"""Rich renderings of variants, findings and revisions shared by CLI commands.

Rule for every CLI module: a value that came from a user or a file (text, ids, names,
paths, error messages) is printed through :func:`lit` or as a :class:`~rich.text.Text`,
never interpolated into markup as it is: ``[/]`` in a variant would otherwise crash
the console, and ``[link=...]`` would print as something else than what was written.
"""

from __future__ import annotations

import difflib
import re

from rich.text import Text

from copydesk.cli.common import console
from copydesk.inputs import has_surrogates, printable
from copydesk.models import Finding, Revision, Variant
from copydesk.vocab import Severity

SEVERITY_STYLE = {Severity.BLOCK: "bold white on red", Severity.WARN: "black on yellow", Severity.INFO: "black on cyan"}


# Control characters a terminal would act on (ESC sequences, a bare CR that overwrites the
# line, BEL...); tab, newline and CRLF are kept. Rich passes ESC through untouched.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control picture: ␛ for ESC, ␀ for NUL
    return "\u2421" if code == 0x7F else "\ufffd"


def shown(text: str) -> str:
    """``text`` safe for a terminal, one character for one (so finding spans still line
    up): control characters as their Unicode pictures, lone surrogates as U+FFFD."""
    text = _CONTROLS.sub(_picture, text)
    return _SURROGATES.sub("\ufffd", text) if has_surrogates(text) else text


# What Rich reads as a tag (rich.markup.RE_TAGS without the backslashes before it).
_TAG = re.compile(r"\[[a-z#/@][^[]*?]")
_BRACKET = re.compile(r"(\\*)\[")
_TRAILING_BACKSLASHES = re.compile(r"\\+\Z")


def _bracket(match: re.Match[str]) -> str:
    backslashes = match.group(1)
    if _TAG.match(match.string, match.end() - 1):
        return backslashes * 2 + "\\["  # an escaped tag: Rich halves the backslashes
    # Rich turns "\[" into "[" outside tags: one more backslash keeps those in front
    return backslashes + "\\[" if backslashes else "["


def lit(value: object) -> str:
    """``value`` as text to put inside Rich markup and print literally: markup escaped,
    lone surrogates (from file names or arguments that are not UTF-8) as ``\\udcff``,
    control characters as their pictures.

    Backslashes print as written too: before a bracket, and at the end, where they are
    doubled and closed with an empty ``[none][/none]`` span so they survive both before
    a tag (``[bold]{lit(x)}[/]``) and anywhere else (``rich.markup.escape`` gets both of
    these wrong)."""
    text = _BRACKET.sub(_bracket, shown(printable(str(value))))
    tail = _TRAILING_BACKSLASHES.search(text)
    if tail is None:
        return text
    return text[: tail.start()] + "\\" * (2 * len(tail.group())) + "[none][/none]"


def cell(value: object) -> Text:
    """A table cell that shows ``value`` exactly as written (no markup, no emoji codes)."""
    return Text(shown(printable("" if value is None else str(value))))


def highlighted(text: str, findings: list[Finding]) -> Text:
    """``text`` with each finding's span styled by severity."""
    out = Text(shown(text))
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
        extra = f"  (waived by {lit(w.by)}: {lit(w.reason)})" if w else ""
        fix = f" → {lit(f.suggestion)}" if f.suggestion else ""
        console.print(f"  {tag} {lit(f.rule_id)} ({f.category.value}) {lit(f.field)}\\[{f.start}:{f.end}] "
                      f"'{lit(f.match)}': {lit(f.message)}{fix}{extra}")


def print_variant(variant: Variant) -> None:
    """Header line and current revision of a variant."""
    rev = variant.current
    status = variant.status.value
    if variant.review_by and variant.status == "approved":
        status += f" until {variant.review_by}"
    console.print(
        f"[bold]{lit(variant.id)}[/] {lit(variant.brief_id)} · {variant.stage.value} · {variant.channel.value} · "
        f"[bold]{status}[/] · revision {rev.number} by {lit(rev.author)} · hash {lit(rev.content_hash[:12])}"
    )
    print_revision(rev)


def revision_diff(old: Revision, new: Revision) -> str:
    """A unified diff of two revisions' fields."""
    a = [f"{k}: {v}" for k, v in old.content.fields.items()]
    b = [f"{k}: {v}" for k, v in new.content.fields.items()]
    return "\n".join(difflib.unified_diff(a, b, f"revision {old.number}", f"revision {new.number}", lineterm=""))
