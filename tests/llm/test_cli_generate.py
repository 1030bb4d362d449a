"""``copydesk generate`` and ``copydesk llm check`` in process, against the fake server."""

from __future__ import annotations

from typing import Any

import pytest

from copydesk.services import Desk
from tests.fake_openai import FakeOpenAI, Reply


def _ws(desk: Desk) -> str:
    assert desk.workspace is not None
    return str(desk.workspace.root)


def test_generate_saves_variants_and_prints_the_table(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    # the brief requires "Boot Care Kit"; a draft without it is not clean
    fake_openai.default = Reply.draft(body="Our boots are built for UK hills. Add the Boot Care Kit.")
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


def test_llm_check_round_trip(gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any) -> None:
    fake_openai.enqueue(Reply.text("OK"))
    result = cli("-w", _ws(gen_desk), "llm", "check", "--base-url", fake_openai.base_url,
                 "--model", "fake-model")
    assert result.code == 0, result
    assert "endpoint kind: openai" in result.out and fake_openai.base_url in result.out
    assert "ok: the endpoint answered 'OK'" in result.out
    (sent,) = fake_openai.chat_requests()
    assert sent.body["max_tokens"] == 1


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
