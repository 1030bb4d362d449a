"""The README stays true: its Quickstart test command is exactly what CI runs.

That every command is documented is checked against docs/ (tests/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

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
