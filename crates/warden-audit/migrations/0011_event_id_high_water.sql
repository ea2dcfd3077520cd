-- The writer hands out event ids itself (so each batch's rows are numbered before they
-- are written), never one it handed out before: `id INTEGER PRIMARY KEY` alone reuses
-- the ids of the newest rows once they are deleted, and an event given an id the exporter
-- had already passed would never be exported. Retention records the highest id it saw;
-- the writer starts above it, the stored events and the export cursors.
ALTER TABLE retention_runs ADD COLUMN last_deleted_id INTEGER;
