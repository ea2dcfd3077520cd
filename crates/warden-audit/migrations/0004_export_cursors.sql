-- The OpenTelemetry outbox: the append-only events table itself, read after a cursor that
-- advances only when the collector has acknowledged everything up to it.
CREATE TABLE export_cursors (
    name       TEXT PRIMARY KEY NOT NULL,
    last_id    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
