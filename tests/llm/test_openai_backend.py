"""The OpenAI-compatible client against the fake server: retries, backoff, formats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from copydesk.llm.client import EndpointError
from copydesk.llm.openai_backend import parse_retry_after
from copydesk.llm.schemas import response_schema
from tests.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "Say OK"}]


def test_429_is_retried_after_the_retry_after_delay(
    fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.rate_limited(3), Reply.text("OK"))
    backend = make_backend(backoff_max=10)
    completion = backend.chat(MESSAGES)
    assert completion.text == "OK" and completion.retries == 1
    assert backend.delays == [3.0]
    assert len(fake_openai.chat_requests()) == 2


def test_retry_after_is_capped_by_backoff_max(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.enqueue(Reply.rate_limited(600), Reply.text("OK"))
    backend = make_backend(backoff_max=5)
    backend.chat(MESSAGES)
    assert backend.delays == [5.0]


def test_500_is_retried_with_jittered_exponential_backoff(
    fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.error(500), Reply.error(503), Reply.text("OK"))
    backend = make_backend(backoff_base=1.0, backoff_max=30)
    completion = asyncio.run(backend.achat(MESSAGES))
    assert completion.text == "OK" and completion.retries == 2
    first, second = backend.delays
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0


def test_retries_give_up_with_a_clear_error(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.default = Reply.error(500, "upstream exploded")
    backend = make_backend(max_retries=2)
    with pytest.raises(EndpointError) as err:
        backend.chat(MESSAGES)
    assert "server error 500: upstream exploded" in str(err.value)
    assert not err.value.fatal
    assert len(fake_openai.chat_requests()) == 3


def test_timeout_is_retried_then_reported(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.enqueue(Reply.text("late").slow(1.0), Reply.text("OK"))
    backend = make_backend(timeout=0.2)
    assert backend.chat(MESSAGES).text == "OK"
    assert len(backend.delays) == 1


def test_bad_key_is_not_retried(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.default = Reply.error(401, "Incorrect API key provided")
    backend = make_backend()
    with pytest.raises(EndpointError) as err:
        backend.chat(MESSAGES)
    assert err.value.fatal and "refused the API key" in str(err.value)
    assert len(fake_openai.chat_requests()) == 1


def test_json_schema_rejected_falls_back_to_json_object(
    fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.error(400, "response_format json_schema is not supported"))
    backend = make_backend()
    schema = response_schema("sms")
    completion = backend.chat(MESSAGES, schema=schema)
    first, second = fake_openai.chat_requests()
    assert first.body["response_format"]["type"] == "json_schema"
    assert first.body["response_format"]["json_schema"]["schema"]["required"] == ["text",
                                                                                  "rationale"]
    assert second.body["response_format"] == {"type": "json_object"}
    assert completion.format_mode == "json_object"
    backend.chat(MESSAGES, schema=schema)  # remembered: no second rejection
    assert fake_openai.chat_requests()[2].body["response_format"] == {"type": "json_object"}


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({}) is None
