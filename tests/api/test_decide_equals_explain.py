"""``POST /decide`` gives what ``copydesk campaign explain`` (services.campaigns.preview)
gives for the same contact: every field of the decision, the trace and the message,
except the time it was made."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from copydesk import clock
from copydesk.api.decisions import decision_json
from copydesk.models import SendRecord
from copydesk.render.audience import Record, read_rows
from copydesk.services import Desk
from copydesk.services import campaigns as svc
from copydesk.workspace import Workspace


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """A typed audience row as a sender would post it (dates as ISO text)."""
    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date | datetime) else v
    return {k: plain(v) for k, v in row.items()}


def without_time(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "decided_at"}


def test_every_sample_contact_decides_as_explain(api: httpx.Client, ws: Workspace, desk: Desk,
                                                 campaign_token: str) -> None:
    clock.freeze(clock.now())
    cf = svc.open_campaign(ws, "spring-boots")
    rows = [item.data for item in read_rows(ws.audiences_dir / "sample-contacts.csv") if isinstance(item, Record)]
    assert len(rows) == 40
    outcomes = set()
    for row in rows:
        expected = decision_json(svc.preview(desk, cf, dict(row)), clock.now())
        r = api.post("/v1/campaigns/spring-boots/decide", json={"contact": as_json(row)},
                     headers={"Authorization": f"Bearer {campaign_token}"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert without_time(got) == json.loads(json.dumps(without_time(expected))), row["contact_id"]
        outcomes.add(got["outcome"])
    assert {"selected", "suppressed"} <= outcomes


def test_history_given_in_the_call_counts_as_a_history_file(api: httpx.Client, ws: Workspace, desk: Desk,
                                                           campaign_token: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(clock.now())
    cf = svc.open_campaign(ws, "spring-boots")
    contact = svc.find_contact(ws.audiences_dir / "sample-contacts.csv", "C1003")
    sent = [(clock.now() - timedelta(days=d)).isoformat() for d in (1, 3, 9)]
    history = tmp_path / "history.jsonl"
    history.write_text("".join(json.dumps({"contact_id": "C1003", "campaign_id": "other", "channel": "email",
                                           "sent_at": s}) + "\n" for s in sent[:1] + sent[2:]), encoding="utf-8")
    # and one send in the library (the cap counts both)
    desk.record_sends([SendRecord(contact_id="C1003", campaign_id="spring-boots", channel="email",
                                  sent_at=clock.now() - timedelta(days=2))], actor="max")
    expected = decision_json(svc.preview(desk, cf, dict(contact), history_file=history), clock.now())
    body = {"contact": as_json(contact),
            "history": [{"campaign_id": "other", "channel": "email", "sent_at": s} for s in sent[:1] + sent[2:]]}
    got = api.post("/v1/campaigns/spring-boots/decide", json=body,
                   headers={"Authorization": f"Bearer {campaign_token}"}).json()
    assert without_time(got) == json.loads(json.dumps(without_time(expected)))
    cap = [s for s in got["trace"] if s["stage"] == "frequency_cap"][0]
    assert cap["actual"] == 2  # the send 9 days ago is outside the 7-day window
    assert got["outcome"] == "capped"


def test_the_cli_explain_shows_the_same_message(cli, api: httpx.Client, ws: Workspace,  # type: ignore[no-untyped-def]
                                               campaign_token: str) -> None:
    contact = svc.find_contact(ws.audiences_dir / "sample-contacts.csv", "C1003")
    got = api.post("/v1/campaigns/spring-boots/decide", json={"contact": as_json(contact)},
                   headers={"Authorization": f"Bearer {campaign_token}"}).json()
    r = cli("-w", str(ws.root), "explain", "spring-boots", "--audience",
            str(ws.audiences_dir / "sample-contacts.csv"), "--contact", "C1003")
    assert r.code == 0, r
    if got["outcome"] == "selected":
        assert f"send variant {got['variant']['variant_id']}" in r.out
        assert f"subject: {got['message']['subject']}" in r.out
    else:
        assert got["reason"] in r.out
