"""``copydesk init``: scaffold a new workspace from the sample one."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import copydesk
from copydesk.errors import InputError, NotFoundError
from copydesk.workspace import CONFIG_FILE, Workspace

#: Folders copied into a new workspace.
SCAFFOLD_DIRS = ("prompts", "guardrails", "templates", "campaigns", "briefs", "audiences")

#: Where a built package carries the sample workspace (copied there by setup.py).
PACKAGED_SAMPLE = "_sample"

_SKIPPED = frozenset({"__pycache__"})


def sample_root() -> Traversable:
    """The sample workspace's root folder: the copy inside an installed package
    (``copydesk/_sample/``), else the source checkout's root (an editable install)."""
    packaged = files(copydesk) / PACKAGED_SAMPLE
    if packaged.is_dir():
        return packaged
    checkout = Path(copydesk.__file__).resolve().parent.parent
    if (checkout / CONFIG_FILE).is_file():
        return checkout
    raise NotFoundError(
        "this copydesk installation has no sample workspace (neither copydesk/_sample/ nor a "
        "source checkout); reinstall it from a wheel or sdist built with its setup.py"
    )


def init_workspace(target: Path, *, brand: str | None = None) -> Workspace:
    """Create a workspace at ``target``: prompts, policy packs, templates, an example
    brief, campaign and audience, a config and an empty store."""
    target = target.expanduser().resolve()
    if target.exists() and any(target.iterdir()):
        raise InputError(f"{target} exists and is not empty; choose a new folder")
    source = sample_root()
    target.mkdir(parents=True, exist_ok=True)
    for name in SCAFFOLD_DIRS:
        src = source / name
        if src.is_dir():
            _copy_tree(src, target / name)
    config = (source / CONFIG_FILE).read_text(encoding="utf-8")
    if brand:
        lines = [f"brand: {brand}" if ln.startswith("brand:") else ln for ln in config.splitlines()]
        config = "\n".join(lines) + "\n"
    (target / CONFIG_FILE).write_text(config, encoding="utf-8")
    store = target / "store"
    store.mkdir(exist_ok=True)
    (store / ".gitignore").write_text("*.db\n*.db-*\n", encoding="utf-8")
    return Workspace(target)


def _copy_tree(src: Traversable, dst: Path) -> None:
    # Traversable rather than shutil.copytree: the package may be imported from a zip.
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        if entry.name in _SKIPPED:
            continue
        if entry.is_dir():
            _copy_tree(entry, dst / entry.name)
        else:
            (dst / entry.name).write_bytes(entry.read_bytes())
