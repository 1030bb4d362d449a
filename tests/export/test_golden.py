"""Golden files: the sample library in every dialect, byte for byte.

Mailchimp, SFMC and HubSpot have no maintained Python engine: their golden files were
checked by hand against each platform's published syntax (cited in
docs/reference/esp-export.md) and this test keeps the export identical to them. The
Braze, Iterable and Klaviyo files are proven by engines (test_engine_proof.py) and kept
here so that a change to any output shows up in review.

Regenerate after a deliberate change: ``GOLDEN_WRITE=1 pytest tests/export/test_golden.py``
— then check the diff against the platform references again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from copydesk import clock
from copydesk.services import Desk
from copydesk.workspace import Workspace
from tests.conftest import open_team_desk
from tests.export.conftest import LIBRARY, approve_all

GOLDEN = Path(__file__).parent / "golden"
DIALECTS = ["braze", "iterable", "klaviyo", "mailchimp", "sfmc", "hubspot"]
ESP = """\
esp:
  mailchimp: {city: CITY, favourite_activity: FAVACT, last_product: LASTPROD, loyalty_points: POINTS}
  sfmc: {favourite_activity: Favourite Activity}
  braze: {city: home_city}
"""
#: Literal text each platform reads as syntax, and copy right next to placeholders.
EDGES: list[tuple[str, dict[str, str]]] = [
    ("newsletter-awareness", {
        "subject": "Braces {}, {{ first_name | default(\"it's you\") }}}} and %% and %{{ city | default('x') }}%",
        "body": "Path C:\\{{ first_name | default('x') }} — {{ first_name | default('') }} done",
    }),
    ("spring-generic", {
        "subject": "Literal ${city} here",
        "body": "Hi {{ first_name | default('there') | title }}, {{ city }}",
    }),
]


@pytest.fixture
def golden_desk(bare_ws: Workspace) -> Iterator[Desk]:
    clock.freeze(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    bare_ws.config_path.write_text(bare_ws.config_path.read_text() + ESP, encoding="utf-8")
    d = open_team_desk(bare_ws)
    approve_all(d, LIBRARY)
    yield d
    d.close()


def golden_text(desk: Desk, dialect: str) -> str:
    """Every exported field as ``VARIANT FIELD`` then the text, then the attributes."""
    records, problems = desk.dialect_records(dialect)
    assert problems == []
    out = []
    for r in records:
        for name, text in r["fields"].items():
            out.append(f"== {r['variant_id']} {name}\n{text}\n")
        out.append(f"== {r['variant_id']} attributes\n"
                   + "".join(f"{k}: {v}\n" for k, v in sorted(r["attributes"].items())))
    return "".join(out)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_export_matches_golden(golden_desk: Desk, dialect: str) -> None:
    text = golden_text(golden_desk, dialect)
    path = GOLDEN / f"{dialect}.txt"
    if os.environ.get("GOLDEN_WRITE") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_mailchimp_golden_uses_only_documented_forms() -> None:
    text = (GOLDEN / "mailchimp.txt").read_text(encoding="utf-8")
    tags = re.findall(r"\*\|(.*?)\|\*", text)
    assert tags and all(re.fullmatch(r"[A-Z0-9_]{1,10}|IF:[A-Z0-9_]{1,10}|ELSE:|END:IF", t) for t in tags)
    assert text.count("*|IF:") == text.count("*|END:IF|*") == text.count("*|ELSE:|*")


def test_sfmc_golden_uses_only_documented_forms() -> None:
    text = (GOLDEN / "sfmc.txt").read_text(encoding="utf-8")
    blocks = re.findall(r"%%=(.*?)=%%|%%\[(.*?)\]%%", text)
    assert blocks
    for inline, block in blocks:
        if block:
            assert re.fullmatch(r" /\* [^*]* \*/ ", block)
        else:
            assert re.fullmatch(r"((Uppercase|Lowercase|Trim)\()*IIF\(Empty\(AttributeValue\(\"[\w ]+\"\)\),"
                                r"'([^']|'')*',AttributeValue\(\"[\w ]+\"\)\)\)*", inline), inline


def test_hubspot_golden_uses_only_documented_forms() -> None:
    text = (GOLDEN / "hubspot.txt").read_text(encoding="utf-8")
    tags = re.findall(r"\{\{(.*?)\}\}", text)
    assert tags
    for tag in tags:
        assert re.fullmatch(r" contact\.\w+\|default\('[^']*', true\)(\|(upper|lower|capitalize|trim))*(\|escape)? ",
                            tag), tag


@pytest.mark.parametrize("dialect", DIALECTS)
def test_edges_golden(bare_ws: Workspace, dialect: str) -> None:
    clock.freeze(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    d = open_team_desk(bare_ws)
    approve_all(d, EDGES)
    records, problems = d.dialect_records(dialect)
    text = "".join(f"{r['variant_id']} {k}: {v}\n" for r in records for k, v in r["fields"].items())
    text += "".join(f"problem: {p}\n" for p in problems)
    path = GOLDEN / f"edges-{dialect}.txt"
    if os.environ.get("GOLDEN_WRITE") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    d.close()


def test_hubspot_golden_parses_as_jinja() -> None:
    # HubL is Jinjava, a Java implementation of Jinja: Jinja2 parsing every exported field
    # checks the structure (balanced tags, quoting), not HubSpot's behaviour
    from jinja2 import Environment

    env = Environment()
    for chunk in ("\n" + (GOLDEN / "hubspot.txt").read_text(encoding="utf-8")).split("\n== ")[1:]:
        env.parse(chunk.split("\n", 1)[1])
