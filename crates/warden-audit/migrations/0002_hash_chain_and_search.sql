-- Tamper evidence and search.
--
-- Each event carries a unique id (for de-duplication downstream) and the SHA-256 link of
-- its session's hash chain: hash = sha256(previous hash || stored record bytes).
-- Rows recorded before this migration have no link; `warden audit verify` reports them
-- as unchained rather than as broken.
ALTER TABLE events ADD COLUMN event_id TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;

CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE INDEX events_kind ON events (kind, id);
CREATE INDEX events_created_at ON events (created_at);

-- Full-text search over what was recorded (prompts, commands, hosts, paths).
CREATE VIRTUAL TABLE events_fts USING fts5 (payload, content = 'events', content_rowid = 'id');

INSERT INTO events_fts (rowid, payload) SELECT id, payload FROM events;

CREATE TRIGGER events_fts_insert AFTER INSERT ON events
BEGIN
    INSERT INTO events_fts (rowid, payload) VALUES (new.id, new.payload);
END;
