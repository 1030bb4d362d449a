"""The engine proof on generated contact values: any text a contact field can hold (any
unicode, markup, quotes, every platform's delimiters) renders the same through the
exported Braze, Iterable and Klaviyo copy as through copydesk."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copydesk.export.translate import is_html
from copydesk.render.audience import Record, read_rows
from copydesk.render.templates import MessageRenderer, load_channel_template
from copydesk.rules.values import coerce_iso
from copydesk.services import Desk
from tests.conftest import REPO
from tests.export import engines

FIELDS = ("first_name", "last_product", "favourite_activity")
#: Syntax of every dialect, mixed into generated values.
SYNTAX = ["{{", "}}", "{%", "%}", "{#", "${", "*|", "|*", "%%", "<b>", "&amp;", "'", '"', "\\", " ", "\n"]
TEXT = st.lists(st.one_of(st.sampled_from(SYNTAX),
                          st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)),
                max_size=5).map("".join)
VALUE = st.one_of(st.none(), TEXT.filter(lambda t: coerce_iso(t) == t))
CONTACT = st.fixed_dictionaries({f: VALUE for f in FIELDS})


def _seen_by_copydesk(tmp_path: Path, contact: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "one.jsonl"
    row = {"contact_id": "C1", **{k: v for k, v in contact.items() if v is not None}}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    [record] = list(read_rows(path))
    assert isinstance(record, Record), record
    return record.data


def test_generated_contacts_render_like_copydesk(library_desk: Desk, tmp_path: Path) -> None:
    item = next(i for i in library_desk.approved_content() if i.brief_id == "boots-onboarding")
    renderer = MessageRenderer(item.channel, load_channel_template(REPO / "templates", "email/default"),
                               campaign_id="fuzz")
    exported = {}
    for dialect in ("braze", "iterable", "klaviyo"):
        records, problems = library_desk.dialect_records(dialect)
        assert problems == []
        exported[dialect] = next(r for r in records if r["variant_id"] == item.variant_id)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(contact=CONTACT)
    def check(contact: dict[str, Any]) -> None:
        ours = renderer.render(item, _seen_by_copydesk(tmp_path, contact))
        values = {k: v for k, v in contact.items() if v is not None}
        for dialect, record in exported.items():
            for name, text in record["fields"].items():
                as_html = is_html(item.channel, name)
                if dialect == "braze":
                    theirs = engines.render_braze(text, values, record["attributes"])
                elif dialect == "iterable":
                    theirs = engines.render_iterable(text, values, record["attributes"])
                else:
                    theirs = engines.render_klaviyo(text, values, record["attributes"], html=as_html)
                if as_html:
                    assert "<" not in theirs, (dialect, name, theirs)
                    theirs = html.unescape(theirs)
                assert theirs == ours[name], (dialect, name, contact)

    check()
