"""A freshly migrated library has exactly this schema."""

from copydesk.db import open_db

EXPECTED = {
    "api_tokens": ["id", "name", "scope", "secret_sha256", "created_by", "created_at", "expires_at", "revoked_at",
                   "revoked_by", "last_used_at"],
    "_sqlite_migrations": ["id", "migration_set", "name", "applied_at"],
    "users": ["name", "password_hash", "roles", "active", "created_at"],
    "briefs": ["id", "title", "stage", "channel", "segment", "data", "source", "version",
               "created_by", "created_at", "updated_at"],
    "variants": ["id", "brief_id", "channel", "stage", "segment", "status", "current_revision",
                 "approved_revision", "approved_hash", "approved_by", "approved_at", "review_by",
                 "created_by", "created_at", "updated_at"],
    "revisions": ["id", "variant_id", "number", "channel", "fields", "text", "content_hash", "author",
                  "created_at", "provenance", "findings"],
    "revisions_fts": ["text"],
    "reviews": ["id", "variant_id", "revision", "content_hash", "decision", "reviewer", "comment",
                "review_by", "at"],
    "waivers": ["id", "variant_id", "revision", "rule_id", "field", "start", "end", "reason", "by", "at"],
    "audit_events": ["seq", "at", "actor", "action", "entity", "entity_id", "data", "prev_hash", "hash"],
    "audit_head": ["id", "seq", "hash"],
    "outcomes": ["id", "contact_id", "campaign_id", "event", "at", "value", "source", "imported_at"],
    "sends": ["id", "contact_id", "campaign_id", "channel", "variant_id", "content_hash", "rule_id",
              "stage", "holdout", "sent_at"],
    "signin_failures": ["id", "name", "at"],
    "sessions": ["id", "user_name", "created_at", "last_seen_at", "expires_at"],
}


def test_fresh_schema_is_exact(tmp_path):
    db = open_db(tmp_path / "lib.db")
    tables = {t.name: [c.name for c in t.columns] for t in db.tables
              if not t.name.startswith("revisions_fts_")}
    for name, columns in EXPECTED.items():
        assert tables.pop(name) == columns, name
    # tables added by later migrations must be listed here too
    assert not tables, f"unexpected tables {sorted(tables)}"
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    triggers = {t.name for t in db.triggers}
    assert {"audit_events_no_update", "audit_events_no_delete"} <= triggers


def test_migrating_twice_is_a_no_op(tmp_path):
    open_db(tmp_path / "lib.db").close()
    db = open_db(tmp_path / "lib.db")
    names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names))
    assert names[0] == "m001_users"


def test_a_send_is_unique_per_campaign_contact_revision_and_day(tmp_path):
    db = open_db(tmp_path / "lib.db")
    unique = {row[1]: row[2] for row in db.execute("PRAGMA index_list('sends')")}
    assert unique["sends_once_a_day"] == 1
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'sends_once_a_day'").fetchone()[0]
    assert "COALESCE(content_hash, '')" in sql and "substr(sent_at, 1, 10)" in sql


def test_sends_recorded_twice_a_day_before_the_index_keep_their_earliest_row(tmp_path):
    path = tmp_path / "lib.db"
    db = open_db(path)
    # the library as it was before m009: no index, duplicates recorded with other --sent-at
    db.execute("DROP INDEX sends_once_a_day")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm009_sends_once_a_day'")
    rows = [
        ("C1", "spring", "h1", 0, "2026-03-02T15:00:00+00:00"),
        ("C1", "spring", "h1", 0, "2026-03-02T09:00:00+00:00"),  # earliest that day: kept
        ("C1", "spring", "h1", 0, "2026-03-03T09:00:00+00:00"),  # another day: kept
        ("C1", "spring", "h2", 0, "2026-03-02T16:00:00+00:00"),  # another revision: kept
        ("C1", "autumn", "h1", 0, "2026-03-02T17:00:00+00:00"),  # another campaign: kept
        ("C2", "spring", None, 1, "2026-03-02T10:00:00+00:00"),  # holdout (no hash): kept
        ("C2", "spring", None, 1, "2026-03-02T11:00:00+00:00"),  # same holdout again: removed
    ]
    for cid, campaign, digest, holdout, at in rows:
        db.execute("INSERT INTO sends (contact_id, campaign_id, channel, content_hash, holdout, sent_at) "
                   "VALUES (?, ?, 'email', ?, ?, ?)", [cid, campaign, digest, holdout, at])
    db.conn.commit()
    db.close()
    db = open_db(path)
    left = sorted(db.execute("SELECT contact_id, campaign_id, content_hash, sent_at FROM sends").fetchall())
    assert left == [
        ("C1", "autumn", "h1", "2026-03-02T17:00:00+00:00"),
        ("C1", "spring", "h1", "2026-03-02T09:00:00+00:00"),
        ("C1", "spring", "h1", "2026-03-03T09:00:00+00:00"),
        ("C1", "spring", "h2", "2026-03-02T16:00:00+00:00"),
        ("C2", "spring", None, "2026-03-02T10:00:00+00:00"),
    ]
    assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sends_once_a_day'").fetchone()
