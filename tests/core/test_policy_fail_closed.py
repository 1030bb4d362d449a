"""No policy, no checks, no new text: a missing, empty or unreadable policy stops every
command that checks text, and every check records which policy it ran."""

from __future__ import annotations

import shutil

import pytest

from copydesk.errors import InputError, PolicyError
from copydesk.guardrails import load_policy
from copydesk.services import Desk
from copydesk.workspace import Workspace
from tests.conftest import REPO, open_team_desk


def _break(ws: Workspace, how: str) -> None:
    folder = ws.root / "guardrails"
    if how == "missing path":
        (ws.root / "copydesk.yaml").write_text("brand: Test\npolicy: no-such-folder\n", encoding="utf-8")
    elif how == "empty folder":
        shutil.rmtree(folder)
        folder.mkdir()
    elif how == "no rules":
        (folder / "policy.yaml").write_text("pack: nothing\nrules: []\n", encoding="utf-8")
    elif how == "all rules disabled":
        (folder / "more.yaml").write_text((folder / "policy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        (folder / "policy.yaml").write_text("pack: off\nextends: [more.yaml]\ndisable: [quiet.invisible]\n",
                                            encoding="utf-8")
    elif how == "unreadable":
        (folder / "policy.yaml").write_text("pack: broken\nrules: [\n", encoding="utf-8")


HOW = ["missing path", "empty folder", "no rules", "all rules disabled", "unreadable"]


@pytest.mark.parametrize("how", HOW)
def test_adding_and_editing_text_stops_without_a_usable_policy(bare_ws: Workspace, how: str) -> None:
    desk = open_team_desk(bare_ws)
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": "Walk on"}, actor="ana")
    _break(bare_ws, how)
    fresh = Desk.open(bare_ws)
    for attempt in (
        lambda: fresh.add_variant("boots-onboarding", {"subject": "Call 07700 900123", "body": "x"}, actor="ana"),
        lambda: fresh.edit_variant(v.id, {"body": "Call 07700 900123"}, actor="ana"),
        lambda: fresh.submit(v.id, actor="ana"),
    ):
        with pytest.raises((PolicyError, InputError)):
            attempt()
    assert [x.id for x in fresh.list_variants()] == [v.id]


@pytest.mark.parametrize("how", HOW)
def test_approving_stops_without_a_usable_policy(bare_ws: Workspace, how: str) -> None:
    desk = open_team_desk(bare_ws)
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": "Walk on"}, actor="ana")
    desk.submit(v.id, actor="ana")
    _break(bare_ws, how)
    with pytest.raises((PolicyError, InputError)):
        Desk.open(bare_ws).approve(v.id, actor="ben")
    assert Desk.open(bare_ws).get_variant(v.id).status == "in_review"


@pytest.mark.parametrize("how", HOW)
def test_cli_commands_that_check_text_refuse_with_one_line(cli, bare_ws: Workspace, how: str) -> None:  # type: ignore[no-untyped-def]
    open_team_desk(bare_ws).close()
    _break(bare_ws, how)
    w = ("-w", str(bare_ws.root))
    runs = [
        cli(*w, "variant", "add", "boots-onboarding", "--as", "ana", "--subject", "Hi", "--body", "Call 07700 900123"),
        cli(*w, "check", "-", stdin='{"channel": "sms", "text": "Call 07700 900123"}\n'),
        cli(*w, "policy", "test"),
        cli(*w, "generate", "boots-onboarding", "--as", "ana", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"),
    ]
    for r in runs:
        assert r.code != 0, r
        assert "Traceback" not in r.err and r.err.strip().count("\n") == 0, r
        assert "polic" in r.err.lower() or "pack" in r.err.lower() or "yaml" in r.err.lower(), r


def test_every_check_records_the_policy_it_ran(desk: Desk, bare_ws: Workspace) -> None:
    sha = load_policy(bare_ws.policy_path).sha256
    assert len(sha) == 64
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": "Walk on"}, actor="ana")
    v = desk.edit_variant(v.id, {"body": "Walk further"}, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben")
    events = desk.audit_log(entity_id=v.id)
    assert [e.action for e in events] == ["variant.add", "variant.edit", "variant.submit", "variant.approve"]
    assert all(e.data["policy"] == sha for e in events)


def test_a_changed_pack_changes_the_recorded_policy(bare_ws: Workspace) -> None:
    before = load_policy(bare_ws.policy_path).sha256
    pack = bare_ws.root / "guardrails" / "policy.yaml"
    pack.write_text(pack.read_text(encoding="utf-8").replace("Invisible character", "Hidden character"),
                    encoding="utf-8")
    assert load_policy(bare_ws.policy_path).sha256 != before


@pytest.mark.parametrize("how", HOW)
def test_generation_without_a_usable_policy_sends_nothing(bare_ws: Workspace, how: str) -> None:
    from copydesk.llm.factory import make_client
    from copydesk.llm.settings import load_settings
    from copydesk.services.generation import generate_for_brief
    from tests.fake_openai import FakeOpenAI

    shutil.copytree(REPO / "prompts", bare_ws.prompts_dir)
    desk = open_team_desk(bare_ws)
    _break(bare_ws, how)
    fresh = Desk.open(bare_ws)
    with FakeOpenAI() as server:
        client = make_client(load_settings({"base_url": server.base_url, "model": "m"}))
        with pytest.raises((PolicyError, InputError)):
            generate_for_brief(fresh, "boots-onboarding", actor="ana", n=1, client=client, policy=None)
        assert server.requests == []
    assert desk.list_variants() == []
