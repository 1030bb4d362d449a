"""render_campaign end to end: summary, rejects, explain, workers, formats, stability."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from copydesk.render.audience import Record, read_rows
from copydesk.render.pipeline import render_campaign
from copydesk.rules.campaign import CampaignFile, parse_campaign
from tests.rules.rules_helpers import NOW, TODAY, contact, content

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"

LIBRARY = [
    content("V1", "boots-onboarding", fields={
        "subject": "Welcome, {{ first_name | default('walker') }}", "body": "Boot care tips."}),
    content("V2", "boots-onboarding"),
    content("V12", "rewards-loyal"),
    content("V20", "spring-generic"),
    content("V99", "needs-name", fields={"subject": "Hi {{ first_name }}", "body": "b"}),
]

CAMPAIGN = """\
id: spring-boots
channel: email
template: email/default
holdout: 0.1
frequency_cap: {max: 1, per_days: 7}
suppress:
  - id: no-beginner-content-for-experts
    when: {field: skill_level, in: [advanced, expert]}
select:
  - id: new-customers
    when: {field: lifecycle_stage, is: onboarding}
    variants: {brief: boots-onboarding}
  - id: nameless
    when: {field: lifecycle_stage, is: awareness}
    variants: {brief: needs-name}
fallback: {brief: spring-generic}
"""


def campaign_file(text: str = CAMPAIGN) -> CampaignFile:
    return CampaignFile(parse_campaign(text, "c.yaml"), Path("c.yaml"), "f" * 64)


def audience(n: int) -> list[dict[str, Any]]:
    stages = ["onboarding", "active", "loyal", "dormant"]
    return [
        contact(f"C{i}", lifecycle_stage=stages[i % 4], consent_email=(i % 7 != 0),
                skill_level="expert" if i % 11 == 0 else "beginner", first_name=f"Name{i}")
        for i in range(n)
    ]


def run(tmp_path: Path, people: Any, *, name: str = "out.jsonl", **kw: Any):  # type: ignore[no-untyped-def]
    out = tmp_path / name
    summary = render_campaign(campaign_file(kw.pop("text", CAMPAIGN)), people, out,
                              library=LIBRARY, templates_dir=TEMPLATES, today=TODAY, now=NOW, **kw)
    return summary, out


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [r.data for r in read_rows(path) if isinstance(r, Record)]


def test_summary_accounts_for_every_contact(tmp_path: Path) -> None:
    people = audience(500)
    summary, out = run(tmp_path, people)
    total = (summary.rendered + summary.held_out + sum(summary.suppressed.values())
             + summary.capped + summary.no_variant + summary.rejected)
    assert total == summary.total == 500
    assert summary.suppressed["no-consent"] == len([p for p in people if not p["consent_email"]])
    assert summary.suppressed["no-beginner-content-for-experts"] > 0
    assert 20 < summary.held_out < 70
    rows = rows_of(out)
    assert len(rows) == 500 - summary.rejected
    assert [r["contact_id"] for r in rows] == [p["contact_id"] for p in people]


def test_rows_carry_ids_hashes_and_rendered_fields(tmp_path: Path) -> None:
    _, out = run(tmp_path, [contact("C1", lifecycle_stage="onboarding", first_name="Isla")],
                 text=CAMPAIGN.replace("holdout: 0.1", "holdout: 0"))
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["decision"] == "selected" and row["rule_id"] == "new-customers"
    assert row["variant_id"] in ("V1", "V2")
    assert row["content_hash"] == next(v.content_hash for v in LIBRARY if v.variant_id == row["variant_id"])
    assert row["campaign_sha256"] == "f" * 64 and row["channel"] == "email"
    assert row["lifecycle_stage"] == "onboarding"
    assert row["subject"] and "unsubscribe" in row["rendered_html"] and row["rendered_txt"]


def test_non_selected_rows_have_no_rendered_text(tmp_path: Path) -> None:
    _, out = run(tmp_path, audience(200))
    for row in rows_of(out):
        if row["decision"] != "selected":
            assert "rendered_html" not in row and "subject" not in row and "variant_id" not in row


def test_no_consent_contacts_are_never_rendered(tmp_path: Path) -> None:
    people = audience(300)
    _, out = run(tmp_path, people)
    no_consent = {p["contact_id"] for p in people if not p["consent_email"]}
    for row in rows_of(out):
        if row["contact_id"] in no_consent:
            assert row["decision"] == "suppressed" and row["reason"] == "no-consent"


def test_render_error_goes_to_rejects_and_the_run_continues(tmp_path: Path) -> None:
    people = [contact("A1", lifecycle_stage="awareness"),             # has first_name
              {**contact("A2", lifecycle_stage="awareness"), "first_name": None},
              contact("A3", lifecycle_stage="active")]
    people[1].pop("first_name")
    summary, out = run(tmp_path, people, rejects=tmp_path / "bad.csv", text=CAMPAIGN.replace(
        "holdout: 0.1", "holdout: 0"))
    assert summary.rejected == 1 and summary.rendered == 2
    rejects = list(csv.DictReader((tmp_path / "bad.csv").open(encoding="utf-8")))
    assert rejects == [{"row": "2", "line": "", "contact_id": "A2", "stage": "render", "field": "", "value": "",
                        "reason": rejects[0]["reason"]}]
    assert "first_name" in rejects[0]["reason"]
    assert [r["contact_id"] for r in rows_of(out)] == ["A1", "A3"]


def test_bad_audience_rows_go_to_the_default_rejects_file(tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    src.write_text("contact_id,lifecycle_stage,consent_email\nC1,active,true\nC2,active\n"
                   ",active,true\nC4,loyal,true\n", encoding="utf-8")
    summary, out = run(tmp_path, src, name="msgs.csv")
    assert summary.rejected == 2 and summary.total == 4
    rejects = (tmp_path / "msgs.rejects.csv").read_text(encoding="utf-8")
    assert '2,3,C2,read,,,"expected 3 fields, found 2"' in rejects
    assert "3,4,,read,,,no contact_id" in rejects
    assert [r["contact_id"] for r in rows_of(out)] == ["C1", "C4"]


def test_explain_adds_the_trace(tmp_path: Path) -> None:
    _, out = run(tmp_path, audience(20), explain=True)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(r["trace"] and r["trace"][0]["stage"] == "consent" for r in rows)
    _, out_csv = run(tmp_path, audience(20), name="o.csv", explain=True)
    first = next(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert json.loads(first["trace"])[0]["field"] == "consent_email"


def test_frequency_cap_uses_history(tmp_path: Path) -> None:
    from copydesk.models import SendRecord

    people = [contact(f"C{i}", lifecycle_stage="active") for i in range(50)]
    history = [SendRecord(contact_id=f"C{i}", campaign_id="x", channel="email", sent_at=NOW)
               for i in range(0, 50, 2)]
    summary, out = run(tmp_path, people, history=history)
    capped = {r["contact_id"] for r in rows_of(out) if r["decision"] == "capped"}
    assert capped == {f"C{i}" for i in range(0, 50, 2)} and summary.capped == 25


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.jsonl"])
def test_two_workers_give_the_same_output_as_one(tmp_path: Path, name: str) -> None:
    people = audience(3000)
    one, out1 = run(tmp_path / "a", people, name=name, chunk_size=200)
    two, out2 = run(tmp_path / "b", people, name=name, chunk_size=200, workers=2)
    assert one.as_dict() | {"out": None, "rejects": None} == two.as_dict() | {"out": None, "rejects": None}
    assert rows_of(out1) == rows_of(out2)


def test_workers_that_cannot_start_fail_the_run_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copydesk.errors import CopydeskError
    from copydesk.render import pipeline

    def broken(job: object) -> None:
        raise SystemExit(3)

    monkeypatch.setattr(pipeline, "_needs_spawn", lambda: False)  # fork carries the patch
    monkeypatch.setattr(pipeline, "_init_worker", broken)
    with pytest.raises(CopydeskError, match="--workers 1"):
        run(tmp_path, audience(50), name="out.jsonl", chunk_size=10, workers=2)


def test_a_contacts_decision_does_not_depend_on_the_rest_of_the_audience(tmp_path: Path) -> None:
    people = audience(400)
    _, full = run(tmp_path, people, name="full.jsonl")
    subset = people[::3] + [contact(f"X{i}") for i in range(50)]
    _, part = run(tmp_path, subset, name="part.jsonl")
    by_id = {r["contact_id"]: r for r in rows_of(full)}
    for row in rows_of(part):
        if row["contact_id"].startswith("C"):
            assert row == by_id[row["contact_id"]]


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: list[int] = []
    run(tmp_path, audience(250), chunk_size=100, progress=seen.append)
    assert seen == [100, 200, 250]


def test_unsafe_variant_costs_its_rows_not_the_run(tmp_path: Path) -> None:
    bad = content("V20", "spring-generic", fields={"subject": "{{ consent_email }}", "body": "b"})
    good = content("V1", "boots-onboarding")
    people = [contact("A1", lifecycle_stage="active"), contact("A2", lifecycle_stage="onboarding")]
    summary = render_campaign(campaign_file(CAMPAIGN.replace("holdout: 0.1", "holdout: 0")), people,
                              tmp_path / "o.jsonl", library=[bad, good], templates_dir=TEMPLATES,
                              today=TODAY, now=NOW)
    assert summary.rendered == 1 and summary.rejected == 1
    rejects = (tmp_path / "o.rejects.csv").read_text(encoding="utf-8")
    assert "A1" in rejects and "consent_email" in rejects


def test_sample_campaign_over_sample_audience(tmp_path: Path) -> None:
    from copydesk.rules.campaign import load_campaign

    lib = [content("V1", "boots-onboarding"), content("V12", "rewards-loyal"),
           content("V20", "spring-generic"), content("V30", "winback-dormant")]
    summary = render_campaign(
        load_campaign(REPO / "campaigns" / "spring-boots.yaml"),
        REPO / "audiences" / "sample-contacts.csv", tmp_path / "m.jsonl", library=lib,
        templates_dir=TEMPLATES, today=date(2026, 11, 28), now=NOW)
    assert summary.rejected == 0 and summary.total == 40
    assert summary.rendered >= 15 and summary.suppressed["no-consent"] >= 5
