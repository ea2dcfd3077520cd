-- Full-text search indexes the text values of each event (prompts, commands, paths,
-- hosts, outputs), decoded, not its raw JSON: the writer adds them in the same
-- transaction as the events, with multi-row inserts, instead of a trigger per row.
-- The index keeps its own copy of that text, so deleting by rowid works everywhere (a
-- contentless table would need SQLite 3.43, newer than the sqlite3 CLI of Debian 12).
DROP TRIGGER events_fts_insert;
DROP TRIGGER events_fts_delete;
DROP TABLE events_fts;

CREATE VIRTUAL TABLE events_fts USING fts5 (text);
-- Merge index segments 16 at a time (default 4): each commit adds a segment, and
-- merging less often made sustained ingest ~20 % faster with no measurable cost to
-- search (docs/benchmarks.md).
INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);

-- Events recorded before: their whole stored JSON (a superset of what is indexed now).
INSERT INTO events_fts (rowid, text) SELECT id, payload FROM events;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events
BEGIN
    DELETE FROM events_fts WHERE rowid = old.id;
END;
