"""Prompt templates are files in the workspace ``prompts/`` folder.

Each ``NAME.j2`` starts with YAML front matter (``id``, ``version``, ``purpose``)
between ``---`` lines, then a Jinja body rendered in an immutable sandbox with
strict undefined variables. No prompt text lives in Python code. Every rendering
carries the template's id, version and the sha256 of the rendered text, which are
stored with each draft.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import Field, ValidationError

from copydesk.errors import InputError, NotFoundError
from copydesk.models import FileModel
from copydesk.yamlio import parse_yaml, validation_error

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.DOTALL)


class PromptMeta(FileModel):
    """A prompt file's front matter."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    purpose: str = Field(min_length=1)


@dataclass(frozen=True)
class RenderedPrompt:
    """The text of one rendered prompt and what identifies it."""

    id: str
    version: int
    text: str
    sha256: str

    def provenance(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_data(value: Any) -> str:
    """Filter for user text placed inside a fenced data block: angle brackets become
    look-alikes so the text cannot close the fence and pose as instructions."""
    return str(value).replace("<", "‹").replace(">", "›")


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["data"] = as_data
    return env


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file, parsed and compiled."""

    meta: PromptMeta
    path: Path
    template: jinja2.Template

    def render(self, **variables: Any) -> RenderedPrompt:
        try:
            text = self.template.render(**variables).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise InputError(f"prompt needs a variable it was not given: {exc.message}",
                             source=str(self.path)) from None
        except jinja2.TemplateError as exc:
            raise InputError(f"prompt failed to render: {exc}", source=str(self.path)) from None
        return RenderedPrompt(self.meta.id, self.meta.version, text, sha256_text(text))


def load_prompt(path: Path, env: jinja2.Environment | None = None) -> PromptTemplate:
    """Parse one prompt file; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"prompt file {path} does not exist") from None
    match = _FRONT.match(text)
    if not match:
        raise InputError("missing front matter (id, version, purpose between --- lines)",
                         source=str(path), line=1)
    front = match.group(1)
    data = parse_yaml(front, str(path))
    if not isinstance(data, dict):
        raise InputError("front matter must be a mapping", source=str(path), line=2)
    try:
        meta = PromptMeta.model_validate(data)
    except ValidationError as exc:
        err = validation_error(exc, front, str(path))
        raise InputError(err.reason, source=str(path), line=(err.line or 0) + 1,
                         field=err.field) from None
    if meta.id != path.stem:
        raise InputError(f"id '{meta.id}' differs from the file name '{path.stem}'",
                         source=str(path), line=2, field="id")
    body_line = front.count("\n") + 2
    env = env or _environment()
    try:
        # Pad with newlines so Jinja's line numbers match the file's.
        template = env.from_string("\n" * body_line + text[match.end():])
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"template syntax: {exc.message}", source=str(path),
                         line=exc.lineno) from None
    return PromptTemplate(meta, path, template)


class PromptLibrary:
    """The prompt templates of one workspace, loaded lazily by id."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._env = _environment()
        self._cache: dict[str, PromptTemplate] = {}

    def get(self, prompt_id: str) -> PromptTemplate:
        if prompt_id not in self._cache:
            path = self.folder / f"{prompt_id}.j2"
            if not path.is_file():
                raise NotFoundError(
                    f"prompt '{prompt_id}' not found: expected {path} "
                    "(the workspace prompts/ folder holds the LLM prompt templates)"
                )
            self._cache[prompt_id] = load_prompt(path, self._env)
        return self._cache[prompt_id]

    def render(self, prompt_id: str, **variables: Any) -> RenderedPrompt:
        """Render prompt ``prompt_id`` with ``variables``."""
        return self.get(prompt_id).render(**variables)

    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.j2"))
