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


# -- total deadline per request ------------------------------------------------------------

def test_a_trickling_reply_is_cut_off_at_the_timeout(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    # A byte every 50 ms never trips the SDK's per-read timeout: only a total deadline
    # stops it (the whole reply would take about 10 s).
    fake_openai.default = lambda req: Reply.text("OK").trickled(0.05)
    backend = make_backend(timeout=0.5, max_retries=0)
    with pytest.raises(EndpointError) as err:
        backend.chat(MESSAGES)
    assert "timed out after 0.5s" in str(err.value)
    assert err.value.requests == 1 and err.value.elapsed > 0
    backend.close()


def test_a_trickling_reply_is_cut_off_in_async_calls_and_retried(
    fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.text("late").trickled(0.05))
    backend = make_backend(timeout=0.5, max_retries=1)
    completion = asyncio.run(backend.achat(MESSAGES))
    assert completion.text != "late" and completion.retries == 1
    assert completion.events[0].startswith("timed out after 0.5s: retry 1 of 1 after")
    assert len(fake_openai.chat_requests()) == 2


# -- 400s are read, not guessed at -------------------------------------------------------------

MAX_TOKENS_400 = ("Unsupported parameter: 'max_tokens' is not supported with this model. "
                  "Use 'max_completion_tokens' instead.")
TEMPERATURE_400 = ("Unsupported value: 'temperature' does not support 0.7 with this model. "
                   "Only the default (1) value is supported.")


def test_a_400_about_max_tokens_switches_to_max_completion_tokens(
    fake_openai: FakeOpenAI, make_backend: Any
) -> None:
    fake_openai.enqueue(Reply.bad_request(MAX_TOKENS_400, param="max_tokens", code="unsupported_parameter"))
    backend = make_backend()
    schema = response_schema("sms")
    completion = backend.chat(MESSAGES, schema=schema, max_tokens=300)
    first, second = fake_openai.chat_requests()
    assert first.body["max_tokens"] == 300 and "max_completion_tokens" not in first.body
    assert second.body["max_completion_tokens"] == 300 and "max_tokens" not in second.body
    # not mistaken for a format problem: the schema is still asked for
    assert second.body["response_format"]["type"] == "json_schema"
    assert completion.format_mode == "json_schema" and completion.fallbacks == 1
    assert completion.events == (f"max_tokens → max_completion_tokens (the endpoint said {MAX_TOKENS_400!r})",)
    assert backend.adjustments == list(completion.events)
    backend.chat(MESSAGES)  # remembered for the endpoint
    assert "max_completion_tokens" in fake_openai.chat_requests()[2].body
    backend.close()


def test_a_400_about_temperature_drops_it(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.enqueue(Reply.bad_request(TEMPERATURE_400, param="temperature", code="unsupported_value"))
    backend = make_backend()
    completion = asyncio.run(backend.achat(MESSAGES, temperature=0.7))
    first, second = fake_openai.chat_requests()
    assert first.body["temperature"] == 0.7 and "temperature" not in second.body
    assert "temperature" not in completion.parameters
    assert completion.events[0].startswith("temperature no longer sent")


def test_a_422_about_max_completion_tokens_switches_back(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.enqueue(Reply.bad_request("Extra inputs are not permitted: max_completion_tokens", status=422))
    backend = make_backend(token_param="max_completion_tokens")
    backend.chat(MESSAGES)
    first, second = fake_openai.chat_requests()
    assert "max_completion_tokens" in first.body and "max_tokens" in second.body


@pytest.mark.parametrize("message", [
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
    "max_tokens is too large: 100000. This model supports at most 4096 completion tokens.",
    "Invalid value for 'n': must be 1.",
])
def test_any_other_400_fails_with_the_servers_message(
    fake_openai: FakeOpenAI, make_backend: Any, message: str
) -> None:
    fake_openai.default = Reply.bad_request(message)
    backend = make_backend()
    with pytest.raises(EndpointError) as err:
        backend.chat(MESSAGES, schema=response_schema("email"))
    assert f"rejected the request (400): {message}" in str(err.value)
    (only,) = fake_openai.chat_requests()  # no silent fallback, no retry
    assert only.body["response_format"]["type"] == "json_schema"
    assert backend.adjustments == [] and err.value.requests == 1


def test_a_400_about_the_schema_falls_back_and_says_so(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    said = "Invalid schema for response_format 'sms_draft': 'additionalProperties' is required"
    fake_openai.enqueue(Reply.bad_request(said, param="response_format"))
    backend = make_backend()
    completion = backend.chat(MESSAGES, schema=response_schema("sms"))
    assert completion.format_mode == "json_object"
    assert completion.events == (f"output format json_schema → json_object (the endpoint said {said!r})",)


def test_failures_carry_their_requests_time_and_events(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.default = Reply.error(503, "overloaded")
    backend = make_backend(max_retries=2)
    with pytest.raises(EndpointError) as err:
        backend.chat(MESSAGES)
    assert err.value.requests == 3 and err.value.elapsed > 0
    assert [e.split(" after ")[0] for e in err.value.events] == [
        "server error 503: retry 1 of 2", "server error 503: retry 2 of 2", "server error 503: no retries left"]


# -- model families -----------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "token_param", "effort"), [
    ("o3-mini", "max_completion_tokens", "low"),
    ("o4-mini-2025-04-16", "max_completion_tokens", "low"),
    ("o1", "max_completion_tokens", "low"),
    ("o1-mini", "max_completion_tokens", None),
    ("gpt-5", "max_completion_tokens", "low"),
    ("openai/gpt-5-mini", "max_completion_tokens", "low"),
    ("gpt-5-chat-latest", "max_completion_tokens", None),
    ("gpt-4o-mini", "max_tokens", None),
    ("llama3.1", "max_tokens", None),
    ("ollama-o3ish", "max_tokens", None),
])
def test_the_request_shape_follows_the_model_family(
    fake_openai: FakeOpenAI, make_backend: Any, model: str, token_param: str, effort: str | None
) -> None:
    backend = make_backend(model=model)
    backend.chat(MESSAGES, max_tokens=100)
    (sent,) = fake_openai.chat_requests()
    reasoning = effort is not None or model == "o1-mini"
    assert sent.body[token_param] == (100 + 2048 if reasoning else 100)
    assert ("temperature" in sent.body) is not reasoning
    assert sent.body.get("reasoning_effort") == effort
    backend.close()


def test_settings_override_the_family(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    make_backend(model="my-azure-deployment", reasoning_model=True, reasoning_effort="high",
                 reasoning_tokens=1000).chat(MESSAGES, max_tokens=100)
    make_backend(model="o3", reasoning_model=False).chat(MESSAGES, max_tokens=100)
    make_backend(model="o3", reasoning_effort="omit", token_param="max_tokens").chat(MESSAGES, max_tokens=100)
    custom, plain, omitted = (r.body for r in fake_openai.chat_requests())
    assert custom["max_completion_tokens"] == 1100 and custom["reasoning_effort"] == "high"
    assert "temperature" not in custom
    # not treated as reasoning: temperature sent, no allowance; the family's token field stays
    assert plain["max_completion_tokens"] == 100 and plain["temperature"] == 0.7
    assert "reasoning_effort" not in plain
    assert omitted["max_tokens"] == 2148 and "reasoning_effort" not in omitted and "temperature" not in omitted


def test_reasoning_tokens_are_reported(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.enqueue(Reply(content="OK", usage=(10, 300), reasoning_tokens=280))
    completion = make_backend(model="o3-mini").chat(MESSAGES)
    assert completion.usage.reasoning_tokens == 280
    assert completion.usage.as_dict()["reasoning_tokens"] == 280


def test_a_hung_server_is_given_up_after_two_timeouts(fake_openai: FakeOpenAI, make_backend: Any) -> None:
    fake_openai.default = lambda req: Reply.text("OK").trickled(0.05)
    backend = make_backend(timeout=0.3, max_retries=3)
    with pytest.raises(EndpointError) as err:
        backend.chat(MESSAGES)
    assert len(fake_openai.chat_requests()) == 2  # not max_retries + 1 = 4
    assert err.value.fatal and "timed out after 0.3s, 2 times in a row" in str(err.value)
    assert err.value.requests == 2 and err.value.retries == 1
    backend.close()
