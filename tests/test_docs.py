"""The docs stay true: the CLI reference is the commands' own help, every command is
explained somewhere a reader looks, every link resolves inside the repository, and the
README stays a front door."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
import typer.main

from copydesk.cli import app
from copydesk.cli.reference import REFERENCE_PATH, REGENERATE, cli_reference, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CLI_MD = ROOT / REFERENCE_PATH
README = ROOT / "README.md"

_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _markdown_files() -> list[Path]:
    return [README, ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced = [], False
    for n, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append((n, line))
    return out


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        base = _slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        anchors.add(base if n == 0 else f"{base}-{n}")
    return anchors


def _links(path: Path) -> list[tuple[int, str]]:
    out = []
    for n, line in _prose_lines(path.read_text(encoding="utf-8")):
        line = _INLINE_CODE.sub("", line)
        out += [(n, m.group(1)) for m in _LINK.finditer(line)]
        ref = _REF_DEF.match(line)
        if ref:
            out.append((n, ref.group(1)))
    return out


def _commands(*, leaves_only: bool) -> list[str]:
    """Every visible command as typed, found by walking the click tree directly (not
    through copydesk.cli.reference, so a command the generator skips is still caught)."""
    out: list[str] = []

    def walk(cmd: object, path: str) -> None:
        sub = getattr(cmd, "commands", None)
        if not leaves_only or not sub:
            out.append(path)
        for name, child in (sub or {}).items():
            if not getattr(child, "hidden", False):
                walk(child, f"{path} {name}")

    walk(typer.main.get_command(app), "copydesk")
    return out


# -- the generated CLI reference ------------------------------------------------------


def test_the_cli_reference_is_generated_from_the_current_help() -> None:
    expected = cli_reference()
    current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    if current != expected:
        diff = list(difflib.unified_diff(
            current.splitlines(), expected.splitlines(), str(REFERENCE_PATH), "generated", lineterm="", n=1
        ))
        shown = "\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else "")
        pytest.fail(
            f"{REFERENCE_PATH} is out of date with the CLI's --help. Regenerate it with:\n\n"
            f"    .venv/bin/{REGENERATE}\n\nand commit the result.\n\n{shown}",
            pytrace=False,
        )


def test_the_generator_writes_the_file_and_check_reports_a_stale_one(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    out.write_text("# stale\n", encoding="utf-8")
    assert main(["--check", "--out", str(out)]) == 1
    assert main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == cli_reference()
    assert main(["--check", "--out", str(out)]) == 0


def test_every_command_has_its_own_section_in_the_cli_reference() -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    commands = _commands(leaves_only=False)
    assert len(commands) > 40  # the walk found the real tree
    missing = [c for c in commands if f"\n## {c}\n" not in text]
    assert not missing, f"commands without a section in {REFERENCE_PATH}: {missing}; run {REGENERATE}"


def test_the_cli_reference_is_plain_text_at_a_fixed_width() -> None:
    text = cli_reference()
    assert "\x1b[" not in text, "Rich colour codes leaked into the reference"
    assert not any(ch in text for ch in "╭╮╰╯│"), "Rich panels leaked into the reference"
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block:
            assert len(line) <= 100, f"help line wider than 100 columns: {line!r}"


# -- every command is explained where a reader looks -------------------------------------


def test_every_command_is_explained_in_a_guide_or_reference_page() -> None:
    pages = [p for p in [*DOCS.glob("guides/*.md"), *DOCS.glob("reference/*.md")] if p != CLI_MD]
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    commands = _commands(leaves_only=True)
    missing = [c for c in commands if not re.search(re.escape(c) + r"(?![\w-])", text)]
    assert not missing, (
        f"commands only in the generated reference, explained in no guide or reference page: {missing}"
    )


# -- links ---------------------------------------------------------------------------------


def test_every_relative_link_resolves_to_a_file_and_heading_in_the_repository() -> None:
    broken = []
    for md in _markdown_files():
        for line, target in _links(md):
            if _EXTERNAL.match(target):
                continue
            where = f"{md.relative_to(ROOT)}:{line}: {target}"
            path_part, _, anchor = target.partition("#")
            if path_part.startswith("/"):
                broken.append(f"{where} (absolute path)")
                continue
            dest = (md.parent / path_part).resolve() if path_part else md
            if not dest.is_relative_to(ROOT):
                broken.append(f"{where} (points outside the repository)")
            elif not dest.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{where} (no heading #{anchor} in {dest.relative_to(ROOT)})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](#title) [bad](#nope) [file](missing.md)\n\n```\n[in code](ignored.md)\n```\n",
        encoding="utf-8",
    )
    assert _links(page) == [(3, "#title"), (3, "#nope"), (3, "missing.md")]
    assert _anchors(page) == {"title"}
    assert _slug("What happens on `copydesk generate`") == "what-happens-on-copydesk-generate"
    assert _slug("2. Export approved content") == "2-export-approved-content"


def test_every_docs_page_is_on_the_map() -> None:
    index = DOCS / "index.md"
    linked = {(index.parent / t.partition("#")[0]).resolve() for _, t in _links(index) if not _EXTERNAL.match(t)}
    pages = {p.resolve() for p in DOCS.rglob("*.md")} - {index.resolve()}
    missing = sorted(str(p.relative_to(ROOT)) for p in pages - linked)
    assert not missing, f"docs pages not linked from docs/index.md: {missing}"


# -- the front door ----------------------------------------------------------------------


def test_the_readme_stays_short_and_points_at_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) < 220, f"README.md has {len(lines)} lines; move details to docs/"
    assert "docs/index.md" in text


def test_the_design_numbers_its_invariants_in_order() -> None:
    text = (DOCS / "design.md").read_text(encoding="utf-8")
    section = text.split("## Invariants", 1)[1].split("\n## ", 1)[0]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. \*\*", section, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 10


def test_code_and_workspace_point_at_the_projects_own_docs() -> None:
    """Comments, help texts and sample files name docs inside this repository, never a
    design file outside it or a README section that moved to docs/."""
    stale = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared|README, [\"']")
    places = [*ROOT.glob("copydesk/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py"),
              ROOT / "app.py", ROOT / "copydesk.yaml", *ROOT.glob("campaigns/*.yaml"),
              *ROOT.glob("guardrails/**/*.yaml"), *ROOT.glob("prompts/*.j2"), *ROOT.glob("briefs/*.yaml")]
    here = Path(__file__).resolve()
    found = [f"{p.relative_to(ROOT)}:{n}" for p in places if p.resolve() != here
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if stale.search(line)]
    assert not found, f"pointers outside the project's docs: {found}"
