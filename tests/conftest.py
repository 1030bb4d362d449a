"""Shared fixtures: every test gets its own workspace and library; no test touches
the repository's store or the network."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

# Tests chdir into tmp folders; spawned worker processes re-import __main__ by path,
# so a relative path (".venv/bin/pytest") must be made absolute before the first chdir.
_main = sys.modules.get("__main__")
if _main is not None and getattr(_main, "__file__", None) and not os.path.isabs(_main.__file__):
    _main.__file__ = os.path.abspath(_main.__file__)

from copydesk import clock  # noqa: E402
from copydesk.cli import main  # noqa: E402
from copydesk.services import Desk  # noqa: E402
from copydesk.vocab import Role  # noqa: E402
from copydesk.workspace import Workspace  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in list(os.environ):
        if var.startswith(("COPYDESK_", "OPENAI_", "AZURE_OPENAI")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    monkeypatch.chdir(tmp_path)
    main_module = sys.modules["__main__"]
    yield
    clock.freeze(None)
    # streamlit's AppTest leaves __main__ pointing at its generated script; a render
    # worker started later (spawn) would run that script and die
    sys.modules["__main__"] = main_module


@pytest.fixture
def sample_ws(tmp_path: Path) -> Workspace:
    """A copy of the repository's sample workspace, with an empty store."""
    root = tmp_path / "ws"
    root.mkdir()
    for name in ("prompts", "guardrails", "templates", "campaigns", "briefs", "audiences"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "copydesk.yaml", root / "copydesk.yaml")
    (root / "store").mkdir()
    return Workspace(root)


#: A policy of one rule that ordinary copy never trips: workflow tests see no findings,
#: while the library still refuses to check text without a policy (fail closed).
QUIET_POLICY = """\
pack: quiet
brand:
  name: Test
  offers:
    - {id: spring-boots-15, text: 15% off Summit Trail Boots until 30 April 2027}
    - {id: free-returns-60, text: free returns within 60 days}
    - {id: rewards-double-points, text: double Ridgeline Rewards points on orders over £50}
rules:
  - id: quiet.invisible
    type: invisible
    category: injection
    severity: block
    message: "Invisible character ({match})"
    tests:
      fire: ["a\\u200bb"]
      pass: ["plain copy"]
"""


@pytest.fixture
def bare_ws(tmp_path: Path) -> Workspace:
    """A workspace with the sample briefs and a quiet policy (no findings on ordinary copy)."""
    root = tmp_path / "bare"
    root.mkdir()
    shutil.copytree(REPO / "briefs", root / "briefs")
    (root / "guardrails").mkdir()
    (root / "guardrails" / "policy.yaml").write_text(QUIET_POLICY, encoding="utf-8")
    (root / "copydesk.yaml").write_text("brand: Test\npolicy: guardrails\n", encoding="utf-8")
    (root / "store").mkdir()
    return Workspace(root)


def add_team(desk: Desk) -> None:
    """admin, ana (copywriter), ben and bea (reviewers), max (marketer), cy (copywriter+reviewer)."""
    desk.add_user("admin", [Role.ADMIN], PASSWORD, actor=None)
    desk.add_user("ana", [Role.COPYWRITER], PASSWORD, actor="admin")
    desk.add_user("ben", [Role.REVIEWER], PASSWORD, actor="admin")
    desk.add_user("bea", [Role.REVIEWER], PASSWORD, actor="admin")
    desk.add_user("max", [Role.MARKETER], PASSWORD, actor="admin")
    desk.add_user("cy", [Role.COPYWRITER, Role.REVIEWER], PASSWORD, actor="admin")


def open_team_desk(ws: Workspace) -> Desk:
    """The workspace's library with the team of :func:`add_team` and its briefs loaded."""
    d = Desk.open(ws)
    add_team(d)
    for path in sorted(ws.briefs_dir.glob("*.yaml")):
        d.add_brief_file(path, actor="ana")
    return d


@pytest.fixture
def desk(bare_ws: Workspace) -> Iterator[Desk]:
    """A library with a team and the sample briefs, no guardrail policy."""
    d = open_team_desk(bare_ws)
    yield d
    d.close()


#: One approved variant per sample brief (:func:`campaign_ws`).
APPROVED_FIELDS = {
    "boots-onboarding": {"subject": "Care for your boots, {{ first_name | default('there') }}",
                         "body": "Clean them after each walk with the Boot Care Kit."},
    "spring-generic": {"subject": "Spring on the fells, {{ first_name | default('there') }}",
                       "body": "New season, new trails."},
    "rewards-loyal": {"subject": "{{ first_name | default('Hello') }}, your points",
                      "body": "You have {{ loyalty_points | default(0) }} points."},
    "winback-dormant": {"subject": "We miss you", "body": "The hills are calling."},
}


def approve_samples(desk: Desk) -> None:
    """Write (ana), submit and approve (ben) one variant per sample brief."""
    for brief, fields in APPROVED_FIELDS.items():
        v = desk.add_variant(brief, fields, actor="ana")
        desk.submit(v.id, actor="ana")
        desk.approve(v.id, actor="ben", comment="ok")


@pytest.fixture
def campaign_ws(desk: Desk, bare_ws: Workspace) -> Workspace:
    """:func:`bare_ws` with the sample templates, campaigns and audience and one approved
    variant per sample brief: ready to validate, render, explain and serve."""
    for name in ("templates", "campaigns", "audiences"):
        shutil.copytree(REPO / name, bare_ws.root / name)
    approve_samples(desk)
    return bare_ws


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``copydesk ARGS`` in-process; returns exit code, stdout and stderr."""
    from copydesk.cli import common

    def run(*args: str, stdin: str | None = None) -> CliResult:
        import io
        import sys

        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        # rich consoles bind to the streams at import; point them at the captured ones
        monkeypatch.setattr(common.console, "_file", sys.stdout)
        monkeypatch.setattr(common.console_err, "_file", sys.stderr)
        monkeypatch.setattr(common.console, "_width", 200)
        monkeypatch.setattr(common.console_err, "_width", 200)
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
