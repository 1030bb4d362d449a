"""Fixtures for the dialect export tests: an approved library written with the
placeholders copydesk allows, and contacts as copydesk's audience reader sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copydesk.render.audience import Record, read_rows
from copydesk.services import Desk
from copydesk.workspace import Workspace
from tests.conftest import open_team_desk

#: Approved copy for sample briefs: every field the proof compares, with defaults
#: (text and number), whitespace control, a comment and characters ESPs read as syntax.
LIBRARY: list[tuple[str, dict[str, str]]] = [
    ("boots-onboarding", {
        "subject": "Your {{ last_product | default('new boots') }}, {{ first_name | default(\"there\") }}",
        "preheader": "Care tips for {{ favourite_activity | default('your next walk') }}",
        "body": "Hi {{ first_name | default('there') }},\n\nClean them after each walk with the Boot Care Kit "
                "— worth it.{# reviewer note #} Ready for {{ favourite_activity | default('the hills') -}}  \n ?",
        "cta": "Read the guide",
    }),
    ("rewards-loyal", {
        "subject": "{{ first_name | default('Friend') }}, you have {{ loyalty_points | default(0) }} points",
        "body": "Thanks for being with us, {{ first_name | d('friend') }}. Double points this month.",
    }),
    ("push-loyal-points", {
        "title": "{{ loyalty_points | default('Your') }} points are waiting",
        "body": "Hi {{ first_name | default('there') }}: spend them on any order.",
    }),
    ("spring-generic", {
        "subject": "Spring walks near {{ city | default('you') }}",
        "body": "{{ first_name | default('Hello') }}, here are three walks near {{ city | default('you') }}.",
    }),
]

#: Contacts as they sit on a platform. ``None`` values are absent from the profile.
CONTACTS: list[dict[str, Any]] = [
    {"contact_id": "full", "first_name": "Amelia", "last_product": "Summit Trail Boots",
     "favourite_activity": "wild camping", "loyalty_points": 120, "city": "Kendal"},
    {"contact_id": "missing"},
    {"contact_id": "empty", "first_name": "", "last_product": "", "favourite_activity": "",
     "loyalty_points": "", "city": ""},
    {"contact_id": "hostile-html", "first_name": "<b>Bob</b> & co", "city": "<script>x</script>",
     "favourite_activity": "\"quoted\" & 'single'"},
    {"contact_id": "hostile-syntax", "first_name": "{{ 7*7 }}", "last_product": "*|FNAME|*",
     "favourite_activity": "{% raw %}%%=v(@x)=%%", "city": "${first_name}"},
    {"contact_id": "unicode", "first_name": "Zoë 🥾 Łukasz", "city": "Llanfairpwllgwyngyll",
     "favourite_activity": "fell-walking\u00a0(côte)"},
    {"contact_id": "spaces", "first_name": " ", "loyalty_points": 7},
]


def copydesk_contacts(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """:data:`CONTACTS` read back by copydesk's audience reader (JSON Lines): what the
    renderer really sees (an empty value is a missing one)."""
    path = tmp_path / "contacts.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CONTACTS), encoding="utf-8")
    out: dict[str, dict[str, Any]] = {}
    for row in read_rows(path):
        assert isinstance(row, Record), row
        out[row.data["contact_id"]] = row.data
    return out


def platform_values(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact's personalisation fields as a platform profile holds them."""
    return {k: v for k, v in contact.items() if k != "contact_id" and v is not None}


def approve_all(desk: Desk, library: list[tuple[str, dict[str, str]]]) -> list[str]:
    """Add, submit and approve each variant; returns their ids."""
    ids = []
    for brief, fields in library:
        v = desk.add_variant(brief, fields, actor="ana")
        desk.submit(v.id, actor="ana")
        desk.approve(v.id, actor="ben")
        ids.append(v.id)
    return ids


@pytest.fixture
def library_desk(bare_ws: Workspace) -> Iterator[Desk]:
    """A library with the team, the sample briefs and :data:`LIBRARY` approved."""
    d = open_team_desk(bare_ws)
    approve_all(d, LIBRARY)
    yield d
    d.close()
