"""A freshly migrated library has exactly this schema."""

from copydesk.db import open_db

EXPECTED = {
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
