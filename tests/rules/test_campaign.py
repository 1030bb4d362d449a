"""Campaign files: the sample ones load, mistakes name file, line and field."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from copydesk.errors import InputError
from copydesk.rules.campaign import load_campaign, parse_campaign

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
id: spring-boots
channel: email
template: email/default
holdout: 0.05
frequency_cap: {max: 2, per_days: 7}
suppress:
  - id: no-reactivation-for-recent-buyers
    when: {all: [{field: lifecycle_stage, is: dormant}, {field: last_purchase_at, within_days: 30}]}
  - id: no-beginner-content-for-experts
    when: {field: skill_level, in: [advanced, expert]}
select:
  - id: new-customers
    when: {field: lifecycle_stage, is: onboarding}
    variants: {brief: boots-onboarding}
  - id: loyal
    when: {all: [{field: lifecycle_stage, is: loyal}, {field: orders, gte: 3}]}
    variants: {ids: [V12, V13], weights: [70, 30]}
fallback: {brief: spring-generic}
"""


def test_issue_example_parses() -> None:
    c = parse_campaign(GOOD, "c.yaml")
    assert c.id == "spring-boots" and c.channel == "email" and c.holdout == 0.05
    assert c.frequency_cap is not None and (c.frequency_cap.max, c.frequency_cap.per_days) == (2, 7)
    assert [r.id for r in c.suppress] == [
        "no-reactivation-for-recent-buyers",
        "no-beginner-content-for-experts",
    ]
    assert c.select[1].variants.weights == [70, 30]
    assert c.fallback is not None and c.fallback.brief == "spring-generic"
    assert c.consent_field == "consent_email" and not c.transactional


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "campaigns").glob("*.yaml")))
def test_sample_campaigns_load(name: str) -> None:
    path = REPO / "campaigns" / name
    loaded = load_campaign(path)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.campaign.id == path.stem


def test_sample_campaigns_cover_email_and_sms() -> None:
    channels = {load_campaign(p).campaign.channel for p in (REPO / "campaigns").glob("*.yaml")}
    assert {"email", "sms"} <= channels


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("within_days: 30", "within_dayz: 30", 8, "suppress[0].when.all[1]", "unknown operator"),
        ("holdout: 0.05", "holdout: 1.5", 4, "holdout", "less than 1"),
        ("channel: email", "channel: fax", 2, "channel", "Input should be"),
        ("weights: [70, 30]", "weights: [70]", 17, "select[1].variants", "1 weights for 2 ids"),
        ("{max: 2, per_days: 7}", "{max: 2, per_day: 7}", 5, "frequency_cap.per_day", "unknown field"),
        ("template: email/default", "template: sms/default", 1, None, "not a email template"),
        ("id: loyal", "id: no-consent", 1, None, "reserved"),
        ("id: loyal", "id: new-customers", 1, None, "used twice"),
        ("in: [advanced, expert]", "in: advanced", 10, "suppress[1].when", "non-empty list"),
        ("{brief: spring-generic}", "{brief: a, ids: [V1]}", 18, "fallback", "not both"),
    ],
)
def test_errors_name_line_and_field(
    old: str, new: str, line: int, field: str | None, message: str
) -> None:
    assert old in GOOD
    with pytest.raises(InputError) as info:
        parse_campaign(GOOD.replace(old, new, 1), "campaigns/x.yaml")
    err = info.value
    assert err.source == "campaigns/x.yaml"
    assert err.line == line
    assert err.field == field
    assert message in str(err)


def test_needs_select_or_fallback() -> None:
    text = "id: a\nchannel: sms\ntemplate: sms/default\n"
    with pytest.raises(InputError, match="select"):
        parse_campaign(text, "a.yaml")


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: a\nchannel: [email\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_campaign(path)
    assert info.value.source == str(path) and info.value.line is not None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_campaign(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-04-30", datetime(2026, 4, 30, tzinfo=UTC)),
        ("2026-04-30T18:00:00+02:00", datetime(2026, 4, 30, 16, tzinfo=UTC)),
        ("2026-04-30T18:00:00", datetime(2026, 4, 30, 18, tzinfo=UTC)),
    ],
)
def test_ends_at_is_a_utc_moment(value: str, expected: datetime) -> None:
    c = parse_campaign(GOOD + f"ends_at: {value}\n", "c.yaml")
    assert c.ends_at == expected and c.ends_at.tzinfo is UTC


def test_ends_at_is_optional() -> None:
    assert parse_campaign(GOOD, "c.yaml").ends_at is None


@pytest.mark.parametrize(("value", "message"), [("soon", "datetime"), ("1999-12-31", "before 2000")])
def test_bad_ends_at_names_the_field(value: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_campaign(GOOD + f"ends_at: {value}\n", "c.yaml")
    assert info.value.field == "ends_at" and info.value.line == 19
    assert message in str(info.value)
