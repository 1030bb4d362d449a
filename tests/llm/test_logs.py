"""``copydesk llm logs``: every prompt and reply of generation, stored and searchable."""

from __future__ import annotations

import json
from typing import Any

from copydesk.llm.logs import LogEntry, LogStore
from copydesk.llm.logs_schema import LOGS, log_migrations
from copydesk.services import Desk
from tests.fake_openai import FakeOpenAI, Reply


def _ws(desk: Desk) -> str:
    assert desk.workspace is not None
    return str(desk.workspace.root)


def _generate(cli: Any, desk: Desk, server: FakeOpenAI, *extra: str) -> Any:
    return cli("-w", _ws(desk), "generate", "boots-onboarding", "--as", "ana", "-n", "2",
               "--base-url", server.base_url, "--model", "fake-model", *extra)


def test_every_request_and_reply_is_logged_and_linked_to_its_variant(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    result = _generate(cli, gen_desk, fake_openai)
    assert result.code == 0, result
    assert "copydesk llm logs --brief boots-onboarding" in result.out
    shown = cli("-w", _ws(gen_desk), "llm", "logs", "--brief", "boots-onboarding", "--json")
    assert shown.code == 0, shown
    entries = json.loads(shown.out)
    sent = fake_openai.chat_requests()
    assert len(entries) == len(sent) == 2
    assert sorted(e["messages"][1]["content"] for e in entries) == sorted(r.messages[1]["content"] for r in sent)
    variants = {v.id for v in gen_desk.list_variants(brief_id="boots-onboarding")}
    assert {e["variant_id"] for e in entries} == variants
    for e in entries:
        assert e["response"] and e["model"] == "fake-model" and e["actor"] == "ana"
        assert e["prompt_tokens"] > 0 and e["cost"] is None
        stored = gen_desk.get_variant(e["variant_id"]).current.provenance
        assert stored["log_run_id"] == e["run_id"]


def test_search_brief_and_limit_filter_the_log(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    fake_openai.enqueue(Reply.draft(body="Our boots love the Pennine Way in winter."),
                        Reply.draft(body="Puddles are no match for these soles."))
    assert _generate(cli, gen_desk, fake_openai).code == 0
    found = json.loads(cli("-w", _ws(gen_desk), "llm", "logs", "--search", "pennine WAY", "--json").out)
    assert len(found) == 1 and "Pennine Way" in found[0]["response"]
    none = json.loads(cli("-w", _ws(gen_desk), "llm", "logs", "--brief", "other-brief", "--json").out)
    assert none == []
    one = json.loads(cli("-w", _ws(gen_desk), "llm", "logs", "-n", "1", "--json").out)
    assert len(one) == 1
    text = cli("-w", _ws(gen_desk), "llm", "logs", "--search", "Pennine")
    assert text.code == 0 and "Pennine Way" in text.out and "system:" in text.out
    # a search for LIKE wildcards matches them literally
    assert json.loads(cli("-w", _ws(gen_desk), "llm", "logs", "--search", "%_%", "--json").out) == []


def test_a_failed_request_is_logged_with_its_error(
    gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any
) -> None:
    fake_openai.enqueue(Reply.error(401, "bad key"))
    result = cli("-w", _ws(gen_desk), "generate", "boots-onboarding", "--as", "ana", "-n", "1",
                 "--base-url", fake_openai.base_url, "--model", "fake-model")
    assert result.code == 1
    (entry,) = LogStore(gen_desk.db).query(brief_id="boots-onboarding")
    assert entry.response is None and entry.error and "401" in entry.error
    assert entry.variant_id is None


def test_logging_can_be_switched_off(gen_desk: Desk, fake_openai: FakeOpenAI, cli: Any) -> None:
    assert gen_desk.workspace is not None
    config = gen_desk.workspace.config_path
    config.write_text(config.read_text(encoding="utf-8") + "\nllm:\n  log_prompts: false\n",
                      encoding="utf-8")
    result = _generate(cli, gen_desk, fake_openai)
    assert result.code == 0, result
    assert "llm logs" not in result.out
    assert LogStore(gen_desk.db).query() == []


def test_the_log_table_comes_from_its_own_migration_set(gen_desk: Desk) -> None:
    db = gen_desk.db
    store = LogStore(db)
    assert LOGS in db.table_names()
    assert [m.name for m in log_migrations.applied(db)] == ["m001_llm_logs"]
    LogStore(db)  # applying again changes nothing
    assert len(log_migrations.applied(db)) == 1
    entry_id = store.write(LogEntry(run_id="r1", messages=[{"role": "user", "content": "hi"}],
                                    response="hello", brief_id="b", variant_number=1))
    store.link("r1", 1, "V7")
    (back,) = store.query(variant_id="V7")
    assert back.id == entry_id and back.messages == [{"role": "user", "content": "hi"}]
