"""API tokens: admin-only, shown once, stored as a sha256, expiring, revocable, audited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from copydesk import clock
from copydesk.errors import AuthenticationError, InputError, PermissionDenied
from copydesk.services import Desk


def test_a_token_is_shown_once_and_stored_as_its_sha256(desk: Desk) -> None:
    token, secret = desk.create_token("braze", "campaign:spring-boots", actor="admin")
    assert secret.startswith(f"cdk_{token.id}_") and len(secret) > 40
    rows = desk.db.execute("SELECT * FROM api_tokens").fetchall()
    assert len(rows) == 1
    assert secret not in repr(rows)
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]
    assert desk.authenticate_token(secret).id == token.id
    event = desk.audit_log(action="token.create")[0]
    assert event.actor == "admin" and event.entity_id == token.id and secret not in str(event.data)


def test_only_an_admin_creates_or_revokes(desk: Desk) -> None:
    with pytest.raises(PermissionDenied, match="admin role"):
        desk.create_token("x", "content", actor="max")
    token, _ = desk.create_token("x", "content", actor="admin")
    with pytest.raises(PermissionDenied):
        desk.revoke_token(token.id, actor="max")


@pytest.mark.parametrize(("scope", "expires", "field"), [
    ("campaign:", None, "scope"), ("everything", None, "scope"), ("campaign:../x", None, "scope"),
    ("content", "soon", "expires"), ("content", "2001-01-01", "expires"), ("content", "9999d", "expires"),
])
def test_bad_scope_or_expiry_names_the_field(desk: Desk, scope: str, expires: str | None, field: str) -> None:
    with pytest.raises(InputError) as caught:
        desk.create_token("x", scope, actor="admin", expires=expires)
    assert caught.value.field == field


def test_expiry_takes_days_a_date_or_a_moment(desk: Desk) -> None:
    at = clock.now()
    clock.freeze(at)
    day = (at + timedelta(days=10)).date()
    assert desk.create_token("a", "content", actor="admin", expires="30d")[0].expires_at == at + timedelta(days=30)
    until = desk.create_token("b", "content", actor="admin", expires=day.isoformat())[0].expires_at
    assert until.date() == day and until.hour == 23
    moment = (at + timedelta(hours=5)).replace(microsecond=0)
    assert desk.create_token("c", "content", actor="admin", expires=moment.isoformat())[0].expires_at == moment
    assert desk.create_token("d", "content", actor="admin")[0].expires_at == at + timedelta(days=90)


def test_expiry_and_revocation_are_enforced(desk: Desk) -> None:
    token, secret = desk.create_token("x", "content", actor="admin", expires="2d")
    clock.freeze(clock.now() + timedelta(days=3))
    with pytest.raises(AuthenticationError):
        desk.authenticate_token(secret)
    clock.freeze(None)
    desk.authenticate_token(secret)
    desk.revoke_token(token.id, actor="admin")
    with pytest.raises(AuthenticationError):
        desk.authenticate_token(secret)
    assert desk.audit_log(action="token.revoke")[0].entity_id == token.id
    with pytest.raises(InputError, match="already revoked"):
        desk.revoke_token(token.id, actor="admin")


def test_a_tampered_or_unknown_token_is_refused_alike(desk: Desk) -> None:
    _, secret = desk.create_token("x", "content", actor="admin")
    for wrong in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), "cdk_T99_" + secret.split("_", 2)[2],
                  "", "Bearer", secret + "x"):
        with pytest.raises(AuthenticationError, match="invalid, expired or revoked"):
            desk.authenticate_token(wrong)


def test_token_events_keep_the_audit_verifiable(desk: Desk) -> None:
    token, secret = desk.create_token("x", "campaign:spring-boots", actor="admin")
    desk.record_token_use(desk.authenticate_token(secret), "POST /v1/campaigns/{campaign_id}/decide", since_last=0)
    desk.revoke_token(token.id, actor="admin")
    ok, message = desk.verify_audit()
    assert ok, message


def test_cli_create_list_revoke(cli, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    root = str(desk.workspace.root)  # type: ignore[union-attr]
    r = cli("-w", root, "token", "create", "--name", "braze", "--scope", "content", "--expires", "30d",
            "--as", "admin")
    assert r.code == 0, r
    secret = r.out.strip()
    assert secret.startswith("cdk_T1_") and "shown once" in r.err
    listed = cli("-w", root, "token", "list")
    assert listed.code == 0 and "T1" in listed.out and "active" in listed.out and secret not in listed.out
    assert cli("-w", root, "token", "revoke", "T1", "--as", "max").code == 1
    r = cli("-w", root, "token", "revoke", "T1", "--as", "admin")
    assert r.code == 0 and "revoked" in r.out
    assert "revoked" in cli("-w", root, "token", "list").out
    bad = cli("-w", root, "token", "create", "--name", "x", "--scope", "all", "--as", "admin")
    assert bad.code == 1 and "field 'scope'" in bad.err and "Traceback" not in bad.err


def test_audit_verify_names_a_token_written_outside_copydesk(desk: Desk) -> None:
    token, secret = desk.create_token("x", "campaign:spring-boots", actor="admin")
    assert desk.verify_audit()[0]
    desk.db.execute("UPDATE api_tokens SET scope = 'content' WHERE id = ?", [token.id])
    desk.db.execute(
        "INSERT INTO api_tokens (id, name, scope, secret_sha256, created_by, created_at, expires_at) "
        "VALUES ('T9', 'forged', 'content', ?, 'admin', '2026-01-01', '2099-01-01')", ["0" * 64])
    desk.db.conn.commit()
    ok, message = desk.verify_audit()
    assert not ok
    assert f"API token '{token.id}' differs from what event" in message
    assert "API token 'T9' has no token.create event" in message
