"""No developer artefacts in the screens: briefs, audit events and settings read as
field/value tables, and no server path is shown."""

from __future__ import annotations

from copydesk.services import Desk
from tests.app.conftest import in_review, open_page, texts


def _shown(at) -> str:  # type: ignore[no-untyped-def]
    frames = "\n".join(str(df.value.to_dict()) for df in at.dataframe)
    return texts(at) + "\n" + frames


def test_brief_details_are_readable_and_name_the_source_relative(team_desk: Desk) -> None:
    at = open_page("max", "briefs")
    assert not at.exception
    at.selectbox(key="briefs_detail").select("boots-onboarding").run()
    assert not at.get("json"), "no raw JSON tree"
    fields = at.dataframe[1].value
    values = dict(zip(fields["field"], fields["value"], strict=True))
    assert values["segment.name"] == "new boot buyers" and values["key message"]
    assert any("from briefs/boots-onboarding.yaml" in c.value for c in at.caption)
    assert str(team_desk.workspace.root) not in _shown(at)  # type: ignore[union-attr]


def test_audit_event_details_are_readable(team_desk: Desk) -> None:
    vid = in_review(team_desk)
    at = open_page("max", "audit")
    at.text_input(key="audit_entity").input(vid).run()
    assert not at.get("json")
    assert "{" not in " ".join(at.dataframe[0].value["data"])
    fields = at.dataframe[1].value
    assert "action" in set(fields["field"])


def test_policy_packs_listed_by_workspace_names(team_desk: Desk) -> None:
    at = open_page("admin", "settings")
    assert not at.exception
    shown = _shown(at)
    assert "guardrails/" in shown
    assert str(team_desk.workspace.root) not in shown  # type: ignore[union-attr]
    assert not at.get("json")

