-- Retention: old events may be deleted, but only by a retention run, which leaves an
-- anchor (the last deleted link) per session so the remaining chain still verifies.
CREATE TABLE chain_anchors (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (session_id),
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A retention run inserts a row here, deletes, and removes it, in one transaction.
CREATE TABLE retention_in_progress (started_at INTEGER NOT NULL);

CREATE TABLE retention_runs (
    id             INTEGER PRIMARY KEY,
    ran_at         INTEGER NOT NULL,
    cutoff         INTEGER NOT NULL,
    events_deleted INTEGER NOT NULL
);

DROP TRIGGER events_are_append_only_delete;

CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM retention_in_progress)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- Keep the full-text index in step with deletions.
CREATE TRIGGER events_fts_delete AFTER DELETE ON events
BEGIN
    INSERT INTO events_fts (events_fts, rowid, payload) VALUES ('delete', old.id, old.payload);
END;
