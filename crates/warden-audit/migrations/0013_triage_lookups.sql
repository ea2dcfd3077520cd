-- Lookups for triage (matching an endpoint alert to the sessions it came from): a
-- command's process by its host pid, a connection by its address or its host name.
-- Partial indexes: only those kinds' rows are indexed, so other events cost nothing.
CREATE INDEX events_process_pid
    ON events (json_extract(payload, '$.pid'))
    WHERE kind = 'processStarted';

CREATE INDEX events_network_address
    ON events (json_extract(payload, '$.access.address'))
    WHERE kind = 'networkAccess';

CREATE INDEX events_network_host
    ON events (json_extract(payload, '$.access.host'))
    WHERE kind = 'networkAccess';

CREATE INDEX events_process_started_at
    ON events (json_extract(payload, '$.startedAt'))
    WHERE kind = 'processStarted';
