"""Every YAML file is read strictly: a key given twice names both lines, deep nesting and
alias bombs are one-line errors with a line, and nothing but an InputError escapes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from copydesk.errors import CopydeskError, InputError
from copydesk.models import Brief
from copydesk.rules.campaign import load_campaign, parse_campaign
from copydesk.workspace import Workspace
from copydesk.yamlio import load_model, parse_yaml

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = "id: x\nchannel: email\ntemplate: email/default\nselect:\n  - id: a\n    variants: {brief: b}\n"


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    text = (REPO / "briefs" / "boots-onboarding.yaml").read_text(encoding="utf-8")
    path = tmp_path / "brief.yaml"
    path.write_text(text + "id: something-else\n", encoding="utf-8")
    last = text.count("\n") + 1
    with pytest.raises(InputError) as err:
        load_model(path, Brief)
    assert str(err.value) == f"{path}:{last}: invalid YAML: key 'id' is given twice (lines 1 and {last})"


def test_a_repeated_key_in_a_nested_mapping_is_found_too() -> None:
    with pytest.raises(InputError, match=r"c\.yaml:8: invalid YAML: key 'when' is given twice \(lines 7 and 8\)"):
        parse_campaign(CAMPAIGN + "    when: {field: a, is: 1}\n    when: {field: a, is: 2}\n", "c.yaml")


def test_a_repeated_key_in_a_policy_pack_or_the_workspace_config_is_an_error(sample_ws: Workspace) -> None:
    from copydesk.guardrails import load_policy

    pack = sample_ws.root / "guardrails" / "ridgeline.yaml"
    pack.write_text(pack.read_text(encoding="utf-8") + "pack: again\n", encoding="utf-8")
    with pytest.raises(CopydeskError, match="key 'pack' is given twice"):
        load_policy(sample_ws.root / "guardrails")
    config = sample_ws.config_path
    config.write_text(config.read_text(encoding="utf-8") + "brand: Other\n", encoding="utf-8")
    with pytest.raises(InputError, match="key 'brand' is given twice"):
        Workspace(sample_ws.root).config()


def test_merge_keys_still_override_as_yaml_says() -> None:
    assert parse_yaml("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", "f.yaml")["x"] == {"a": 1, "b": 3}


def _nested_condition(levels: int) -> str:
    cond = "{field: a, is: 1}"
    for _ in range(levels):
        cond = "{not: " + cond + "}"
    return cond


@pytest.mark.parametrize("levels", [3000, 100])
def test_a_campaign_condition_nested_thousands_deep_is_one_line_with_file_and_line(
    tmp_path: Path, levels: int
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(CAMPAIGN + "    when: " + _nested_condition(levels) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_campaign(path)
    assert str(err.value) == f"{path}:7: invalid YAML: nested more than 32 levels deep"


def test_conditions_nest_at_most_sixteen_levels() -> None:
    assert parse_campaign(CAMPAIGN + "    when: " + _nested_condition(16) + "\n", "c.yaml")
    with pytest.raises(InputError, match=r"c\.yaml:7: field 'select\[0\]\.when': conditions may nest at most 16"):
        parse_campaign(CAMPAIGN + "    when: " + _nested_condition(17) + "\n", "c.yaml")


def test_a_condition_built_in_code_has_the_same_limit() -> None:
    from pydantic import ValidationError

    from copydesk.rules.conditions import parse_condition

    cond: dict[str, object] = {"field": "a", "is": 1}
    for _ in range(3000):
        cond = {"not": cond}
    with pytest.raises(ValidationError, match="at most 16 levels"):
        parse_condition(cond)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [*x]\n", r"f\.yaml:1: invalid YAML: alias \*x refers to the collection it is in"),
        ("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
         + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcde", "bcdef", strict=True)),
         r"f\.yaml:5: invalid YAML: more than 100,000 values once aliases are expanded"),
        ("a:\n  b: 1\n  c: 2026-13-45\n", r"f\.yaml:3: invalid YAML: unreadable value: month must be in 1\.\.12"),
        ("a: !!float x\n", r"f\.yaml:1: invalid YAML: unreadable value"),
        ("a: 9999-12-31 23:59:59 -23:59\n", r"f\.yaml:1: invalid YAML: unreadable value: .* outside the range"),
        ("? [a]\n: 1\n", r"f\.yaml:1: invalid YAML: found unhashable key"),
        ("a: \x00\n", r"f\.yaml: invalid YAML: .*unacceptable character"),
    ],
)
def test_hostile_yaml_is_a_one_line_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_yaml(text, "f.yaml")


def test_a_brief_file_that_is_a_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_model(tmp_path, Brief)


def test_every_yaml_reader_goes_through_yamlio() -> None:
    calls = re.compile(r"\byaml\.(safe_load|load|full_load|unsafe_load|compose|safe_load_all|load_all)\b")
    offenders = [
        str(p.relative_to(REPO)) for p in (REPO / "copydesk").rglob("*.py")
        if p.name != "yamlio.py" and calls.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders
