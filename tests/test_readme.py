"""The README stays true: its test command is what CI runs, and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from copydesk.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [c.strip() for c in re.findall(r"```bash\n\s*(.+?)\n\s*```", section, flags=re.S)]


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_second_verbatim():
    commands = _quickstart_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "streamlit run app.py" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1].strip() in [line.strip() for line in ci]


def _all_commands() -> list[str]:
    root = typer.main.get_command(app)
    out = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        if sub:
            out += [f"copydesk {name} {s}" for s in sub]
        else:
            out.append(f"copydesk {name}")
    return out


def test_every_cli_command_is_in_the_readme():
    missing = [c for c in _all_commands() if c not in README]
    assert not missing, f"undocumented commands: {missing}"
