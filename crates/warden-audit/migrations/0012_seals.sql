-- Seals: a chain over the store's commits, so that its end can be proven (src/seal.rs,
-- docs/audit.md "What verify proves"). Each commit of events appends one seal naming the
-- event ids it wrote and each touched session's new head; each retention run appends one
-- naming the prefix of seals it removed and a digest of every anchor. The last seal is
-- also written to a witness file beside the database (src/witness.rs).
CREATE TABLE seals (
    id        INTEGER PRIMARY KEY,
    sealed_at INTEGER NOT NULL,
    -- The event ids a commit wrote (NULL for a retention run).
    first_id  INTEGER,
    last_id   INTEGER,
    body      TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TRIGGER seals_are_append_only_update BEFORE UPDATE ON seals
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;

-- Only a retention run removes seals (a prefix whose events are all gone).
CREATE TRIGGER seals_are_append_only_delete BEFORE DELETE ON seals
WHEN NOT EXISTS (SELECT 1 FROM retention_in_progress)
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;

-- What the store knew when it was upgraded, so verify can tell rows that predate a
-- guarantee from rows that lost it:
--   unchained_through  rows without a hash up to this id were recorded before the chain;
--                      any later row without one had its hash cleared;
--   sealed_from        events from this id on are covered by seals;
--   legacy_anchors     anchors left by retention before seals existed.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);

INSERT INTO store_meta (key, value)
SELECT 'unchained_through', COALESCE(MAX(id), 0) FROM events WHERE hash IS NULL;

INSERT INTO store_meta (key, value)
SELECT 'sealed_from', COALESCE(MAX(id), 0) + 1 FROM (
    SELECT MAX(id) AS id FROM events
    UNION ALL SELECT MAX(last_id) FROM export_cursors
    UNION ALL SELECT MAX(through_id) FROM export_skips
    UNION ALL SELECT MAX(last_deleted_id) FROM retention_runs);

INSERT INTO store_meta (key, value) SELECT 'legacy_anchors', COUNT(*) FROM chain_anchors;

CREATE TRIGGER store_meta_is_fixed_update BEFORE UPDATE ON store_meta
BEGIN
    SELECT RAISE(ABORT, 'audit store facts are fixed');
END;

CREATE TRIGGER store_meta_is_fixed_delete BEFORE DELETE ON store_meta
BEGIN
    SELECT RAISE(ABORT, 'audit store facts are fixed');
END;
