-- The turn each event belongs to: how many user prompts its session had up to and
-- including it (0 before the first). The writer numbers new events; `warden audit
-- verify` recounts it from the order of the chained events. Retention anchors keep the
-- turn of the last deleted event, so numbering goes on after a trim.
ALTER TABLE events ADD COLUMN turn INTEGER;
ALTER TABLE chain_anchors ADD COLUMN turn INTEGER;

-- Events recorded before: count the prompts. In a session that retention trimmed
-- before this migration, the count starts at its first kept event (the deleted prompts
-- are gone), and its anchor has no turn, so verify takes the numbering as it finds it.
-- Rows are append-only: the guard is lifted for this one update and put back as it was.
DROP TRIGGER events_are_append_only_update;

UPDATE events SET turn = counted.turn
FROM (
    SELECT id, SUM(kind = 'userPrompt') OVER (PARTITION BY session_id ORDER BY seq) AS turn
    FROM events
) AS counted
WHERE counted.id = events.id;

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
