"""The rule-type registry: a rule type is one class, and everything else derives from it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from copydesk.guardrails import PackError, Policy, run_policy_tests
from copydesk.guardrails.pack import Pack, RuleBase
from copydesk.guardrails.rules import LEXICAL_TYPES, RULE_TYPES, CompiledRule, Message, lexical_types
from copydesk.guardrails.rules.base import Hit, Term, collect, norm_term
from copydesk.guardrails.rules.lexical import Existence, ExistenceRule
from copydesk.models import Finding

REPO = Path(__file__).resolve().parents[2]

TOY_PACK = """
pack: toy
rules:
  - id: no-woo
    type: toy
    category: tone
    message: "'{match}' is too excited"
    word: woo
    times: 2
    tests:
      fire: ["woo woo, here we go"]
      pass: ["woo, here we go"]
"""


@pytest.fixture
def registry() -> Iterator[dict[str, type[CompiledRule]]]:
    """The live registry, restored to the shipped types after the test."""
    saved = dict(RULE_TYPES)
    yield RULE_TYPES
    RULE_TYPES.clear()
    RULE_TYPES.update(saved)


def declare_toy() -> type[CompiledRule]:
    """A new rule type, declared the way a new module in rules/ would declare it."""

    class Toy(RuleBase):
        """Flag ``word`` when it occurs ``times`` times or more in the message."""

        type: Literal["toy"]
        word: str = Field(min_length=1)
        times: int = Field(default=1, ge=1)

    class ToyRule(CompiledRule):
        spec_model = Toy
        lexical = True
        needs_hits = True
        spec: Toy

        def terms(self) -> Iterable[Term]:
            yield Term(self.index, "term", norm_term(self.spec.word))

        def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
            if len(hits) < self.spec.times:
                return []
            return collect(msg.finding(self, s, e) for s, e, _ in hits)

    return ToyRule


def test_a_new_rule_type_is_one_class(
    registry: dict[str, type[CompiledRule]], make_policy: Callable[[str], Policy]
) -> None:
    with pytest.raises(PackError, match="Input tag 'toy' found using 'type' does not match"):
        make_policy(TOY_PACK)
    toy = declare_toy()
    assert registry["toy"] is toy and "toy" in lexical_types()
    policy = make_policy(TOY_PACK)
    assert [f.match for f in policy.check("email", {"body": "Woo! woo, trails"})] == ["Woo", "woo"]
    assert policy.check("email", {"body": "Woo, trails"}) == []
    (report,) = run_policy_tests(policy)
    assert report.ok and (report.fire, report.passed) == (1, 1)
    assert [r.spec.id for r in policy.select().rules] == ["no-woo"]  # lexical by declaration
    # a dumped pack keeps the toy's own fields and loads back
    pack = Pack.model_validate({"pack": "t", "rules": [policy.rules[0].spec]})
    assert Pack.model_validate_json(pack.model_dump_json(by_alias=True)) == pack


def test_errors_in_a_new_rule_type_name_file_line_field_and_rule(
    registry: dict[str, type[CompiledRule]], make_policy: Callable[[str], Policy]
) -> None:
    declare_toy()
    with pytest.raises(PackError) as info:
        make_policy(TOY_PACK.replace("times: 2", "tiems: 2"))
    assert str(info.value).endswith(":9: field 'rules[0].tiems': rule 'no-woo': unknown field (check the spelling)")
    with pytest.raises(PackError) as info:
        make_policy(TOY_PACK.replace("times: 2", "times: 0"))
    assert str(info.value).endswith(
        ":9: field 'rules[0].times': rule 'no-woo': Input should be greater than or equal to 1"
    )
    with pytest.raises(PackError) as info:
        make_policy(TOY_PACK.replace("type: toy", "type: tyo"))
    assert "rule 'no-woo'" in str(info.value) and "'template', 'toy'" in str(info.value)


def test_a_type_name_cannot_be_declared_twice(registry: dict[str, type[CompiledRule]]) -> None:
    with pytest.raises(TypeError, match="rule type 'existence' is declared twice"):

        class Existing(CompiledRule):
            spec_model = Existence

    assert registry["existence"] is ExistenceRule


def test_a_spec_model_must_name_its_type(registry: dict[str, type[CompiledRule]]) -> None:
    class Nameless(RuleBase):
        word: str

    with pytest.raises(TypeError, match="Nameless needs a field like type: Literal"):

        class NamelessRule(CompiledRule):
            spec_model = Nameless

    assert len(registry) == len(SHIPPED)


SHIPPED = {
    "existence": True, "substitution": True, "occurrence": True, "pattern": True, "capitalization": True,
    "proximity": True, "conditional": True, "readability": False, "length": True, "pii": False,
    "template": False, "invisible": True, "judge": False,
}  # fmt: skip


def test_the_shipped_types_and_the_lexical_set_derive_from_the_classes() -> None:
    assert {name: cls.lexical for name, cls in RULE_TYPES.items()} == SHIPPED
    assert {name for name, lexical in SHIPPED.items() if lexical} == LEXICAL_TYPES == lexical_types()
    for name, cls in RULE_TYPES.items():
        assert typing.get_args(cls.spec_model.model_fields["type"].annotation) == (name,)


def test_loading_a_pii_pack_does_not_import_presidio(tmp_path: Path) -> None:
    # Presidio takes seconds to import: only a check with something to look at pays for it.
    script = textwrap.dedent(
        """
        import sys
        from copydesk.guardrails import load_policy
        policy = load_policy(sys.argv[1])
        assert any(getattr(r.spec, "type", "") == "pii" for r in policy.rules)
        policy.check("email", {"body": "Nothing personal here"})
        print("presidio_analyzer" in sys.modules)
        policy.check("email", {"body": "Write to jane@example.com"})
        print("presidio_analyzer" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "guardrails" / "base" / "pii.yaml")],
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env={"TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "PYTHONPATH": str(REPO), "PATH": ""},
    )  # fmt: skip
    assert out.stdout.split() == ["False", "True"]
