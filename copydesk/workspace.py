"""The workspace: the folder marketers and governance owners edit and version in git.

Layout: ``copydesk.yaml`` (config), ``prompts/``, ``guardrails/``, ``templates/``,
``campaigns/``, ``briefs/``, ``audiences/`` and ``store/`` (the SQLite library; the
database file is git-ignored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from copydesk.errors import NotFoundError
from copydesk.export.fieldmap import EspConfig
from copydesk.models import FileModel
from copydesk.yamlio import load_model

CONFIG_FILE = "copydesk.yaml"
ENV_VAR = "COPYDESK_WORKSPACE"


class WorkspaceConfig(FileModel):
    """``copydesk.yaml``: brand name, policy entry point, LLM endpoint settings and the
    platform field maps for dialect exports."""

    brand: str = "My brand"
    policy: str = Field(default="guardrails", description="policy folder or entry pack file")
    llm: dict[str, Any] = Field(default_factory=dict, description="see docs/reference/settings.md")
    review_days: int = Field(default=180, ge=1, description="default review-by horizon")
    max_review_days: int = Field(
        default=365, ge=1, le=3650, description="the furthest review-by date an approval may have, in days"
    )

    esp: EspConfig = Field(
        default_factory=EspConfig,
        description="per platform, copydesk field -> platform attribute (see docs/reference/esp-export.md)",
    )

    @model_validator(mode="after")
    def _default_within_cap(self) -> WorkspaceConfig:
        if self.review_days > self.max_review_days:
            raise ValueError(
                f"review_days ({self.review_days}) is more than max_review_days ({self.max_review_days})"
            )
        return self


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace. Construct with :func:`find_workspace` or directly."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def prompts_dir(self) -> Path:
        return self.root / "prompts"

    @property
    def guardrails_dir(self) -> Path:
        return self.root / "guardrails"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def campaigns_dir(self) -> Path:
        return self.root / "campaigns"

    @property
    def briefs_dir(self) -> Path:
        return self.root / "briefs"

    @property
    def audiences_dir(self) -> Path:
        return self.root / "audiences"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    @property
    def db_path(self) -> Path:
        return self.store_dir / "library.db"

    def config(self) -> WorkspaceConfig:
        """Read ``copydesk.yaml`` (defaults when absent)."""
        if not self.config_path.exists():
            return WorkspaceConfig()
        return load_model(self.config_path, WorkspaceConfig)

    @property
    def policy_path(self) -> Path:
        """The policy folder or entry pack named by the config."""
        return self.root / self.config().policy


def find_workspace(path: str | Path | None = None) -> Workspace:
    """Locate the workspace: ``path``, else ``$COPYDESK_WORKSPACE``, else the current
    folder or the nearest parent holding ``copydesk.yaml``."""
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is not None:
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise NotFoundError(f"workspace folder {root} does not exist")
        return Workspace(root)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).exists():
            return Workspace(candidate)
    raise NotFoundError(
        f"no workspace here: no {CONFIG_FILE} in {here} or its parents "
        f"(run 'copydesk init DIR', or pass --workspace / set {ENV_VAR})"
    )
