"""Content hashes: an approval is bound to the sha256 of the exact text approved."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def content_hash(channel: str, fields: dict[str, str]) -> str:
    """sha256 of the canonical JSON of a revision's channel and fields."""
    body = json.dumps(
        {"channel": str(channel), "fields": fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def file_hash(path: Path | str) -> str:
    """sha256 of a file's bytes (campaign files are identified by this in every output row)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
