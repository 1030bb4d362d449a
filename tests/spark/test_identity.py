"""THE identity test: the Spark engine and the local engine make the same decision and
render the same text for every contact of the same audience (CSV and Parquet), and
reject the same rows for the same reasons."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from copydesk.models import SendRecord
from copydesk.render.chunk import Summary
from copydesk.render.pipeline import render_campaign
from copydesk.rules.allocate import ArmCounts, OutcomeCounts
from copydesk.rules.campaign import CampaignFile, parse_campaign
from copydesk.spark import render_source
from tests.rules.rules_helpers import NOW, TODAY, content

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"

LIBRARY = [
    content("V1", "boots-onboarding", fields={
        "subject": "Welcome, {{ first_name | default('walker') }}", "body": "Boot care tips."}),
    content("V2", "boots-onboarding", fields={
        "subject": "Boots for {{ first_name | default('you') }}", "body": "You have {{ loyalty_points }} points."}),
    content("V12", "rewards-loyal"),
    content("V13", "rewards-loyal"),
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
  - id: just-signed-up
    when: {field: signup_date, within_days: 2}
select:
  - id: new-customers
    when: {field: lifecycle_stage, is: onboarding}
    variants: {brief: boots-onboarding}
  - id: nameless
    when: {field: lifecycle_stage, is: awareness}
    variants: {brief: needs-name}
  - id: loyal
    when: {field: lifecycle_stage, is: loyal}
    variants: {brief: rewards-loyal, allocate: thompson}
fallback: {brief: spring-generic}
"""

HEADER = ["contact_id", "first_name", "lifecycle_stage", "consent_email", "skill_level",
          "loyalty_points", "signup_date", "tags"]
STAGES = ["onboarding", "active", "loyal", "dormant", "awareness"]
NAMES = ["Isla", "Zoë", "東京", "🌄 Ridge", "{{ 7*7 }}", "<script>alert(1)</script>", "O'Brien, \"Jr\"",
         "{% raw %}x", "", "Line\nBreak"]


def campaign_file() -> CampaignFile:
    counts = OutcomeCounts(as_of=TODAY, by_rule={"loyal": {"V12": ArmCounts(5, 50), "V13": ArmCounts(20, 50)}})
    return CampaignFile(parse_campaign(CAMPAIGN, "c.yaml").with_outcomes(counts), Path("c.yaml"), "f" * 64)


def people() -> list[dict[str, Any]]:
    out = []
    for i in range(80):
        out.append({
            "contact_id": f"C{i}",
            "first_name": NAMES[i % len(NAMES)],
            "lifecycle_stage": STAGES[i % len(STAGES)],
            "consent_email": "" if i % 13 == 0 else ("false" if i % 7 == 0 else "true"),
            "skill_level": "expert" if i % 11 == 0 else "beginner",
            "loyalty_points": "" if i % 5 == 0 else str(i * 37),
            "signup_date": "2026-05-31" if i % 17 == 0 else ("not-a-date" if i == 23 else "2026-01-05"),
            "tags": '["boots", "trail"]' if i % 3 == 0 else "",
        })
    return out


def csv_cell(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = [",".join(HEADER)]
    for n, row in enumerate(rows):
        lines.append(",".join(csv_cell(row[h]) for h in HEADER))
        if n == 10:
            lines.append("C900,Short,active")                 # too few fields
        if n == 20:
            lines.append(",NoId,active,true,beginner,1,2026-01-05,")  # no contact_id
        if n == 30:
            lines.append("")                                  # blank line: skipped, not a row
        if n == 70:
            lines.append("C5,Again,active,true,beginner,1,2026-01-05,")  # a repeat of C5
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    data += b"C901,Bad \xff byte,active,true,beginner,1,2026-01-05,\r\n"  # not UTF-8
    path.write_bytes(data)


def write_plain_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """The CSV without quoted line breaks: read block by block where it lies."""
    write_csv(path, [{**r, "first_name": r["first_name"].replace("\n", " ")} for r in rows])


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = []
    for n, row in enumerate(rows):
        obj: dict[str, Any] = {k: v for k, v in row.items() if v != ""}
        if obj.get("loyalty_points"):
            obj["loyalty_points"] = int(obj["loyalty_points"])
        if "tags" in obj:
            obj["tags"] = json.loads(obj["tags"])
        if "consent_email" in obj:
            obj["consent_email"] = obj["consent_email"] == "true"
        lines.append(json.dumps(obj, ensure_ascii=False).encode("utf-8"))
        if n == 10:
            lines.append(b'{"contact_id": "C900", "first_name": ')   # invalid JSON
        if n == 20:
            lines.append(b"[1, 2]")                                 # not an object
        if n == 30:
            lines.append(b"   ")                                    # blank: skipped
        if n == 70:
            lines.append(json.dumps({**obj, "contact_id": "C5"}).encode())
    lines.append(b'{"contact_id": "C901", "first_name": "Bad \xff byte"}')
    path.write_bytes(b"\n".join(lines) + b"\n")


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    rows = [*rows, {**rows[5], "first_name": "Again"}, {**rows[6], "contact_id": None}]
    table = pa.table({
        "contact_id": pa.array([r["contact_id"] for r in rows], pa.string()),
        "first_name": pa.array([r["first_name"] or None for r in rows], pa.string()),
        "lifecycle_stage": pa.array([r["lifecycle_stage"] for r in rows], pa.string()),
        "consent_email": pa.array([None if r["consent_email"] == "" else r["consent_email"] == "true"
                                   for r in rows], pa.bool_()),
        "skill_level": pa.array([r["skill_level"] for r in rows], pa.string()),
        "loyalty_points": pa.array([int(r["loyalty_points"]) if r["loyalty_points"] else None for r in rows],
                                   pa.int64()),
        "signup_date": pa.array([date(2026, 5, 31) if r["signup_date"] == "2026-05-31" else date(2026, 1, 5)
                                 for r in rows], pa.date32()),
        "score": pa.array([float("nan") if i == 40 else i / 3 for i in range(len(rows))], pa.float64()),
        "tags": pa.array([["boots", "trail"] if r["tags"] else None for r in rows], pa.list_(pa.string())),
    })
    pq.write_table(table, path, row_group_size=9)


HISTORY = [SendRecord(contact_id=f"C{i}", campaign_id="earlier", channel="email", sent_at=NOW - timedelta(days=1))
           for i in range(0, 80, 6)] + [
    SendRecord(contact_id="C1", campaign_id="earlier", channel="sms", sent_at=NOW - timedelta(days=1)),
    SendRecord(contact_id="C3", campaign_id="earlier", channel="email", sent_at=NOW - timedelta(days=30)),
]


def by_contact(path: Path) -> dict[str, dict[str, Any]]:
    rows = pq.read_table(path).to_pylist()
    found = {r["contact_id"]: r for r in rows}
    assert len(found) == len(rows), "one row per contact"
    return found


def rejects_of(path: Path) -> list[tuple[str, ...]]:
    return sorted(tuple("" if r[k] is None else str(r[k]) for k in ("contact_id", "stage", "field", "value",
                                                                        "reason", "row", "line"))
                  for r in pq.read_table(path).to_pylist())


def counts(summary: Summary) -> dict[str, Any]:
    return summary.as_dict() | {"out": None, "rejects": None}


WRITERS = {"csv": write_csv, "plain.csv": write_plain_csv, "jsonl": write_jsonl, "parquet": write_parquet}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_spark_and_local_engines_decide_and_render_identically(spark: Any, tmp_path: Path, fmt: str) -> None:
    audience = tmp_path / f"people.{fmt}"
    WRITERS[fmt](audience, people())
    cf = campaign_file()
    local = render_campaign(cf, audience, tmp_path / "local.parquet", rejects=tmp_path / "local-rejects.parquet",
                            library=LIBRARY, templates_dir=TEMPLATES, history=HISTORY, today=TODAY, now=NOW)
    result = render_source(spark, str(audience), cf, library=LIBRARY, templates_dir=TEMPLATES, history=HISTORY,
                           today=TODAY, now=NOW)
    summary = result.write(tmp_path / "spark", tmp_path / "spark-rejects")

    mine, theirs = by_contact(tmp_path / "local.parquet"), by_contact(tmp_path / "spark")
    assert sorted(mine) == sorted(theirs)
    for cid, row in mine.items():
        assert {k: v for k, v in theirs[cid].items() if k != "decided_at"} == \
            {k: v for k, v in row.items() if k != "decided_at"}, cid
    assert rejects_of(tmp_path / "local-rejects.parquet") == rejects_of(tmp_path / "spark-rejects")
    assert counts(summary) == counts(local)

    # the audience exercised what it is meant to
    decisions = {r["decision"] for r in mine.values()}
    assert decisions == {"selected", "holdout", "suppressed", "capped"}
    reasons = {r[4] for r in rejects_of(tmp_path / "spark-rejects")}
    assert any(r.startswith("duplicate contact_id: first seen at row 6") for r in reasons), reasons
    assert {r["variant_id"] for r in mine.values()} >= {"V1", "V13", "V20", "V99"}
    stages = {(r[1], r[0]) for r in rejects_of(tmp_path / "spark-rejects")}
    assert {"read", "render"} <= {stage for stage, _ in stages}, stages
    assert theirs["C4"]["decision"] == "selected" and "{{ 7*7 }}" in (theirs["C4"]["rendered_txt"] or "")
    assert all(r["snapshot_sha256"] == result.snapshot_sha256 for r in theirs.values())
    if fmt != "parquet":
        assert ("decide", "C23") in stages                      # signup_date 'not-a-date'
        assert any(r[4] == "not valid UTF-8 text" for r in rejects_of(tmp_path / "spark-rejects"))
        assert theirs["C9"]["lifecycle_stage"] == "awareness"  # after the quoted line break of C9's name
    else:
        assert ("read", "C40") in stages                        # a score that is not a finite number
