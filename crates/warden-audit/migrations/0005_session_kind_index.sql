-- Timelines filtered by kind within a session (the Audit view's and the agent's most
-- common filter) read this index in id order instead of every event of the session.
CREATE INDEX events_session_kind ON events (session_id, kind, id);
