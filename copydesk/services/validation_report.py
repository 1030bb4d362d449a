"""Every problem at once: a campaign file's validation errors, and the rows of a messages
file that ``sends record`` would refuse, each naming source, line and field.

Additive to :mod:`copydesk.services.campaigns` (which stops at the first problem, as the
CLI should): the app lists them all so a marketer fixes a file in one pass."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from copydesk.errors import CopydeskError, InputError
from copydesk.rules.campaign import Campaign
from copydesk.rules.conditions import TAG_PREFIX
from copydesk.yamlio import line_of, parse_yaml

if TYPE_CHECKING:
    from copydesk.measure.outcomes import ImportResult
    from copydesk.services.campaigns import SendsRecorded
    from copydesk.services.desk import Desk

MAX_ERRORS = 50
T = TypeVar("T")


def _clean(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    return tuple(p for p in loc if not (isinstance(p, str) and (p.startswith(TAG_PREFIX) or p.startswith("function-"))))


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def campaign_errors(text: str, source: str) -> list[InputError]:
    """Every validation error of campaign YAML ``text`` (empty: valid), one per field,
    each naming ``source``, line and field, in the order of the file."""
    try:
        data: Any = parse_yaml(text, source)
    except InputError as exc:
        return [exc]
    if not isinstance(data, dict):
        return [InputError("expected a mapping of fields at the top level", source=source, line=1)]
    try:
        Campaign.model_validate(data)
    except ValidationError as exc:
        seen: set[str] = set()
        out: list[InputError] = []
        # a condition that is wrong in every way the union allows gives one error per
        # member: keep one per field, and the "unknown field" one where there is a choice
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        for err in errors:
            loc = _clean(tuple(err["loc"]))
            name = _path(loc)
            if name in seen:
                continue
            seen.add(name)
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown field (check the spelling)"
            elif err["type"] == "union_tag_invalid":
                message = "not a condition: use {field: ..., is: ...} or all / any / not"
            out.append(InputError(message, source=source, line=line_of(text, loc), field=name or None))
        return sorted(out, key=lambda e: (e.line or 0))[:MAX_ERRORS]
    return []


def messages_file_errors(path: Path, source: str) -> list[InputError]:
    """Every row of a rendered messages file that ``sends record`` would refuse (it stops
    at the first): unreadable rows, a missing campaign_id or channel, an unusable send
    time. Rows that are not sends (suppressed, capped, no variant) are fine."""
    from copydesk.services.campaigns import check_messages

    return check_messages(path, source=source, limit=MAX_ERRORS)


@contextmanager
def uploaded(data: bytes, file_name: str) -> Iterator[Path]:
    """The uploaded bytes as a file named like the upload, in a folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="copydesk-upload-") as tmp:
        path = Path(tmp) / (Path(file_name).name or "upload.csv")
        path.write_bytes(data)
        yield path


def _named(exc: CopydeskError, path: Path, file_name: str) -> CopydeskError:
    """``exc`` with the temporary path replaced by the upload's name."""
    if isinstance(exc, InputError):
        source = file_name if exc.source in (None, str(path)) else exc.source
        return InputError(exc.reason.replace(str(path), file_name), source=source, line=exc.line, field=exc.field)
    return exc


def record_uploaded_sends(desk: Desk, data: bytes, file_name: str, *, actor: str,
                          sent_at: datetime | None = None) -> tuple[SendsRecorded | None, list[InputError]]:
    """``sends record`` for an uploaded messages file: every problem row first (nothing is
    recorded while there are any, as the CLI), else the sends recorded."""
    from copydesk.services.campaigns import record_sends

    with uploaded(data, file_name) as path:
        problems = messages_file_errors(path, file_name)
        if problems:
            return None, problems
        return _run(lambda: record_sends(desk, path, actor=actor, sent_at=sent_at), path, file_name), []


def import_uploaded_outcomes(desk: Desk, data: bytes, file_name: str, *, actor: str) -> ImportResult:
    """``outcomes import`` for an uploaded file: good rows stored, bad rows come back as
    rejects (named by the upload's file name)."""
    with uploaded(data, file_name) as path:
        result = _run(lambda: desk.import_outcomes(path, actor=actor), path, file_name)
        result.source = file_name
        result.rejects = [replace(r, source=file_name) for r in result.rejects]
        return result


def _run(action: Callable[[], T], path: Path, file_name: str) -> T:
    try:
        return action()
    except CopydeskError as exc:
        raise _named(exc, path, file_name) from None
