-- Less work per recorded event for the single writer (docs/benchmarks.md, "Audit store";
-- docs/decisions.md).
--
-- Event ids are UUIDv7 values, unique by construction, and nothing looks an event up by
-- its id (collectors use it to drop duplicates). Its unique index cost a B-tree search
-- and insert per event.
DROP INDEX events_event_id;

-- Kinds, sessions and actors are found through the full-text index instead of B-tree
-- indexes: after its text, each event's row there holds a token for its kind, session and
-- actor (char(57344), a tag, the value; a session without dashes and only its last 16
-- characters; src/search_text.rs builds the same). The two kind indexes cost the writer
-- more than anything but the full-text index itself.
DROP INDEX events_kind;
DROP INDEX events_session_kind;

-- The full-text index no longer keeps each row's token count (`columnsize = 0`): only
-- ranking functions read it, and search orders by recency. Every event now has a row,
-- text or not, for its filter tokens; the text is copied over as it was indexed.
CREATE VIRTUAL TABLE events_text USING fts5 (text, columnsize = 0);
INSERT INTO events_text (events_text, rank) VALUES ('automerge', 16);
INSERT INTO events_text (rowid, text)
SELECT e.id,
       COALESCE(f.text || char(10), '')
           || char(57344) || 'k' || e.kind || ' '
           || char(57344) || 's' || substr(replace(e.session_id, '-', ''), -16) || ' '
           || char(57344) || 'a' || e.actor
FROM events e LEFT JOIN events_fts f ON f.rowid = e.id;

DROP TRIGGER events_fts_delete;
DROP TABLE events_fts;
ALTER TABLE events_text RENAME TO events_fts;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events
BEGIN
    DELETE FROM events_fts WHERE rowid = old.id;
END;
