//! Reading the store: sessions newest first, and one session's events in order.

use sqlx::Row;
use warden_protocol::{Event, EventMsg, ReviewSpend};

use crate::{AuditError, AuditStore};

/// One session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub session_id: String,
    pub cwd: String,
    pub title: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub event_count: u64,
}

const SESSION_COLUMNS: &str = "s.rowid AS cursor, s.session_id, s.cwd, s.title, s.created_at, s.ended_at, \
     COALESCE((SELECT MAX(seq) FROM events e WHERE e.session_id = s.session_id), 0) AS event_count";

impl AuditStore {
    /// Sessions, newest first. `cursor` is the opaque value returned with the previous page.
    pub async fn list_sessions(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<SessionRow>, Option<String>), AuditError> {
        let before: i64 = match cursor {
            Some(c) => c
                .parse()
                .map_err(|_| AuditError::Decode(format!("invalid session cursor {c:?}")))?,
            None => i64::MAX,
        };
        let limit = limit.clamp(1, 500);
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.rowid < ? ORDER BY s.rowid DESC LIMIT ?"
        ))
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let limit = limit as usize;
        let sessions = rows.iter().take(limit).map(session_row).collect();
        let next = if rows.len() > limit {
            rows.get(limit - 1)
                .map(|r| r.get::<i64, _>("cursor").to_string())
        } else {
            None
        };
        Ok((sessions, next))
    }

    /// What auto-review's reviewer models spent since `since` (milliseconds since the
    /// epoch): reviews asked (answers from a session's cache not counted) and tokens.
    pub async fn review_spend(&self, since: i64) -> Result<ReviewSpend, AuditError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS reviews,
                    COALESCE(SUM(json_extract(payload, '$.tokensIn')), 0) AS tokens_in,
                    COALESCE(SUM(json_extract(payload, '$.tokensOut')), 0) AS tokens_out
             FROM events
             WHERE kind = 'autoReview' AND created_at >= ?
               AND json_extract(payload, '$.tier') = 'model'
               AND json_extract(payload, '$.cached') = 0",
        )
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(ReviewSpend {
            reviews: row.get::<i64, _>("reviews").max(0) as u64,
            tokens_in: row.get::<i64, _>("tokens_in").max(0) as u64,
            tokens_out: row.get::<i64, _>("tokens_out").max(0) as u64,
        })
    }

    /// One session's summary.
    pub async fn session(&self, session_id: &str) -> Result<SessionRow, AuditError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.session_id = ?"
        ))
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| AuditError::UnknownSession(session_id.to_string()))?;
        Ok(session_row(&row))
    }

    /// Events of one session with `seq > after_seq`, in order. The second value is the
    /// cursor for the next page, if there is one.
    pub async fn timeline(
        &self,
        session_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<(Vec<Event>, Option<u64>), AuditError> {
        let limit = limit.clamp(1, 5000);
        let rows = sqlx::query(
            "SELECT seq, created_at, turn, payload FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(session_id)
        .bind(after_seq as i64)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit as usize;
        let mut events = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.iter().take(limit as usize) {
            let seq: i64 = row.get("seq");
            let payload: String = row.get("payload");
            let msg: EventMsg = serde_json::from_str(&payload).map_err(|e| {
                AuditError::Decode(format!("session {session_id} event {seq}: {e}"))
            })?;
            events.push(Event {
                session_id: session_id.to_string(),
                seq: Some(seq as u64),
                created_at: row.get("created_at"),
                turn: row.get::<Option<i64>, _>("turn").map(|t| t as u64),
                msg,
            });
        }
        let next = if more {
            events.last().and_then(|e| e.seq)
        } else {
            None
        };
        Ok((events, next))
    }
}

fn session_row(row: &sqlx::sqlite::SqliteRow) -> SessionRow {
    SessionRow {
        session_id: row.get("session_id"),
        cwd: row.get("cwd"),
        title: row.get("title"),
        created_at: row.get("created_at"),
        ended_at: row.get("ended_at"),
        event_count: row.get::<i64, _>("event_count") as u64,
    }
}
