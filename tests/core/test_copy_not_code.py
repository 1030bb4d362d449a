"""A variant's text is copy with placeholders, never template code: anything outside the
documented subset is a block no reviewer can waive, and whatever reaches the renderer
anyway costs its own row, never the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.errors import BlockedByFindings, PermissionDenied
from copydesk.placeholders import UNSUPPORTED_RULE, unsupported
from copydesk.render.pipeline import render_campaign
from copydesk.rules.campaign import CampaignFile, parse_campaign
from copydesk.services import Desk
from tests.rules.rules_helpers import NOW, TODAY, content

REPO = Path(__file__).resolve().parents[2]

CODE = [
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ first_name | default(9**999999999) }}",
    "{% for i in range(100000) %}x{% endfor %}",
    "{{ first_name.__class__ }}",
    "{{ first_name | replace('a', 'aaaaaaaaaa') }}",
    "{{ lipsum(1000) }}",
    "{% set x = 1 %}{{ x }}",
    "{{ consent_email }}",
    "{{ first_name | default(last_name) }}",
    "Hello {{ first_name",
]
COPY = [
    "Hello {{ first_name | default(\"there\") }}, your {{ city | default('local') | title }} store",
    "{{ first_name | default('walker') | upper | truncate(20) }}",
    "Plain copy with no placeholders, 50% off {braces} and all",
    "Since {{ signup_at | format_date('%B %Y') }}",
]


@pytest.mark.parametrize("text", CODE)
def test_code_in_copy_is_found(text: str) -> None:
    assert unsupported(text)


@pytest.mark.parametrize("text", COPY)
def test_copy_with_placeholders_is_fine(text: str) -> None:
    assert unsupported(text) == []


@pytest.mark.parametrize("text", CODE[:4])
def test_code_is_a_block_that_no_reviewer_can_waive(desk: Desk, text: str) -> None:
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": text}, actor="ana")
    blocks = [f for f in v.current.findings if f.rule_id == UNSUPPORTED_RULE]
    assert blocks and all(f.severity == "block" and f.field == "body" for f in blocks)
    with pytest.raises(BlockedByFindings):
        desk.submit(v.id, actor="ana")
    with pytest.raises(PermissionDenied, match="cannot be waived"):
        desk.waive(v.id, UNSUPPORTED_RULE, actor="ben", reason="it is fine really")


def test_an_edit_that_adds_code_gets_the_block_too(desk: Desk) -> None:
    v = desk.add_variant("boots-onboarding", {"subject": "Boots", "body": "Plain Boot Care Kit"}, actor="ana")
    assert not v.current.findings
    v = desk.edit_variant(v.id, {"body": "Boot Care Kit {% include 'x' %}"}, actor="ana")
    assert [f.rule_id for f in v.current.findings] == [UNSUPPORTED_RULE]


CAMPAIGN = """\
id: c
channel: email
template: email/default
select:
  - id: all
    variants: {ids: [V1, V2]}
"""


@pytest.mark.parametrize("text", CODE)
def test_code_that_slipped_into_the_library_costs_its_rows_not_the_run(tmp_path: Path, text: str) -> None:
    # as if someone wrote the approved text straight into the database
    bad = content("V1", "b", fields={"subject": "s", "body": text})
    good = content("V2", "b")
    people = [{"contact_id": f"C{i}", "consent_email": True, "first_name": "Ann"} for i in range(40)]
    cf = CampaignFile(parse_campaign(CAMPAIGN, "c.yaml"), Path("c.yaml"), "0" * 64)
    summary = render_campaign(cf, people, tmp_path / "out.csv", library=[bad, good],
                              templates_dir=REPO / "templates", today=TODAY, now=NOW)
    assert summary.total == 40
    assert summary.rejected > 0 and "V1" not in summary.variants
    assert summary.rendered == summary.variants["V2"] > 0
    assert summary.rendered + summary.rejected == 40
    assert "not copy" in (tmp_path / "out.rejects.csv").read_text(encoding="utf-8")


def test_campaign_validate_names_an_approved_variant_that_cannot_be_rendered(
    cli, sample_ws, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    legacy = [content("V1", "spring-generic", fields={"subject": "s", "body": CODE[0]}),
              content("V2", "boots-onboarding")]
    monkeypatch.setattr(Desk, "approved_content", lambda self, today_=None: legacy)
    r = cli("-w", str(sample_ws.root), "campaign", "validate", "spring-boots")
    assert r.code == 1, r
    assert "V1 cannot be rendered" in r.out and "macro" in r.out
    assert "1 approved variant(s) cannot be rendered" in r.err and "Traceback" not in r.err
