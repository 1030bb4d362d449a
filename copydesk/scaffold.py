"""``copydesk init``: scaffold a new workspace from the sample one."""

from __future__ import annotations

import shutil
from pathlib import Path

import copydesk
from copydesk.errors import InputError, NotFoundError
from copydesk.workspace import CONFIG_FILE, Workspace

#: Folders copied into a new workspace.
SCAFFOLD_DIRS = ("prompts", "guardrails", "templates", "campaigns", "briefs", "audiences")


def sample_workspace() -> Workspace:
    """The sample workspace shipped with the source checkout (the repository root)."""
    root = Path(copydesk.__file__).resolve().parent.parent
    if not (root / CONFIG_FILE).exists():
        raise NotFoundError(
            "the sample workspace is not next to the installed package; install copydesk from a "
            "source checkout (pip install -e .) to use 'copydesk init'"
        )
    return Workspace(root)


def init_workspace(target: Path, *, brand: str | None = None) -> Workspace:
    """Create a workspace at ``target``: prompts, policy packs, templates, an example
    brief, campaign and audience, a config and an empty store."""
    target = target.expanduser().resolve()
    if target.exists() and any(target.iterdir()):
        raise InputError(f"{target} exists and is not empty; choose a new folder")
    source = sample_workspace()
    target.mkdir(parents=True, exist_ok=True)
    for name in SCAFFOLD_DIRS:
        src = source.root / name
        if src.is_dir():
            shutil.copytree(src, target / name)
    config = (source.root / CONFIG_FILE).read_text(encoding="utf-8")
    if brand:
        lines = [f"brand: {brand}" if ln.startswith("brand:") else ln for ln in config.splitlines()]
        config = "\n".join(lines) + "\n"
    (target / CONFIG_FILE).write_text(config, encoding="utf-8")
    store = target / "store"
    store.mkdir(exist_ok=True)
    (store / ".gitignore").write_text("*.db\n*.db-*\n", encoding="utf-8")
    return Workspace(target)
