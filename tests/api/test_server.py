"""The API through HTTP: a real uvicorn server on 127.0.0.1, httpx as the client."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest

from copydesk import clock
from copydesk.services import Desk
from copydesk.workspace import Workspace

CONTACT = {"contact_id": "C1003", "first_name": "Isla", "lifecycle_stage": "onboarding", "orders": 1,
           "consent_email": True, "skill_level": "intermediate", "last_purchase_at": "2026-11-20"}
DECIDE = "/v1/campaigns/spring-boots/decide"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(r: httpx.Response) -> dict[str, object]:
    assert r.headers["content-type"].startswith("application/json"), r.text
    err: dict[str, object] = r.json()["error"]
    assert err["status"] == r.status_code and "Traceback" not in r.text
    return err


# -- health, docs ------------------------------------------------------------------

def test_health_needs_no_token_and_docs_work_offline(api: httpx.Client) -> None:
    assert api.get("/v1/health").json()["status"] == "ok"
    spec = api.get("/openapi.json").json()
    assert {"/v1/health", "/v1/content", "/v1/content/{variant_id}", "/v1/campaigns/{campaign_id}/decide",
            "/v1/campaigns/{campaign_id}/decide/batch"} <= set(spec["paths"])
    page = api.get("/docs")
    assert page.status_code == 200 and "/v1/campaigns/{campaign_id}/decide" in page.text
    assert "<script" not in page.text and "cdn" not in page.text.lower()
    r = api.get("/v1/nope")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = api.delete("/v1/content")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"


# -- tokens and scopes -------------------------------------------------------------

def test_no_token_or_a_wrong_one_is_401(api: httpx.Client, content_token: str) -> None:
    r = api.get("/v1/content")
    assert r.status_code == 401 and error_of(r)["field"] == "Authorization"
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = api.get("/v1/content", headers=auth(content_token[:-2] + "xx"))
    assert r.status_code == 401


def test_invalid_tokens_from_one_client_are_rate_limited(serve, content_token: str) -> None:  # type: ignore[no-untyped-def]
    with serve(auth_failures_per_second=0.001, auth_failure_burst=3) as api:
        codes = [api.get("/v1/content", headers=auth("cdk_T1_" + "x" * 43)).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        assert api.get("/v1/content", headers=auth(content_token)).status_code == 200


def test_scopes(api: httpx.Client, content_token: str, campaign_token: str, desk: Desk) -> None:
    other = desk.create_token("other", "campaign:sms-restock", actor="admin")[1]
    assert api.get("/v1/content", headers=auth(content_token)).status_code == 200
    assert api.get("/v1/content", headers=auth(campaign_token)).status_code == 403
    assert api.post(DECIDE, json={"contact": CONTACT}, headers=auth(content_token)).status_code == 403
    r = api.post(DECIDE, json={"contact": CONTACT}, headers=auth(other))
    assert r.status_code == 403 and "campaign:spring-boots" in str(error_of(r)["message"])
    assert api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token)).status_code == 200


def test_expired_and_revoked_tokens_are_refused_at_once(api: httpx.Client, desk: Desk) -> None:
    token, secret = desk.create_token("short", "content", actor="admin", expires="1d")
    assert api.get("/v1/content", headers=auth(secret)).status_code == 200
    clock.freeze(clock.now() + timedelta(days=2))
    assert api.get("/v1/content", headers=auth(secret)).status_code == 401
    clock.freeze(None)
    assert api.get("/v1/content", headers=auth(secret)).status_code == 200
    desk.revoke_token(token.id, actor="admin")
    assert api.get("/v1/content", headers=auth(secret)).status_code == 401


# -- content -----------------------------------------------------------------------

def test_content_lists_approved_content_with_etags(api: httpx.Client, content_token: str, desk: Desk) -> None:
    h = auth(content_token)
    r = api.get("/v1/content", headers=h)
    assert r.status_code == 200
    items = r.json()["items"]
    assert {i["brief_id"] for i in items} == {"boots-onboarding", "spring-generic", "rewards-loyal",
                                              "winback-dormant"}
    etag = r.headers["etag"]
    assert api.get("/v1/content", headers={**h, "If-None-Match": etag}).status_code == 304
    one = api.get(f"/v1/content/{items[0]['variant_id']}", headers=h)
    assert one.json() == items[0] and one.headers["etag"] == f'"{items[0]["content_hash"]}"'
    assert api.get(f"/v1/content/{items[0]['variant_id']}",
                   headers={**h, "If-None-Match": one.headers["etag"]}).status_code == 304
    filtered = api.get("/v1/content", params={"brief": "rewards-loyal", "channel": "email"}, headers=h).json()
    assert [i["brief_id"] for i in filtered["items"]] == ["rewards-loyal"]
    assert api.get("/v1/content", params={"stage": "loyal"}, headers=h).json()["count"] == 1
    r = api.get("/v1/content", params={"stage": "bored"}, headers=h)
    assert r.status_code == 422 and error_of(r)["field"] == "stage"
    r = api.get("/v1/content", params={"dialect": "sendgrid"}, headers=h)
    assert r.status_code == 422 and error_of(r)["field"] == "dialect" and "braze" in str(error_of(r)["message"])
    # a retire (or any change to the library) shows at once, and the ETag moves
    desk.retire(items[0]["variant_id"], actor="ben", reason="old")
    r = api.get("/v1/content", headers={**h, "If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag and r.json()["count"] == len(items) - 1
    r = api.get(f"/v1/content/{items[0]['variant_id']}", headers=h)
    assert r.status_code == 404 and error_of(r)["field"] == "variant_id"


def test_content_in_a_sending_platforms_dialect(api: httpx.Client, content_token: str, desk: Desk) -> None:
    h = auth(content_token)
    bad = desk.add_variant("spring-generic", {"subject": "Hi", "body": "Near {{ city }}"}, actor="ana")
    desk.submit(bad.id, actor="ana")
    desk.approve(bad.id, actor="ben", comment="ok")
    plain = api.get("/v1/content", headers=h).json()
    r = api.get("/v1/content", params={"dialect": "braze"}, headers=h)
    assert r.status_code == 200, r.text
    braze = r.json()
    assert braze["dialect"] == "braze" and r.headers["etag"] != api.get("/v1/content", headers=h).headers["etag"]
    assert [s["variant_id"] for s in braze["skipped"]] == [bad.id] and braze["skipped"][0]["field"] == "body"
    assert braze["count"] == plain["count"] - 1 and bad.id not in [i["variant_id"] for i in braze["items"]]
    first = braze["items"][0]
    assert first["fields"] == desk.dialect_records("braze")[0][0]["fields"]
    assert first["fields"] != plain["items"][0]["fields"]  # the placeholder is written Braze's way
    one = api.get(f"/v1/content/{first['variant_id']}", params={"dialect": "braze"}, headers=h)
    assert one.json() == first and one.headers["etag"].endswith('-braze"')
    r = api.get(f"/v1/content/{bad.id}", params={"dialect": "braze"}, headers=h)
    assert r.status_code == 422 and error_of(r)["code"] == "untranslatable" and "city" in r.text


# -- decide ------------------------------------------------------------------------

def test_decide_answers_decision_message_and_trace(api: httpx.Client, campaign_token: str) -> None:
    r = api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["contact_id"] == "C1003" and d["campaign_id"] == "spring-boots"
    assert d["outcome"] in ("selected", "holdout") and d["trace"]
    if d["outcome"] == "selected":
        assert d["message"]["subject"] == "Care for your boots, Isla" and d["variant"]["content_hash"]


def test_a_new_approval_is_decided_with_at_once(api: httpx.Client, campaign_token: str, desk: Desk) -> None:
    first = api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token)).json()
    v = desk.add_variant("boots-onboarding", {"subject": "Second", "body": "Another."}, actor="ana")
    desk.submit(v.id, actor="ana")
    desk.approve(v.id, actor="ben", comment="ok")
    after = api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token)).json()
    eligible = [s for s in after["trace"] if s["stage"] == "variants"][0]["actual"]
    assert v.id in eligible and v.id not in [s for s in first["trace"] if s["stage"] == "variants"][0]["actual"]


def test_history_counts_towards_the_frequency_cap(api: httpx.Client, campaign_token: str) -> None:
    sent = (clock.now() - timedelta(days=1)).isoformat()
    body = {"contact": CONTACT, "history": [{"channel": "email", "sent_at": sent}] * 2}
    d = api.post(DECIDE, json=body, headers=auth(campaign_token)).json()
    assert d["outcome"] == "capped" and d["reason"] == "frequency-cap"
    body = {"contact": CONTACT, "history": [{"channel": "sms", "sent_at": sent}] * 2}
    assert api.post(DECIDE, json=body, headers=auth(campaign_token)).json()["outcome"] != "capped"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"contact": "C1003"}, 422, "contact"),
    ({"contact": {"first_name": "Isla"}}, 422, "contact.contact_id"),
    ({}, 422, "contact"),
    ({"contact": CONTACT, "extra": 1}, 422, "extra"),
    ({"contact": CONTACT, "history": [{"channel": "email"}]}, 422, "history.0.sent_at"),
    ({"contact": CONTACT, "history": [{"channel": "fax", "sent_at": "2026-11-01"}]}, 422, "history.0.channel"),
    ({"contact": CONTACT, "history": [{"channel": "email", "sent_at": "2099-01-01T00:00:00Z"}]}, 422,
     "history.0.sent_at"),
    ({"contact": CONTACT, "history": "x"}, 422, "history"),
    ({"contact": {**CONTACT, "lifecycle_stage": "dormant", "last_purchase_at": "2026-13-45"}}, 422,
     "contact.last_purchase_at"),
])
def test_bad_input_is_a_4xx_naming_the_field(api: httpx.Client, campaign_token: str, body: object,
                                             status: int, field: str) -> None:
    r = api.post(DECIDE, json=body, headers=auth(campaign_token))
    assert r.status_code == status, r.text
    assert error_of(r)["field"] == field


def test_malformed_json_unknown_campaign_and_oversize_body(serve, desk: Desk, campaign_token: str) -> None:  # type: ignore[no-untyped-def]
    nope = desk.create_token("nope", "campaign:nope", actor="admin")[1]
    with serve(max_body_bytes=2048) as api:
        h = {**auth(campaign_token), "Content-Type": "application/json"}
        r = api.post(DECIDE, content=b'{"contact": {', headers=h)
        assert r.status_code == 400 and error_of(r)["code"] == "malformed_json"
        r = api.post("/v1/campaigns/nope/decide", json={"contact": CONTACT}, headers=auth(nope))
        assert r.status_code == 404 and error_of(r)["field"] == "campaign_id"
        big = {"contact": {**CONTACT, "notes": "x" * 5000}}
        r = api.post(DECIDE, json=big, headers=auth(campaign_token))
        assert r.status_code == 413 and error_of(r)["field"] == "body"

        def chunks():  # type: ignore[no-untyped-def]
            yield json.dumps(big).encode()

        r = api.post(DECIDE, content=chunks(), headers=h)  # chunked: no Content-Length
        assert r.status_code == 413


# -- batch -------------------------------------------------------------------------

def test_batch_answers_each_item_on_its_own(serve, campaign_token: str) -> None:  # type: ignore[no-untyped-def]
    with serve(max_batch=3) as api:
        url = DECIDE + "/batch"
        items = [{"contact": CONTACT}, {"contact": {"first_name": "x"}}, "nonsense"]
        r = api.post(url, json={"items": items}, headers=auth(campaign_token))
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert results[0]["ok"] and results[0]["decision"]["contact_id"] == "C1003"
        assert not results[1]["ok"] and results[1]["error"]["field"] == "items.1.contact.contact_id"
        assert not results[2]["ok"] and results[2]["error"]["field"] == "items.2"
        r = api.post(url, json={"items": [{"contact": CONTACT}] * 4}, headers=auth(campaign_token))
        assert r.status_code == 422 and error_of(r)["field"] == "items"


# -- limits and audit ----------------------------------------------------------------

def test_rate_limit_is_per_token_with_retry_after(serve, desk: Desk, content_token: str) -> None:  # type: ignore[no-untyped-def]
    other = desk.create_token("other", "content", actor="admin")[1]
    with serve(rate_per_second=0.001, burst=2) as api:
        codes = [api.get("/v1/content", headers=auth(content_token)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = api.get("/v1/content", headers=auth(content_token))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert error_of(r)["code"] == "rate_limited"
        assert api.get("/v1/content", headers=auth(other)).status_code == 200


def test_use_is_audited_once_an_hour_without_contact_data(api: httpx.Client, desk: Desk,
                                                          campaign_token: str, content_token: str) -> None:
    for _ in range(5):
        assert api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token)).status_code == 200
    api.get("/v1/content", headers=auth(content_token))
    uses = desk.audit_log(action="token.use")
    assert sorted(e.data["endpoint"] for e in uses) == ["GET /v1/content", "POST /v1/campaigns/{campaign_id}/decide"]
    assert all(e.actor.startswith("token:T") for e in uses)
    everything = json.dumps([e.model_dump(mode="json") for e in desk.audit_log()])
    assert "C1003" not in everything and "Isla" not in everything
    dump = "\n".join(desk.db.iterdump())
    assert "Isla" not in dump and "C1003" not in dump
    assert all(t.last_used_at is not None for t in desk.list_tokens())
    # the next hour: one more record, counting the requests of the hour before
    clock.freeze(clock.now() + timedelta(hours=1))
    api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token))
    latest = desk.audit_log(action="token.use")[-1]
    assert latest.data == {"endpoint": "POST /v1/campaigns/{campaign_id}/decide", "since_last": 5}
    ok, message = desk.verify_audit()
    assert ok, message


def test_a_bug_is_a_json_500_and_one_log_line_without_contact_data(
    api: httpx.Client, campaign_token: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    from copydesk.api import app as app_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom for Isla")

    monkeypatch.setattr(app_module, "decide_contact", broken)
    with caplog.at_level(logging.ERROR, logger="copydesk.api"):
        r = api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token))
    assert r.status_code == 500 and error_of(r)["code"] == "internal" and "Isla" not in r.text
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "copydesk.api"]
    assert lines == ["POST /v1/campaigns/{campaign_id}/decide -> 500 RuntimeError (a bug: please report it)"]
    assert "Traceback" not in caplog.text and "Isla" not in caplog.text


def test_no_endpoint_writes_the_library(api: httpx.Client, desk: Desk, campaign_token: str,
                                        content_token: str) -> None:
    spec = api.get("/openapi.json").json()
    assert {m for ops in spec["paths"].values() for m in ops} == {"get", "post"}
    assert all("/decide" in p for p, ops in spec["paths"].items() if "post" in ops)

    def tables() -> dict[str, list[object]]:
        names = [r[0] for r in desk.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: desk.db.execute(f'SELECT * FROM "{n}"').fetchall() for n in names
                if n not in ("audit_events", "audit_head", "api_tokens")}

    # the first use of each token on each endpoint is audited: get those out of the way
    api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token))
    api.post(DECIDE + "/batch", json={"items": [{"contact": CONTACT}]}, headers=auth(campaign_token))
    api.get("/v1/content", headers=auth(content_token))
    before, events = tables(), len(desk.audit_log())
    sent = (clock.now() - timedelta(days=1)).isoformat()
    for _ in range(3):
        api.post(DECIDE, json={"contact": CONTACT, "history": [{"channel": "email", "sent_at": sent}]},
                 headers=auth(campaign_token))
        api.post(DECIDE + "/batch", json={"items": [{"contact": CONTACT}] * 3}, headers=auth(campaign_token))
        api.get("/v1/content", headers=auth(content_token))
    assert tables() == before and len(desk.audit_log()) == events


def test_a_changed_campaign_file_or_template_is_used_at_once(serve, ws: Workspace,  # type: ignore[no-untyped-def]
                                                             campaign_token: str) -> None:
    with serve(file_check_seconds=0) as api:
        _changed_files_are_used(api, ws, auth(campaign_token))


def _changed_files_are_used(api: httpx.Client, ws: Workspace, h: dict[str, str]) -> None:
    before = api.post(DECIDE, json={"contact": CONTACT}, headers=h).json()
    assert before["outcome"] == "selected", before
    path = ws.campaigns_dir / "spring-boots.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("holdout: 0.05", "holdout: 0.99"), encoding="utf-8")
    held = api.post(DECIDE, json={"contact": CONTACT}, headers=h).json()
    assert held["outcome"] == "holdout"
    path.write_text(path.read_text(encoding="utf-8").replace("holdout: 0.99", "holdout: 0.05"), encoding="utf-8")
    txt = ws.templates_dir / "email" / "default.txt.j2"
    txt.write_text("CHANGED {{ message.subject }}\n", encoding="utf-8")
    after = api.post(DECIDE, json={"contact": CONTACT}, headers=h).json()
    assert after["message"]["rendered_txt"].startswith("CHANGED Care for your boots")


def test_a_broken_campaign_or_template_is_a_503_until_fixed(serve, ws: Workspace,  # type: ignore[no-untyped-def]
                                                           campaign_token: str) -> None:
    with serve(file_check_seconds=0) as api:
        _broken_files_are_refused(api, ws, auth(campaign_token))


def _broken_files_are_refused(api: httpx.Client, ws: Workspace, h: dict[str, str]) -> None:
    path = ws.campaigns_dir / "spring-boots.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("holdout: 0.05", "holdout: 2"), encoding="utf-8")
    r = api.post(DECIDE, json={"contact": CONTACT}, headers=h)
    assert r.status_code == 503 and error_of(r)["code"] == "campaign_invalid"
    path.write_text(good, encoding="utf-8")
    assert api.post(DECIDE, json={"contact": CONTACT}, headers=h).status_code == 200
    folder = ws.templates_dir / "email"
    moved = ws.root / "moved"
    folder.rename(moved)
    r = api.post(DECIDE, json={"contact": CONTACT}, headers=h)
    assert r.status_code == 503 and error_of(r)["code"] == "template_invalid"
    moved.rename(folder)
    assert api.post(DECIDE, json={"contact": CONTACT}, headers=h).json()["message"]["rendered_txt"]


def test_a_broken_audit_chain_stops_every_answer(api: httpx.Client, desk: Desk, campaign_token: str,
                                                content_token: str) -> None:
    assert api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token)).status_code == 200
    assert api.get("/v1/content", headers=auth(content_token)).status_code == 200
    desk.db.execute("DELETE FROM audit_head")  # the chain no longer ends at its head
    desk.db.conn.commit()
    r = api.post(DECIDE, json={"contact": CONTACT}, headers=auth(campaign_token))
    assert r.status_code == 503 and error_of(r)["code"] == "audit_integrity"
    r = api.get("/v1/content", headers=auth(content_token))
    assert r.status_code == 503 and error_of(r)["code"] == "audit_integrity"
    # a token's first use in a new hour cannot be recorded either: refused, not served unaudited
    clock.freeze(clock.now() + timedelta(hours=1))
    r = api.get("/v1/content", headers=auth(content_token))
    assert r.status_code == 503 and error_of(r)["code"] == "audit_unavailable"
