"""Text from users and files is printed as written: Rich markup in a variant, a brief
title, an id or a user name never crashes a command and never turns into styling."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copydesk.services import Desk
from copydesk.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
MARKUP = ("[/]", "[bold]", "[link=x]")
SUBJECT = "Boots [/] care [bold]now"
BODY = "See [link=x]the guide[/link] :thumbs_up: \\"
TITLE = "Boot care [/] for [bold]new [link=x]owners"


@pytest.fixture
def ws(desk: Desk, bare_ws: Workspace) -> Workspace:
    for name in ("templates", "campaigns", "audiences"):
        shutil.copytree(REPO / name, bare_ws.root / name)
    for brief in ("boots-onboarding", "spring-generic"):
        v = desk.add_variant(brief, {"subject": SUBJECT, "body": BODY}, actor="ana")
        desk.submit(v.id, actor="ana")
        desk.approve(v.id, actor="ben", comment="fine [/] [bold]")
    draft = desk.add_variant("rewards-loyal", {"subject": SUBJECT, "body": BODY}, actor="ana")
    desk.submit(draft.id, actor="ana")
    return bare_ws


def _clean(r) -> None:  # type: ignore[no-untyped-def]
    assert r.code == 0, r
    assert "internal error" not in r.err and "Traceback" not in r.err


def test_variant_text_with_markup_is_listed_shown_searched_and_queued_literally(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    w = ("-w", str(ws.root))
    for args in (("library", "list"), ("library", "search", "care")):
        r = cli(*w, *args)
        _clean(r)
        assert SUBJECT in r.out, r
    r = cli(*w, "variant", "show", "V1", "--history")
    _clean(r)
    assert SUBJECT in r.out and BODY in r.out and "fine [/] [bold]" in r.out and "👍" not in r.out
    r = cli(*w, "review", "queue")
    _clean(r)
    assert "V3" in r.out and SUBJECT in r.out and BODY in r.out


def test_markup_in_an_export_and_an_explained_message_arrives_as_written(cli, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    w = ("-w", str(ws.root))
    out = ws.root / "[bold]export[link=x].json"
    r = cli(*w, "library", "export", "--format", "json", "--out", str(out), "--as", "max")
    _clean(r)
    assert str(out) in r.out
    assert {v["fields"]["subject"] for v in json.loads(out.read_text(encoding="utf-8"))} == {SUBJECT}
    messages = ws.root / "m.jsonl"
    _clean(cli(*w, "render", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
               "--out", str(messages)))
    rows = [json.loads(line) for line in messages.read_text(encoding="utf-8").splitlines()]
    cid = next(row["contact_id"] for row in rows if row["decision"] == "selected")
    r = cli(*w, "explain", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
            "--contact", cid)
    _clean(r)
    assert f"subject: {SUBJECT}" in r.out


def test_a_brief_title_with_markup_is_added_listed_and_shown_literally(cli, ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (REPO / "briefs" / "boots-onboarding.yaml").read_text(encoding="utf-8")
    lines = [f'title: "{TITLE}"' if line.startswith("title:") else line for line in text.splitlines()]
    lines = [line.replace("id: boots-onboarding", "id: markup-brief") for line in lines]
    path = tmp_path / "brief.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    w = ("-w", str(ws.root))
    _clean(cli(*w, "brief", "add", str(path), "--as", "ana"))
    r = cli(*w, "brief", "list")
    _clean(r)
    assert TITLE in r.out
    r = cli(*w, "brief", "show", "markup-brief")
    _clean(r)
    assert f"title: {TITLE}" in r.out


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_in_an_id_or_a_user_name_is_an_error_shown_as_typed(cli, ws: Workspace, markup: str) -> None:  # type: ignore[no-untyped-def]
    w = ("-w", str(ws.root))
    for args in (("variant", "show", f"V{markup}"), ("brief", "show", f"b{markup}"),
                 ("explain", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
                  "--contact", f"C{markup}"),
                 ("variant", "add", "boots-onboarding", "--as", f"ana{markup}", "--subject", "s", "--body", "b"),
                 ("review", "approve", "V3", "--as", markup)):
        r = cli(*w, *args)
        assert r.code == 1, r
        assert r.err.startswith("error: ") and markup in r.err and "internal error" not in r.err, r


def test_control_characters_from_stored_text_or_a_file_reach_the_terminal_as_pictures(  # type: ignore[no-untyped-def]
    cli, desk: Desk, ws: Workspace
) -> None:
    v = desk.add_variant("spring-generic", {"subject": "Hi", "body": "Walk"}, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.reject(v.id, actor="ben", comment="see")
    # the service refuses control characters now; a library written before that may hold them
    desk.db.execute("UPDATE reviews SET comment = ? WHERE variant_id = ?", ["see\x1b[2J here\rX\x07", v.id])
    desk.db.conn.commit()
    r = cli("-w", str(ws.root), "variant", "show", v.id, "--history")
    _clean(r)
    assert "see␛[2J here␍X␇" in r.out and "\x1b" not in r.out and "\r" not in r.out
    audience = ws.root / "people.jsonl"
    audience.write_text(json.dumps({"contact_id": "C1", "skill_level": "new\x1b]0;pwned\x07", "consent_email": True,
                                    "lifecycle_stage": "onboarding"}) + "\n", encoding="utf-8")
    r = cli("-w", str(ws.root), "explain", "spring-boots", "--audience", str(audience), "--contact", "C1")
    _clean(r)
    assert "new␛]0;pwned␇" in r.out and "\x1b" not in r.out


@settings(max_examples=300, deadline=None)
@given(text=(st.text(alphabet=st.sampled_from("[]/\\=#@abz: \n\x1b\r\udcff"), max_size=30) | st.text(max_size=30))
       .filter(lambda t: "\t" not in t))  # Rich expands tabs by cell width
def test_lit_prints_any_text_exactly_as_written_inside_and_outside_markup(text: str) -> None:
    from rich.console import Console

    from copydesk.cli.display import lit, shown
    from copydesk.inputs import printable

    expected = shown(printable(text))
    for template, want in (("{}", expected), ("[bold]{}[/] after", expected + " after"),
                           ("a [dim]b {}[/dim][bold]{}[/]", f"a b {expected}{expected}")):
        buffer = io.StringIO()
        Console(file=buffer, emoji=False, highlight=False, width=10_000, color_system=None).print(
            template.format(lit(text), lit(text)), end="")
        assert buffer.getvalue() == want.replace("\r\n", "\n")  # Rich prints CRLF as a newline
