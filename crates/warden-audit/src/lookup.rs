//! Lookups that match what happened on the host to what was recorded: a command's
//! process by its host pid, a connection by its address or host name (their partial
//! indexes: migration 0013), events of some kinds within a time window, and a slice of
//! one session. Triage (`warden-triage`) correlates an endpoint alert with these.

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use warden_protocol::{Event, EventMsg};

use crate::{AuditError, AuditStore};

/// Most rows one lookup returns.
const LOOKUP_LIMIT: i64 = 2_000;

fn event(row: &SqliteRow) -> Result<Event, AuditError> {
    let session_id: String = row.get("session_id");
    let seq: i64 = row.get("seq");
    let payload: String = row.get("payload");
    let msg: EventMsg = serde_json::from_str(&payload)
        .map_err(|e| AuditError::Decode(format!("session {session_id} event {seq}: {e}")))?;
    Ok(Event {
        session_id,
        seq: Some(seq as u64),
        created_at: row.get("created_at"),
        turn: row.get::<Option<i64>, _>("turn").map(|t| t as u64),
        msg,
    })
}

const COLUMNS: &str = "session_id, seq, created_at, turn, payload";

/// `(v1, v2, …)` bound into `q`.
fn push_list<'a, T>(q: &mut QueryBuilder<'a, Sqlite>, values: impl IntoIterator<Item = T>)
where
    T: 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    q.push("(");
    let mut list = q.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    q.push(")");
}

impl AuditStore {
    /// `processStarted` events of processes with these host pids (any time: a pid is
    /// reused, so the caller checks when).
    pub async fn processes_by_pid(&self, pids: &[u32]) -> Result<Vec<Event>, AuditError> {
        if pids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM events WHERE kind = 'processStarted' AND json_extract(payload, '$.pid') IN "
        ));
        push_list(&mut q, pids.iter().map(|p| i64::from(*p)));
        q.push(" ORDER BY id DESC LIMIT ").push_bind(LOOKUP_LIMIT);
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event)
            .collect()
    }

    /// `networkAccess` events to any of these addresses or host names, between `since`
    /// and `until` (milliseconds since the epoch; `until` exclusive).
    pub async fn connections_to(
        &self,
        addresses: &[String],
        hosts: &[String],
        since: i64,
        until: i64,
    ) -> Result<Vec<Event>, AuditError> {
        let mut found = Vec::new();
        for (field, values) in [("address", addresses), ("host", hosts)] {
            if values.is_empty() {
                continue;
            }
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM events WHERE kind = 'networkAccess' AND json_extract(payload, '$.access.{field}') IN "
            ));
            push_list(&mut q, values.iter().map(String::as_str));
            q.push(" AND created_at >= ")
                .push_bind(since)
                .push(" AND created_at < ")
                .push_bind(until)
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(LOOKUP_LIMIT);
            for row in q.build().fetch_all(&self.pool).await? {
                let e = event(&row)?;
                if !found
                    .iter()
                    .any(|f: &Event| f.session_id == e.session_id && f.seq == e.seq)
                {
                    found.push(e);
                }
            }
        }
        Ok(found)
    }

    /// Events of `kinds` recorded between `since` and `until`, oldest first (at most
    /// `limit`). The window's ids are read from the time index first, then each kind's
    /// rows from the kind index within them: only rows of those kinds are read.
    pub async fn events_between(
        &self,
        kinds: &[&str],
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<Event>, AuditError> {
        let bounds = sqlx::query(
            "SELECT MIN(id) AS lo, MAX(id) AS hi FROM events WHERE created_at >= ? AND created_at < ?",
        )
        .bind(since)
        .bind(until)
        .fetch_one(&self.pool)
        .await?;
        let (Some(lo), Some(hi)) = (
            bounds.get::<Option<i64>, _>("lo"),
            bounds.get::<Option<i64>, _>("hi"),
        ) else {
            return Ok(Vec::new());
        };
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("SELECT {COLUMNS} FROM events WHERE id BETWEEN "));
        q.push_bind(lo).push(" AND ").push_bind(hi);
        q.push(" AND created_at >= ")
            .push_bind(since)
            .push(" AND created_at < ")
            .push_bind(until);
        if !kinds.is_empty() {
            q.push(" AND kind IN ");
            push_list(&mut q, kinds.iter().copied());
        }
        q.push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(limit.clamp(1, 100_000)));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event)
            .collect()
    }

    /// `processStarted` events of processes that started between `since` and `until`
    /// (by the kernel's start time, whenever their command ended), at most `limit`.
    pub async fn processes_started_between(
        &self,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<Event>, AuditError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE kind = 'processStarted' \
             AND json_extract(payload, '$.startedAt') >= ? AND json_extract(payload, '$.startedAt') < ? \
             LIMIT ?"
        ))
        .bind(since)
        .bind(until)
        .bind(i64::from(limit.clamp(1, 100_000)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    /// One session's events with `from <= seq <= to`, in order.
    pub async fn session_slice(
        &self,
        session_id: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Event>, AuditError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE session_id = ? AND seq >= ? AND seq <= ? ORDER BY seq"
        ))
        .bind(session_id)
        .bind(from as i64)
        .bind(to as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    /// One session's events of `kinds`, in order (at most `limit`).
    pub async fn session_events_of(
        &self,
        session_id: &str,
        kinds: &[&str],
        limit: u32,
    ) -> Result<Vec<Event>, AuditError> {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("SELECT {COLUMNS} FROM events WHERE session_id = "));
        q.push_bind(session_id).push(" AND kind IN ");
        push_list(&mut q, kinds.iter().copied());
        q.push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit.clamp(1, 100_000)));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event)
            .collect()
    }
}
