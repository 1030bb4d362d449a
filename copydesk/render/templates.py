"""Channel templates (``templates/CHANNEL/NAME.PART.j2``) and per-contact message rendering.

A template reference such as ``email/default`` names every file
``templates/email/default.*.j2``; each is one *part* of the message, keyed by the
middle extension: ``default.html.j2`` → ``html``, ``default.txt.j2`` → ``txt``,
``default.json.j2`` → ``json``. Output rows carry them as ``rendered_html`` etc.

Context of a channel template:

- ``message``: the variant's fields, already rendered for this contact (plain text);
- ``contact``: the contact's allowed fields (no consent flags);
- ``campaign``: ``id``, ``channel``; ``variant``: ``id``, ``revision``, ``content_hash``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import DictLoader, Template, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from copydesk.errors import NotFoundError, RenderError, TemplateSafetyError
from copydesk.models import ApprovedContent
from copydesk.placeholders import fields_unsupported
from copydesk.render.sandbox import (
    TextTemplate,
    channel_env,
    check_filters,
    compile_text,
    field_allowed,
    make_env,
)
from copydesk.vocab import CHANNEL_FIELDS, Channel

#: The longest rendered part of one message: beyond it the row is rejected (a template
#: or value that blows up must cost one row, never the run).
MAX_PART_CHARS = 10_000_000

#: Names a channel template may use at the top level.
CHANNEL_CONTEXT = frozenset({"message", "contact", "campaign", "variant"})


@dataclass(frozen=True)
class ChannelTemplate:
    """The compiled parts of one channel template, in part-name order."""

    ref: str
    parts: dict[str, Template]
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateSnapshot:
    """The text of every template file (``*.j2``) of a workspace, read once at the start of
    a run: what workers and Spark executors compile from, so a template edited mid-run
    cannot change half the messages, and what the run's snapshot hash covers."""

    root: str
    sources: dict[str, str]
    unreadable: frozenset[str] = frozenset()

    @classmethod
    def read(cls, templates_dir: Path) -> TemplateSnapshot:
        """Snapshot ``templates_dir`` (missing folder: empty snapshot)."""
        sources: dict[str, str] = {}
        unreadable: set[str] = set()
        if templates_dir.is_dir():
            for path in sorted(templates_dir.rglob("*.j2")):
                if not path.is_file():
                    continue
                name = path.relative_to(templates_dir).as_posix()
                try:
                    sources[name] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    unreadable.add(name)
        return cls(str(templates_dir), sources, frozenset(unreadable))

    def sha256(self) -> str:
        """A digest of every file name and text in the snapshot."""
        digest = hashlib.sha256()
        for name in sorted(self.sources):
            digest.update(f"{len(name)}:{name}{len(self.sources[name])}:".encode())
            digest.update(self.sources[name].encode("utf-8", "surrogatepass"))
        for name in sorted(self.unreadable):
            digest.update(f"unreadable:{name}".encode())
        return digest.hexdigest()

    def path(self, name: str) -> Path:
        """Where ``name`` was read from (for messages)."""
        return Path(self.root) / name

    def parts(self, ref: str) -> dict[str, str]:
        """The part files of template ``ref`` (``{"html": "email/x.html.j2", ...}``)."""
        channel, _, stem = ref.partition("/")
        found: dict[str, str] = {}
        for name in sorted(self.sources.keys() | self.unreadable):
            folder, _, file_name = name.rpartition("/")
            if folder != channel or not file_name.startswith(stem + ".") or not file_name.endswith(".j2"):
                continue
            part = file_name[len(stem) + 1 : -len(".j2")]
            if part and "." not in part:
                found[part] = name
        return found


def load_channel_template(
    templates: Path | TemplateSnapshot, ref: str, env: ImmutableSandboxedEnvironment | None = None
) -> ChannelTemplate:
    """Compile every part of ``ref`` from a templates folder or a snapshot of one; errors
    name the file and line."""
    snapshot = templates if isinstance(templates, TemplateSnapshot) else TemplateSnapshot.read(templates)
    files = snapshot.parts(ref)
    if not files:
        raise NotFoundError(
            f"template '{ref}' not found: expected files like {snapshot.path(ref)}.txt.j2"
        )
    env = env or channel_env(DictLoader(snapshot.sources))
    parts: dict[str, Template] = {}
    for part, name in files.items():
        path = snapshot.path(name)
        if name in snapshot.unreadable:
            raise TemplateSafetyError(f"{path}: not UTF-8 text")
        try:
            ast = env.parse(snapshot.sources[name], name=name, filename=str(path))
        except TemplateSyntaxError as exc:
            raise TemplateSafetyError(f"{path}:{exc.lineno}: {exc.message}") from None
        check_filters(ast, str(path))
        unknown = sorted(meta.find_undeclared_variables(ast) - CHANNEL_CONTEXT)
        if unknown:
            raise TemplateSafetyError(
                f"{path}: unknown variable(s) {', '.join(unknown)}; "
                f"templates see only {', '.join(sorted(CHANNEL_CONTEXT))}"
            )
        parts[part] = env.get_template(name)
    return ChannelTemplate(ref, parts, {part: snapshot.path(name) for part, name in files.items()})


@dataclass(frozen=True, slots=True)
class CompiledVariant:
    """A variant's fields compiled once for the whole run."""

    variant: ApprovedContent
    fields: tuple[tuple[str, TextTemplate], ...]
    info: dict[str, Any]


class MessageRenderer:
    """Renders one approved variant for one contact through a channel template."""

    def __init__(
        self,
        channel: Channel,
        template: ChannelTemplate,
        *,
        campaign_id: str,
        allowed: Callable[[str], bool] = field_allowed,
    ) -> None:
        self.channel = Channel(channel)
        self.template = template
        self.allowed = allowed
        self.field_names = CHANNEL_FIELDS[self.channel]
        self.part_names = tuple(template.parts)
        self._env = make_env()
        self._compiled: dict[tuple[str, str], CompiledVariant] = {}
        self._broken: dict[tuple[str, str], str] = {}
        self._campaign = {"id": campaign_id, "channel": self.channel.value}

    def compile(self, variant: ApprovedContent) -> CompiledVariant:
        """Compile (once) the fields of ``variant``. Raises :class:`TemplateSafetyError`
        for copy outside the supported placeholder subset (:mod:`copydesk.placeholders`)."""
        key = (variant.variant_id, variant.content_hash)
        found = self._compiled.get(key)
        if found is None:
            broken = self._broken.get(key)
            if broken is not None:
                raise TemplateSafetyError(broken)
            for name, spans in fields_unsupported(variant.fields).items():
                self._broken[key] = (f"variant {variant.variant_id} field {name}: "
                                     f"{spans[0].text!r} is not copy ({spans[0].reason})")
                raise TemplateSafetyError(self._broken[key])
            compiled = tuple(
                (
                    name,
                    compile_text(
                        self._env,
                        variant.fields.get(name, ""),
                        source=f"variant {variant.variant_id} field {name}",
                        allowed=self.allowed,
                    ),
                )
                for name in self.field_names
            )
            info = {
                "id": variant.variant_id,
                "revision": variant.revision,
                "content_hash": variant.content_hash,
                "brief": variant.brief_id,
            }
            found = self._compiled[key] = CompiledVariant(variant, compiled, info)
        return found

    def render(self, variant: ApprovedContent, contact: Mapping[str, Any]) -> dict[str, str]:
        """The rendered variant fields and channel parts (``rendered_<part>``).

        Raises :class:`RenderError` for this contact only: a variant that cannot be
        compiled, a missing field without a default, or a message over the size limit."""
        try:
            compiled = self.compile(variant)
        except TemplateSafetyError as exc:
            raise RenderError(str(exc)) from None
        message = {name: text.render(contact) for name, text in compiled.fields}
        allowed = self.allowed
        view = {k: v for k, v in contact.items() if allowed(k)}
        context = {
            "message": message,
            "contact": view,
            "campaign": self._campaign,
            "variant": compiled.info,
        }
        out = dict(message)
        for part, template in self.template.parts.items():
            try:
                out["rendered_" + part] = _bounded(template.render(context), part)
            except UndefinedError as exc:
                raise RenderError(f"template {self.template.ref} ({part}): {exc.message}") from None
            except SecurityError as exc:
                raise RenderError(f"template {self.template.ref} ({part}): {exc}") from None
            except TemplateError as exc:
                raise RenderError(f"template {self.template.ref} ({part}): {exc}") from None
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise RenderError(
                    f"template {self.template.ref} ({part}): {type(exc).__name__}: {exc}"
                ) from None
        return out

    @property
    def columns(self) -> tuple[str, ...]:
        """Output columns this renderer fills."""
        return self.field_names + tuple("rendered_" + p for p in self.part_names)


def _bounded(text: str, part: str) -> str:
    if len(text) > MAX_PART_CHARS:
        raise RenderError(f"the rendered {part} part is {len(text):,} characters, over the "
                          f"{MAX_PART_CHARS:,} limit")
    return text
