"""The ``judge`` rule type against the fake OpenAI-compatible server: verdicts become
findings on the quoted span; anything not judged is reported as "not run", never passed;
verdicts are cached; the embedded demo model never judges."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from copydesk.errors import PolicyError
from copydesk.guardrails import Policy
from copydesk.guardrails.judge import Judge, JudgeCost, parse_verdict, settings_label
from copydesk.guardrails.judge_cache import JudgeCache
from copydesk.guardrails.rules import RULE_TYPES, Message, compile_rule, lexical_types, validate_rule
from copydesk.guardrails.rules.judge import JudgeRule, is_not_run
from copydesk.llm.settings import LLMSettings, load_settings
from copydesk.models import Finding
from copydesk.vocab import Severity
from tests.fake_openai import FakeOpenAI, Reply

REPO = Path(__file__).resolve().parents[2]
QUESTION = (
    "Does the copy tell the reader it was chosen because of a special-category fact about them "
    "(health, religion, ethnicity, politics, sexuality, pregnancy, union membership)?"
)
PREGNANT = "We picked these for you because you're pregnant."


def verdict(violation: bool, quote: str = "", reason: str = "a reason") -> Reply:
    return Reply.text(json.dumps({"violation": violation, "quote": quote, "reason": reason}))


def make_rule(**overrides: Any) -> JudgeRule:
    spec = validate_rule({
        "id": "special.judge", "type": "judge", "category": "special_category", "severity": "block",
        "message": "Tells the reader a special-category fact was used: '{match}'", "question": QUESTION,
        **overrides,
    })  # fmt: skip
    rule = compile_rule(spec, "test.yaml", 0)
    assert isinstance(rule, JudgeRule)
    return rule


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    # one server for the module (stopping one takes half a second); each test starts clean
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    with server._lock:
        server._queue.clear()
        server.requests.clear()
    server.default = Reply.text("no reply was queued for this request")
    return server


@pytest.fixture
def settings(fake: FakeOpenAI) -> Callable[..., LLMSettings]:
    def build(**values: Any) -> LLMSettings:
        return load_settings({}, overrides={"base_url": fake.base_url, "model": "fake-model", "timeout": 5.0,
                                            "max_retries": 0, **values})

    return build


@pytest.fixture
def judge(settings: Callable[..., LLMSettings]) -> Judge:
    return Judge.from_settings(settings(), JudgeCache(None))


def check(rule: JudgeRule, judge: Judge | None, fields: dict[str, str], channel: str = "email") -> list[Finding]:
    return rule.with_judge(judge).check(Message.prepare(channel, fields), [])


# -- verdicts --------------------------------------------------------------------------


def test_a_violation_is_reported_on_the_quoted_span(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(verdict(True, "because you're pregnant", "uses pregnancy"))
    [f] = check(make_rule(), judge, {"subject": "New for you", "body": PREGNANT})
    assert (f.rule_id, f.field, f.start, f.end, f.match) == ("special.judge", "body", 24, 47, "because you're pregnant")
    assert f.severity == Severity.BLOCK and f.category == "special_category"
    assert f.message == ("Tells the reader a special-category fact was used: 'because you're pregnant' "
                         "(judge: uses pregnancy)")
    assert not is_not_run(f)
    # what left the machine: the question and the copy, asked for JSON at temperature 0
    [request] = fake.chat_requests()
    assert QUESTION in request.text and PREGNANT in request.text
    assert request.body["temperature"] == 0.0
    assert request.body["response_format"]["json_schema"]["name"] == "judge_verdict"


def test_the_span_indexes_the_text_as_typed(fake: FakeOpenAI, judge: Judge) -> None:
    # the judge reads the normalised text (no zero-width space, no look-alike letters);
    # the finding points at the original characters
    fake.enqueue(verdict(True, "Since you voted Labour"))
    body = "Hello! Since you vo\u200bted Lаbour, here is our offer."  # zero-width space, Cyrillic а
    [f] = check(make_rule(), judge, {"body": body})
    assert "Since you voted Labour" in fake.chat_requests()[0].text
    assert (f.start, f.end) == (7, 30) and f.match == body[7:30]


def test_the_quote_is_found_in_the_field_it_comes_from(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(verdict(True, "your diabetes"))
    [f] = check(make_rule(), judge, {"subject": "Managing your diabetes?", "body": "Try our range."})
    assert (f.field, f.start, f.end) == ("subject", 9, 22)


def test_no_violation_no_finding(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(verdict(False))
    assert check(make_rule(), judge, {"body": "Our boots are waterproof."}) == []
    assert len(fake.chat_requests()) == 1


def test_only_the_rules_fields_are_judged(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(verdict(False))
    check(make_rule(fields=["body"]), judge, {"subject": "SUBJECT-TEXT", "body": "BODY-TEXT"})
    sent = fake.chat_requests()[0].text
    assert "BODY-TEXT" in sent and "SUBJECT-TEXT" not in sent
    # nothing in the rule's fields: nothing to judge, no request, no finding
    assert check(make_rule(fields=["cta"]), judge, {"body": "BODY-TEXT"}) == []
    assert len(fake.chat_requests()) == 1


def test_examples_are_shown_to_the_model(fake: FakeOpenAI, judge: Judge) -> None:
    examples = [{"text": "As a fellow Catholic, you'll love this.", "violation": True,
                 "quote": "As a fellow Catholic", "reason": "religion"},
                {"text": "Our Easter sale starts now.", "violation": False}]
    fake.enqueue(verdict(False))
    check(make_rule(examples=examples), judge, {"body": "Hello"})
    sent = fake.chat_requests()[0].text
    assert "As a fellow Catholic, you'll love this." in sent and "Our Easter sale starts now." in sent


# -- lying and garbage judges: not run, at warn, never a pass ---------------------------

UNUSABLE = [
    (Reply.text("Yes, it does."), "not JSON"),
    (Reply.text(""), "empty"),
    (Reply.text("[true, \"x\"]"), "not a JSON object"),
    (Reply.text(json.dumps({"violation": True, "quote": "because you're pregnant"})), "no 'reason'"),
    (Reply.text(json.dumps({"verdict": "violation"})), "no 'violation', 'quote', 'reason'"),
    (Reply.text(json.dumps({"violation": "yes", "quote": "x", "reason": "r"})), "'violation' must be true or false"),
    (Reply.text(json.dumps({"violation": 1, "quote": "x", "reason": "r"})), "'violation' must be true or false"),
    (Reply.text(json.dumps({"violation": True, "quote": 3, "reason": "r"})), "'quote' must be a string"),
    (Reply.text(json.dumps({"violation": False, "quote": "", "reason": None})), "'reason' must be a string"),
    (verdict(True, "because you are expecting"), "its quote 'because you are expecting' is not in the copy"),
    (verdict(True, "because you're PREGNANT"), "is not in the copy"),  # verbatim means verbatim
    (verdict(True, ""), "without quoting the copy"),
    (verdict(True, "   "), "without quoting the copy"),
]


@pytest.mark.parametrize(("reply", "why"), UNUSABLE, ids=[w for _, w in UNUSABLE])
def test_an_unusable_answer_is_not_run_at_warn(fake: FakeOpenAI, judge: Judge, reply: Reply, why: str) -> None:
    fake.enqueue(reply)
    [f] = check(make_rule(), judge, {"subject": "Hi", "body": PREGNANT})
    assert f.severity == Severity.WARN and is_not_run(f)
    assert f.message.startswith("judge rule 'special.judge' not run: the judge's answer was unusable: ")
    assert why in f.message
    assert (f.field, f.start, f.end, f.match) == ("subject", 0, 0, "")
    assert judge.cost().unusable == 1


def test_an_unusable_answer_is_not_cached(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(Reply.text("garbage"), verdict(True, "because you're pregnant"))
    rule = make_rule()
    assert is_not_run(check(rule, judge, {"body": PREGNANT})[0])
    [f] = check(rule, judge, {"body": PREGNANT})
    assert f.match == "because you're pregnant" and len(fake.chat_requests()) == 2


def test_a_fenced_json_answer_is_read() -> None:
    answer = '```json\n{"violation": true, "quote": "you\'re pregnant", "reason": "r"}\n```'
    assert parse_verdict(answer, [("body", PREGNANT)]).quote == "you're pregnant"


# -- not run: no endpoint, endpoint errors ------------------------------------------------


def test_without_a_judge_the_rule_reports_not_run() -> None:
    [f] = check(make_rule(), None, {"subject": "Hi", "body": PREGNANT})
    assert f.severity == Severity.INFO and is_not_run(f)
    assert f.message.startswith("judge rule 'special.judge' not run: no remote model endpoint configured")
    assert (f.field, f.start, f.end) == ("subject", 0, 0)


def test_no_endpoint_configured_is_not_run() -> None:
    settings = load_settings({})  # api: auto with nothing configured would be the embedded model
    assert settings.kind == "embedded"
    judge = Judge.from_settings(settings, JudgeCache(None))
    [f] = check(make_rule(), judge, {"body": PREGNANT})
    assert f.severity == Severity.INFO and "no remote model endpoint configured" in f.message
    assert judge.cost() == JudgeCost(judged=1, not_run=1)


def test_a_server_error_is_not_run_naming_it(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(Reply.error(500, "upstream exploded"))
    [f] = check(make_rule(), judge, {"body": PREGNANT})
    assert f.severity == Severity.INFO and is_not_run(f)
    assert "not run: the endpoint failed: " in f.message and "server error 500: upstream exploded" in f.message


def test_a_timeout_is_not_run_naming_it(fake: FakeOpenAI, settings: Callable[..., LLMSettings]) -> None:
    judge = Judge.from_settings(settings(timeout=0.2), JudgeCache(None))
    fake.enqueue(verdict(False).slow(1.0))
    [f] = check(make_rule(), judge, {"body": PREGNANT})
    assert f.severity == Severity.INFO and "timed out after 0.2s" in f.message


def test_a_failing_endpoint_is_not_asked_forever(fake: FakeOpenAI, judge: Judge) -> None:
    fake.default = Reply.error(503, "overloaded")
    rule = make_rule()
    for n in range(5):
        [f] = check(rule, judge, {"body": f"{PREGNANT} {n}"})
        assert is_not_run(f)
    assert len(fake.chat_requests()) == 3  # MAX_FAILURES in a row, then it stops asking
    assert "failed 3 times in a row, so the judge stopped asking for 60s" in f.message and "503" in f.message


def test_after_its_pause_the_judge_asks_again(fake: FakeOpenAI, settings: Callable[..., LLMSettings]) -> None:
    judge = Judge.from_settings(settings(), JudgeCache(None))
    judge.pause = 0.0
    fake.enqueue(*[Reply.error(503, "overloaded")] * 3, verdict(False))
    rule = make_rule()
    for n in range(3):
        assert is_not_run(check(rule, judge, {"body": f"{PREGNANT} {n}"})[0])
    assert check(rule, judge, {"body": PREGNANT}) == []
    assert len(fake.chat_requests()) == 4


def test_a_dead_endpoint_stops_at_once(settings: Callable[..., LLMSettings]) -> None:
    with FakeOpenAI() as gone:
        url = gone.base_url
    judge = Judge.from_settings(settings(base_url=url), JudgeCache(None))
    first = check(make_rule(), judge, {"body": "one"})[0]
    second = check(make_rule(), judge, {"body": "two"})[0]
    assert "cannot reach the LLM endpoint" in first.message
    assert "so the judge stopped asking" in second.message
    assert judge.cost().requests == 1


def test_copy_with_personal_data_is_not_sent(fake: FakeOpenAI, judge: Judge) -> None:
    [f] = check(make_rule(), judge, {"body": "Questions? Write to jane.doe@example.com"})
    assert is_not_run(f) and f.severity == Severity.INFO
    assert "holds personal data" in f.message and "jane.doe@example.com" not in f.message
    assert fake.chat_requests() == []


# -- the cache --------------------------------------------------------------------------


def test_a_cache_hit_makes_no_request(fake: FakeOpenAI, judge: Judge) -> None:
    fake.enqueue(verdict(True, "because you're pregnant"))
    rule = make_rule()
    first = check(rule, judge, {"body": PREGNANT})
    again = check(rule, judge, {"body": PREGNANT})
    assert first == again and len(fake.chat_requests()) == 1
    cost = judge.cost()
    assert (cost.judged, cost.cache_hits, cost.requests) == (2, 1, 1)
    assert (cost.prompt_tokens, cost.completion_tokens) == (40, 30)  # the fake's usage, once


def test_the_cache_file_outlives_the_process(fake: FakeOpenAI, settings: Callable[..., LLMSettings],
                                             tmp_path: Path) -> None:
    path = tmp_path / "store" / "judge-cache.db"
    fake.enqueue(verdict(False))
    check(make_rule(), Judge.from_settings(settings(), JudgeCache(path)), {"body": PREGNANT})
    later = Judge.from_settings(settings(), JudgeCache(path))
    assert check(make_rule(), later, {"body": PREGNANT}) == []
    assert len(fake.chat_requests()) == 1 and later.cost().cache_hits == 1


def test_a_broken_cache_file_costs_requests_not_checks(fake: FakeOpenAI, settings: Callable[..., LLMSettings],
                                                       tmp_path: Path) -> None:
    path = tmp_path / "judge-cache.db"
    path.write_bytes(b"this is not a database" * 100)
    cache = JudgeCache(path)
    judge = Judge.from_settings(settings(), cache)
    fake.enqueue(verdict(True, "because you're pregnant"), verdict(True, "because you're pregnant"))
    for _ in range(2):
        [f] = check(make_rule(), judge, {"body": PREGNANT})
        assert f.match == "because you're pregnant"
    assert len(fake.chat_requests()) == 2
    assert cache.problem is not None and "verdict cache off" in cache.problem and str(path) in cache.problem


@pytest.mark.parametrize("change", ["version", "model", "question", "examples", "text"])
def test_a_cache_miss_after_a_change(fake: FakeOpenAI, settings: Callable[..., LLMSettings], change: str) -> None:
    cache = JudgeCache(None)
    fake.default = verdict(False)
    check(make_rule(), Judge.from_settings(settings(), cache), {"body": PREGNANT})
    rule, judge, body = make_rule(), Judge.from_settings(settings(), cache), PREGNANT
    if change == "version":
        rule = make_rule(version=2)
    elif change == "model":
        judge = Judge.from_settings(settings(model="other-model"), cache)
    elif change == "question":
        rule = make_rule(question=QUESTION + " Ignore product names.")
    elif change == "examples":
        rule = make_rule(examples=[{"text": "Our Easter sale.", "violation": False}])
    else:
        body = PREGNANT + " "
    check(rule, judge, {"body": body})
    assert len(fake.chat_requests()) == 2
    check(rule, judge, {"body": body})  # and the new verdict is cached in turn
    assert len(fake.chat_requests()) == 2


def test_the_model_label_is_the_clients(settings: Callable[..., LLMSettings]) -> None:
    from copydesk.llm.factory import make_client

    s = settings()
    assert settings_label(s) == make_client(s).label == "fake-model (openai)"


# -- never the embedded demo model ---------------------------------------------------------


def test_the_embedded_model_never_judges() -> None:
    from copydesk.llm import embedded
    from copydesk.llm.factory import make_client

    settings = load_settings({"api": "embedded"})
    loaded = dict(embedded._models)
    for judge in (Judge.from_settings(settings, JudgeCache(None)), Judge(make_client(settings))):
        [f] = check(make_rule(), judge, {"body": PREGNANT})
        assert f.severity == Severity.INFO and is_not_run(f)
        assert "embedded demo model, which never judges" in f.message
        assert judge.cost().requests == 0
    assert embedded._models == loaded  # no model was loaded


def test_judging_with_embedded_settings_loads_no_model(tmp_path: Path) -> None:
    # in a fresh interpreter: neither llama.cpp nor the embedded backend is even imported
    # (nor the OpenAI SDK, nor sqlite-utils: no client is made and no cache file opened)
    script = textwrap.dedent(
        """
        import sys
        from copydesk.guardrails.judge import Judge
        from copydesk.guardrails.judge_cache import JudgeCache
        from copydesk.guardrails.rules import Message, compile_rule, validate_rule
        from copydesk.llm.settings import load_settings
        spec = validate_rule({"id": "j", "type": "judge", "category": "special_category",
                              "message": "m", "question": "q?"})
        rule = compile_rule(spec, "t", 0)
        for config in ({}, {"api": "embedded"}):
            rule.judge = Judge.from_settings(load_settings(config), JudgeCache(None))
            [f] = rule.check(Message.prepare("email", {"body": "because you're pregnant"}), [])
            print(f.severity.value, f.message)
        heavy = ("llama_cpp", "copydesk.llm.embedded", "openai", "sqlite_utils")
        print(sorted(m for m in sys.modules if m.startswith(heavy)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True,
        env={"TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "PYTHONPATH": str(REPO), "PATH": ""},
    )  # fmt: skip
    lines = out.stdout.splitlines()
    assert lines[0].startswith("info judge rule 'j' not run: no remote model endpoint configured")
    assert lines[1].startswith("info judge rule 'j' not run: the workspace's endpoint is the embedded demo model")
    assert lines[2] == "[]"


# -- the rule type ---------------------------------------------------------------------------


def test_judge_is_a_registered_non_lexical_rule_type() -> None:
    assert RULE_TYPES["judge"] is JudgeRule and "judge" not in lexical_types()


def test_a_pack_with_a_judge_rule_loads(make_policy: Callable[[str], Policy]) -> None:
    policy = make_policy(PACK)
    [rule] = policy.rules
    assert isinstance(rule, JudgeRule) and rule.spec.version == 3
    assert rule.question.examples[0].quote == "because you're pregnant"
    # without a judge attached, a check reports the rule as not run (visible, not a pass)
    [f] = policy.check("email", {"subject": "Hi", "body": PREGNANT})
    assert is_not_run(f) and f.severity == Severity.INFO


@pytest.mark.parametrize(("example", "error"), [
    ("{text: Because you're pregnant, violation: true}", "needs the 'quote'"),
    ("{text: Because you're pregnant, violation: true, quote: you are pregnant}", "is not an exact span"),
    ("{text: Easter sale, violation: false, quote: Easter}", "violation: false has no 'quote'"),
])  # fmt: skip
def test_a_bad_example_is_a_pack_error(make_policy: Callable[[str], Policy], example: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error) as err:
        make_policy(PACK.replace("{text: \"We chose this because you're pregnant.\", violation: true, "
                                 "quote: \"because you're pregnant\"}", example))
    assert "examples" in str(err.value) and ".yaml" in str(err.value)


PACK = """\
pack: judged
rules:
  - id: special.judge
    type: judge
    category: special_category
    severity: block
    message: "Tells the reader a special-category fact was used: '{match}'"
    question: Does the copy tell the reader it was chosen because of their health or pregnancy?
    version: 3
    examples:
      - {text: "We chose this because you're pregnant.", violation: true, quote: "because you're pregnant"}
"""


# -- end to end through the policy hook (Policy.with_judge, engine.py) ------------------------

needs_hook = pytest.mark.skipif(not hasattr(Policy, "with_judge"), reason="needs the Policy.with_judge hook")


@needs_hook
def test_policy_check_asks_the_attached_judge(fake: FakeOpenAI, judge: Judge,
                                              make_policy: Callable[[str], Policy]) -> None:
    policy = make_policy(PACK)
    judged = policy.with_judge(judge)  # type: ignore[attr-defined]
    fake.enqueue(verdict(True, "because you're pregnant", "pregnancy"))
    before = judge.cost()
    [f] = judged.check("email", {"subject": "New for you", "body": PREGNANT})
    assert (f.rule_id, f.field, f.match, f.severity) == ("special.judge", "body", "because you're pregnant", "block")
    assert (judge.cost() - before).requests == 1
    # the loader's cached policy is shared: it is not changed
    assert is_not_run(policy.check("email", {"body": PREGNANT})[0])


@needs_hook
def test_the_desk_judges_with_the_workspaces_endpoint(fake: FakeOpenAI, tmp_path: Path) -> None:
    from copydesk.services import Desk
    from copydesk.workspace import Workspace

    root = tmp_path / "ws"
    (root / "guardrails").mkdir(parents=True)
    (root / "guardrails" / "policy.yaml").write_text(PACK, encoding="utf-8")
    (root / "copydesk.yaml").write_text(
        f"brand: Test\npolicy: guardrails\nllm: {{base_url: '{fake.base_url}', model: fake-model, max_retries: 0}}\n",
        encoding="utf-8",
    )
    desk = Desk.memory(Workspace(root))
    fake.enqueue(verdict(True, "because you're pregnant"))
    [f] = desk.check_content("email", {"subject": "Hi", "body": PREGNANT}, None)  # type: ignore[arg-type]
    assert f.match == "because you're pregnant" and f.severity == Severity.BLOCK
    [f] = desk.check_content("email", {"subject": "Hi", "body": PREGNANT}, None)  # type: ignore[arg-type]
    assert len(fake.chat_requests()) == 1  # cached in the workspace's store
    assert (root / "store" / "judge-cache.db").is_file()
