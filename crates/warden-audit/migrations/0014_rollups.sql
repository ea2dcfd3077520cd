-- Insights: daily counts kept in the same transaction as the events they count (rollup.rs
-- names each metric and its key), so a month's figures read a few thousand rows instead
-- of scanning millions of events. Derived from the events, like the full-text index: not
-- part of the hash chain.
CREATE TABLE rollups (
    -- The UTC day: created_at / 86400000.
    day    INTEGER NOT NULL,
    metric TEXT NOT NULL,
    key    TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (day, metric, key)
) WITHOUT ROWID;

-- Events recorded before this migration are counted afterwards, newest first, a chunk per
-- transaction (rollup.rs): every event below `below_id` is still to be counted. Events
-- written from now on are counted as they are committed.
CREATE TABLE rollup_backfill (below_id INTEGER NOT NULL);
INSERT INTO rollup_backfill SELECT COALESCE(MAX(id), 0) + 1 FROM events;

-- A person's answer is counted with the question it answers (how long they took, what was
-- asked): the question by session and call id. Partial: only questions are indexed.
CREATE INDEX events_question
    ON events (session_id, json_extract(payload, '$.callId'))
    WHERE kind = 'approvalRequested';
