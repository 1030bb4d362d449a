"""When two drafts say the same thing: the near-duplicate measure of a generation run.

The measure is the Jaccard index of the drafts' word sets: every message field joined,
NFKC-normalised and case-folded, split into word tokens (``\\w+``), each Jinja
placeholder counted as one token. Two drafts whose index is at least
:data:`NEAR_DUPLICATE` (0.9) are near-duplicates: a reviewer would see the same copy
twice. Identical drafts score 1.0; a draft that changes one word in twenty scores
about 0.9; two drafts that share their offer wording but take different angles score
well under 0.7.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

#: Drafts at or above this token Jaccard index are near-duplicates.
NEAR_DUPLICATE = 0.9

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_WORD = re.compile(r"\w+")


def tokens(fields: Mapping[str, str]) -> frozenset[str]:
    """The normalised word set of a draft's message fields."""
    text = " ".join(fields.values())
    text = _PLACEHOLDER.sub(" jinjaplaceholder ", unicodedata.normalize("NFKC", text)).casefold()
    return frozenset(_WORD.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b| (1.0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0
