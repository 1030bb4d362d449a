"""Shared CLI plumbing: the current workspace, consoles and error display."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

from copydesk.workspace import Workspace, find_workspace

if TYPE_CHECKING:
    from copydesk.services import Desk

# No emoji codes (":smile:" in a variant prints as typed). Markup stays on for our own
# styling, so every value from a user or a file goes through display.lit() (or Text).
console = Console(highlight=False, soft_wrap=True, emoji=False)
console_err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@dataclass
class _State:
    workspace_arg: str | None = None


state = _State()


def workspace() -> Workspace:
    """The workspace chosen by ``--workspace``, the environment or the current folder."""
    return find_workspace(state.workspace_arg)


def open_desk() -> Desk:
    """The service layer on the current workspace's library."""
    from copydesk.services import Desk

    return Desk.open(workspace())


ACT_AS_HELP = "Act as this user (the CLI is the trusted local path; see docs/security.md)."
