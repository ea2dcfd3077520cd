-- When the collector has been away so long that the backlog passed its cap
-- (`telemetry.backlog_cap`), the exporter skips the oldest waiting events and records
-- the gap here: they stay in this store but were never sent.
CREATE TABLE export_skips (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    -- Events with after_id < id <= through_id were skipped.
    after_id   INTEGER NOT NULL,
    through_id INTEGER NOT NULL,
    skipped_at INTEGER NOT NULL
);
