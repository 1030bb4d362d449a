"""Schema changes, as an append-only list of small named migrations (sqlite-utils
``Migrations``: each one and its record commit in one transaction). Never edit a
migration that has shipped; add a new one."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("copydesk")


@migrations()
def m001_users(db: sqlite_utils.Database) -> None:
    db.table("users").create(
        {
            "name": str,
            "password_hash": str,
            "roles": str,
            "active": int,
            "created_at": str,
        },
        pk="name",
    )


@migrations()
def m002_briefs(db: sqlite_utils.Database) -> None:
    db.table("briefs").create(
        {
            "id": str,
            "title": str,
            "stage": str,
            "channel": str,
            "segment": str,
            "data": str,
            "source": str,
            "version": int,
            "created_by": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )


@migrations()
def m003_variants(db: sqlite_utils.Database) -> None:
    db.table("variants").create(
        {
            "id": str,
            "brief_id": str,
            "channel": str,
            "stage": str,
            "segment": str,
            "status": str,
            "current_revision": int,
            "approved_revision": int,
            "approved_hash": str,
            "approved_by": str,
            "approved_at": str,
            "review_by": str,
            "created_by": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("brief_id", "briefs", "id")],
        not_null={"brief_id", "channel", "stage", "status", "current_revision"},
    )
    db.table("variants").create_index(["status", "stage", "channel"])
    db.table("revisions").create(
        {
            "id": int,
            "variant_id": str,
            "number": int,
            "channel": str,
            "fields": str,
            "text": str,
            "content_hash": str,
            "author": str,
            "created_at": str,
            "provenance": str,
            "findings": str,
        },
        pk="id",
        foreign_keys=[("variant_id", "variants", "id")],
        not_null={"variant_id", "number", "content_hash", "author"},
    )
    db.table("revisions").create_index(["variant_id", "number"], unique=True)
    db.table("revisions").enable_fts(["text"], create_triggers=True, tokenize="porter")


@migrations()
def m004_reviews(db: sqlite_utils.Database) -> None:
    db.table("reviews").create(
        {
            "id": int,
            "variant_id": str,
            "revision": int,
            "content_hash": str,
            "decision": str,
            "reviewer": str,
            "comment": str,
            "review_by": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("variant_id", "variants", "id")],
    )
    db.table("waivers").create(
        {
            "id": int,
            "variant_id": str,
            "revision": int,
            "rule_id": str,
            "field": str,
            "start": int,
            "end": int,
            "reason": str,
            "by": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("variant_id", "variants", "id")],
    )


@migrations()
def m005_audit(db: sqlite_utils.Database) -> None:
    db.table("audit_events").create(
        {
            "seq": int,
            "at": str,
            "actor": str,
            "action": str,
            "entity": str,
            "entity_id": str,
            "data": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
    )
    db.table("audit_events").create_index(["entity", "entity_id"])
    db.table("audit_head").create({"id": int, "seq": int, "hash": str}, pk="id")
    # Append-only at the database level too; verification catches whoever drops these.
    db.execute(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    )


@migrations()
def m006_sends(db: sqlite_utils.Database) -> None:
    db.table("sends").create(
        {
            "id": int,
            "contact_id": str,
            "campaign_id": str,
            "channel": str,
            "variant_id": str,
            "content_hash": str,
            "rule_id": str,
            "stage": str,
            "holdout": int,
            "sent_at": str,
        },
        pk="id",
        not_null={"contact_id", "campaign_id", "channel", "holdout", "sent_at"},
    )
    db.table("sends").create_index(["channel", "sent_at"])
    db.table("sends").create_index(["campaign_id", "contact_id"])
    db.table("sends").create_index(["contact_id", "campaign_id", "channel", "sent_at"], unique=True)


@migrations()
def m007_outcomes(db: sqlite_utils.Database) -> None:
    from copydesk.measure.tables import migrate_outcomes

    migrate_outcomes(db)


@migrations()
def m008_signin_failures(db: sqlite_utils.Database) -> None:
    # Failed sign-ins since each name's last success: the throttle reads them, so it holds
    # across processes (the audit log keeps the record; this table is pruned).
    db.table("signin_failures").create({"id": int, "name": str, "at": str}, pk="id", not_null={"name", "at"})
    db.table("signin_failures").create_index(["name", "at"])
    db.table("signin_failures").create_index(["at"])


@migrations()
def m009_sends_once_a_day(db: sqlite_utils.Database) -> None:
    # A send is one per campaign, contact, revision (content hash; none for a holdout) and
    # UTC day, so recording the same messages with another --sent-at that day adds nothing.
    # sent_at is stored as ISO 8601 in UTC: its first ten characters are the UTC day.
    # Duplicates recorded before this keep their earliest row.
    db.execute(
        "DELETE FROM sends WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER ("
        "PARTITION BY campaign_id, contact_id, COALESCE(content_hash, ''), substr(sent_at, 1, 10) "
        "ORDER BY sent_at, id) AS n FROM sends) WHERE n > 1)"
    )
    db.execute(
        "CREATE UNIQUE INDEX sends_once_a_day ON sends "
        "(campaign_id, contact_id, COALESCE(content_hash, ''), substr(sent_at, 1, 10))"
    )


@migrations()
def m010_api_tokens(db: sqlite_utils.Database) -> None:
    # Tokens for the read-only HTTP API (copydesk serve). Only the sha256 of each secret is
    # kept; the secret is shown once. last_used_at is coarse (it moves with the audited
    # use, at most once per token and endpoint an hour), so a busy API writes little.
    db.table("api_tokens").create(
        {
            "id": str,
            "name": str,
            "scope": str,
            "secret_sha256": str,
            "created_by": str,
            "created_at": str,
            "expires_at": str,
            "revoked_at": str,
            "revoked_by": str,
            "last_used_at": str,
        },
        pk="id",
        not_null={"name", "scope", "secret_sha256", "created_by", "created_at", "expires_at"},
    )

@migrations()
def m011_sessions(db: sqlite_utils.Database) -> None:
    # App sign-in sessions (copydesk.services.sessions). The id is the sha256 of the
    # cookie's random secret, never the secret itself; revoking a session deletes its row.
    db.table("sessions").create(
        {"id": str, "user_name": str, "created_at": str, "last_seen_at": str, "expires_at": str},
        pk="id",
        not_null={"user_name", "created_at", "last_seen_at", "expires_at"},
    )
    db.table("sessions").create_index(["user_name"])


def migrate(db: sqlite_utils.Database) -> None:
    """Apply every pending migration."""
    migrations.apply(db)
