"""``copydesk generate`` and ``copydesk llm check`` in process, against the fake server."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from copydesk.services import Desk
from tests.fake_openai import ANGLES, FakeOpenAI, Reply, answer_the_sum


def _ws(desk: Desk) -> str:
    assert desk.workspace is not None
    return str(desk.workspace.root)


def test_generate_saves_variants_and_prints_the_table(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    # the brief requires "Boot Care Kit"; a draft without it is not clean
    angle = itertools.count()
    fake_openai.default = lambda req: Reply.draft(
        body=f"Our boots are built for UK hills. Add the Boot Care Kit. {ANGLES[next(angle)]}")
    result = cli("-w", _ws(gen_desk), "generate", "boots-onboarding", "--as", "ana", "-n", "2",
                 "--base-url", fake_openai.base_url, "--model", "fake-model",
                 "--concurrency", "2")
    assert result.code == 0, result
    assert "2 of 2 variant(s) created" in result.out
    assert "fake-model" in result.out and "clean" in result.out
    assert len(gen_desk.list_variants(brief_id="boots-onboarding")) == 2


def test_generate_refuses_a_brief_with_pii_without_sending_it(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    brief = gen_desk.get_brief("boots-onboarding").model_copy(
        update={"id": "pii-brief", "tone_notes": "Like the note from sam@example.org"})
    gen_desk.save_brief(brief, actor="ana")
    result = cli("-w", _ws(gen_desk), "generate", "pii-brief", "--as", "ana", "-n", "1",
                 "--base-url", fake_openai.base_url, "--model", "fake-model")
    assert result.code == 1
    assert "contains personal data" in result.err and "tone_notes" in result.err
    assert "Traceback" not in result.err
    assert fake_openai.requests == []


def test_generate_needs_the_copywriter_role(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    result = cli("-w", _ws(gen_desk), "generate", "boots-onboarding", "--as", "ben", "-n", "1",
                 "--base-url", fake_openai.base_url, "--model", "fake-model")
    assert result.code == 1 and "may not write or edit variants" in result.err
    assert fake_openai.requests == []




def test_llm_check_verifies_a_structured_answer(gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any) -> None:
    fake_openai.default = answer_the_sum
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", fake_openai.base_url,
                 "--model", "fake-model")
    assert result.code == 0, result
    assert "endpoint kind: openai" in result.out and fake_openai.base_url in result.out
    assert "family:        chat (chat model)" in result.out
    (sent,) = fake_openai.chat_requests()
    a, b = map(int, re.findall(r"sum of (\d+) and (\d+)", sent.text)[0])
    assert f'ok: the endpoint answered \'{{"ok": true, "sum": {a + b}}}\', correct for {a} + {b}' in result.out
    assert sent.body["response_format"]["json_schema"]["schema"]["required"] == ["ok", "sum"]
    assert sent.body["max_tokens"] == 40 and sent.body["temperature"] == 0.0


@pytest.mark.parametrize(("answer", "reason"), [
    ("I", "answered 'I', not the JSON object asked for"),
    ("OK", "answered 'OK', not the JSON object asked for"),
    ('{"ok": true, "sum": 1}', "the sum is wrong"),
    ('{"ok": false, "sum": 5}', "'ok' is not true"),
    ('{"ok": true, "sum": "five"}', "the sum is wrong"),
    ("", "answered nothing"),
])
def test_llm_check_fails_on_a_garbage_answer_with_the_reason(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any, answer: str, reason: str
) -> None:
    fake_openai.default = Reply.text(answer)
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", fake_openai.base_url,
                 "--model", "fake-model")
    assert result.code == 1, result
    assert reason in result.err and "ok:" not in result.out
    assert "Traceback" not in result.err


def test_llm_check_fails_on_a_cut_off_answer(gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any) -> None:
    fake_openai.default = Reply.truncated('{"ok": tr')
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", fake_openai.base_url,
                 "--model", "fake-model")
    assert result.code == 1 and "cut off at the token limit" in result.err


def test_llm_check_prompt_is_screened_for_personal_data(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    assert gen_desk.workspace is not None
    path = gen_desk.workspace.prompts_dir / "llm-verify.j2"
    path.write_text(path.read_text(encoding="utf-8") + "Copy the answer to jane.doe@example.com.\n",
                    encoding="utf-8")
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", fake_openai.base_url,
                 "--model", "fake-model")
    assert result.code == 1
    assert "personal data in the request" in result.err and "j***@e***.com" in result.err
    assert "jane.doe@example.com" not in result.err
    assert fake_openai.requests == []


def test_llm_check_uses_the_sample_prompt_in_an_older_workspace(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    assert gen_desk.workspace is not None
    (gen_desk.workspace.prompts_dir / "llm-verify.j2").unlink()
    fake_openai.default = answer_the_sum
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", fake_openai.base_url,
                 "--model", "fake-model")
    assert result.code == 0, result


def test_llm_check_on_a_dead_endpoint_is_one_clear_line(
    gen_desk: Desk, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAI() as fake:
        dead = fake.base_url
    monkeypatch.setenv("COPYDESK_LLM_MAX_RETRIES", "0")
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", dead, "--model", "m")
    assert result.code == 1
    assert "cannot reach the LLM endpoint" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_failure_rows_show_real_attempts_retries_and_time(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPYDESK_LLM_BACKOFF_BASE", "0")
    monkeypatch.setenv("COPYDESK_LLM_MAX_RETRIES", "2")
    fake_openai.enqueue(Reply.bad_request("response_format json_schema is not supported"))
    fake_openai.default = Reply.error(503, "overloaded")
    result = cli("-w", _ws(gen_desk), "generate", "boots-onboarding", "--as", "ana", "-n", "1",
                 "--base-url", fake_openai.base_url, "--model", "fake-model")
    assert result.code == 1
    row = next(line for line in result.out.splitlines() if line.startswith("│ 1 "))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[3:6] == ["1", "3", "0"]  # attempts, retries + fallbacks, repairs
    assert cells[7] != "0.0s"
    assert cells[8].startswith("call 1: output format json_schema → json_object")
    assert "and 1 more (see the provenance)" in result.out
    assert "endpoint correction: output format json_schema → json_object" in result.out


def test_ctrl_c_names_a_command_that_exists(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copydesk.services import generation

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(generation, "generate_for_brief", interrupted)
    result = cli("-w", _ws(gen_desk), "generate", "boots-onboarding", "--as", "ana", "-n", "1",
                 "--base-url", fake_openai.base_url, "--model", "fake-model")
    assert result.code == 130
    named = re.search(r"see '(copydesk [^']+)'", result.err)
    assert named is not None, result.err
    listed = cli("-w", _ws(gen_desk), *named.group(1).split()[1:])
    assert listed.code == 0, listed


def test_generate_takes_a_run_deadline(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    fake_openai.enqueue(Reply.draft())
    fake_openai.default = lambda req: Reply.draft(body="Never mind.").slow(120)
    result = cli("-w", _ws(gen_desk), "generate", "boots-onboarding", "--as", "ana", "-n", "2",
                 "--base-url", fake_openai.base_url, "--model", "fake-model", "--concurrency", "1",
                 "--deadline", "2")
    assert result.code == 0, result
    assert "1 of 2 variant(s) created" in result.out
    assert "stopped early: the run deadline of 2s passed" in result.err
    assert len(gen_desk.list_variants(brief_id="boots-onboarding")) == 1
