"""Malformed packs name file, line and rule; extends, overrides, disable, cache."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from copydesk.errors import InputError, PolicyError
from copydesk.guardrails import PackError, Policy, load_policy

GOOD_RULE = """\
  - id: hype
    type: existence
    category: tone
    message: "'{match}'"
    terms: [epic]
    tests: {fire: [epic]}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (
            "pack: p\nrules:\n" + GOOD_RULE + "  - id: bad\n    type: existence\n    category: tone\n"
            "    message: x\n    terms: [a]\n    levle: warn\n",
            14,
            "rule 'bad': unknown field",
        ),
        (
            "pack: p\nrules:\n  - id: bad\n    type: existence\n    category: vibes\n    message: x\n    terms: [a]\n",
            5,
            "rule 'bad'",
        ),
        (
            "pack: p\nrules:\n  - id: r\n    type: pattern\n    category: tone\n    message: x\n"
            "    pattern: '(a)\\1'\n",
            3,
            "rule 'r': invalid RE2 pattern",
        ),
        ("pack: p\nrules:\n  - id: r\n    type: nonsense\n    category: tone\n    message: x\n", 3, "rule 'r'"),
        ("pack: p\nrules:\n" + GOOD_RULE + GOOD_RULE, 9, "rule 'hype': duplicate rule id"),
        ("pack: p\nrules: [\n", 3, "invalid YAML"),
        ("pack: p\nextends: [missing.yaml]\n", 2, "does not exist"),
        ("pack: p\ndisable: [nope]\n", 2, "disables rule 'nope'"),
        (
            "pack: p\nrules:\n  - id: r\n    type: pii\n    category: pii\n    message: x\n"
            "    entities: {SHOE_SIZE: 0.5}\n",
            3,
            "unknown PII entities",
        ),
    ],
)
def test_malformed_pack_names_file_line_and_rule(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises((PolicyError, InputError)) as info:
        load_policy(path)
    message = str(info.value)
    assert "bad.yaml" in message
    assert f":{line}:" in message, message
    assert fragment in message


def test_pack_error_is_both_policy_and_input_error() -> None:
    assert issubclass(PackError, PolicyError) and issubclass(PackError, InputError)


def test_extends_override_and_disable(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "a.yaml", "pack: a\nrules:\n" + GOOD_RULE + GOOD_RULE.replace("hype", "other"))
    write(
        tmp_path / "brand.yaml",
        "pack: brand\nextends: [base/a.yaml]\ndisable: [other]\nrules:\n"
        + GOOD_RULE.replace("[epic]", "[insane]").replace("[epic]}", "[insane]}"),
    )
    policy = load_policy(tmp_path / "brand.yaml")
    (rule,) = policy.rules
    assert rule.spec.id == "hype" and rule.source.endswith("brand.yaml")
    assert rule.overrides is not None and rule.overrides.endswith("a.yaml")
    assert [f.match for f in policy.check("email", {"body": "epic and insane"})] == ["insane"]


def test_extends_cycle(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "pack: a\nextends: [b.yaml]\n")
    write(tmp_path / "b.yaml", "pack: b\nextends: [a.yaml]\n")
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(tmp_path / "a.yaml")


def test_folder_entry_and_cache(tmp_path: Path) -> None:
    write(tmp_path / "x.yaml", "pack: x\nrules:\n" + GOOD_RULE)
    write(tmp_path / "policy.yaml", "pack: entry\nextends: [x.yaml]\n")
    first = load_policy(tmp_path)
    assert load_policy(tmp_path) is first
    target = tmp_path / "x.yaml"
    write(target, "pack: x\nrules:\n" + GOOD_RULE.replace("hype", "calm"))
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    second = load_policy(tmp_path)
    assert second is not first
    assert [r.spec.id for r in second.rules] == ["calm"]


def test_folder_without_entry_loads_every_pack(tmp_path: Path) -> None:
    write(tmp_path / "one.yaml", "pack: one\nrules:\n" + GOOD_RULE)
    write(tmp_path / "two.yaml", "pack: two\nrules:\n" + GOOD_RULE.replace("hype", "two"))
    assert sorted(r.spec.id for r in load_policy(tmp_path).rules) == ["hype", "two"]


def test_pathological_regex_cannot_hang(make_policy: Callable[[str], Policy]) -> None:
    policy = make_policy(
        """
        pack: p
        rules:
          - id: evil
            type: pattern
            category: tone
            message: x
            pattern: '(a+)+$'
            tests: {fire: [aaa]}
        """
    )
    # Python's re backtracks exponentially on this input; RE2 runs in linear time.
    text = "a" * 5000 + "!"
    assert policy.check("email", {"body": text}) == []
    assert [f.match for f in policy.check("email", {"body": "xx aaaa"})] == ["aaaa"]
    rule = policy.rules[0]
    assert type(rule._regex).__module__.startswith("re2")  # type: ignore[attr-defined]
