-- What each decision came to (allow, prompt, forbid), for the search filter: policy
-- decisions, network connections and answered approvals; NULL for every other event.
-- Derived from the chained payload, so `warden audit verify` checks it against the
-- record. Only the rows that carry a decision enter the index.
ALTER TABLE events ADD COLUMN decision TEXT;

-- Events recorded before: fill the column from their payload. Rows are append-only, so
-- the guard is lifted for this one update and put back as it was.
DROP TRIGGER events_are_append_only_update;

UPDATE events SET decision = CASE
    WHEN kind = 'decision' THEN CASE json_extract(payload, '$.verdict')
        WHEN 'allow' THEN 'allow'
        WHEN 'prompt' THEN 'prompt'
        WHEN 'forbidden' THEN 'forbid'
    END
    WHEN kind = 'networkAccess' THEN
        CASE json_extract(payload, '$.access.decision') WHEN 'allow' THEN 'allow' ELSE 'forbid' END
    WHEN kind = 'approvalAnswered' THEN CASE json_extract(payload, '$.decision')
        WHEN 'deny' THEN 'forbid'
        WHEN 'abort' THEN 'forbid'
        ELSE 'allow'
    END
END
WHERE kind IN ('decision', 'networkAccess', 'approvalAnswered') AND json_valid(payload);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE INDEX events_decision ON events (decision, id) WHERE decision IS NOT NULL;
