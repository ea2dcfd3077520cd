//! Retention: delete events older than a cutoff, session by session, always as a
//! prefix of the session's chain, and record the last deleted link as the session's
//! anchor so the rest still verifies. Every run is itself recorded.

use std::collections::HashMap;

use sqlx::Row;

use crate::chain::Anchor;
use crate::{AuditError, AuditStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub events_deleted: u64,
    pub sessions_trimmed: u64,
}

/// Where each session's remaining chain starts.
pub(crate) type Anchors = HashMap<String, Anchor>;

impl AuditStore {
    /// Delete events recorded before `cutoff` (epoch ms). Within a session only a prefix
    /// is removed: a kept event is never followed by a deleted one.
    pub async fn apply_retention(
        &self,
        cutoff: i64,
        now: i64,
    ) -> Result<RetentionReport, AuditError> {
        // The write lock is taken at once (IMMEDIATE), waiting its turn behind the writer:
        // a deferred transaction that reads first cannot write once the writer has
        // committed in between (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Events a collector has not acknowledged yet are kept whatever their age.
        let exported_up_to: i64 =
            sqlx::query_scalar::<_, Option<i64>>("SELECT MIN(last_id) FROM export_cursors")
                .fetch_one(&mut *tx)
                .await?
                .unwrap_or(i64::MAX);
        // The last event of each session that falls entirely before the cutoff…
        let prefixes = sqlx::query(
            "SELECT e.session_id, e.seq, e.hash, e.turn FROM events e JOIN ( \
               SELECT session_id, MAX(seq) AS seq FROM events o WHERE created_at < ?1 AND id <= ?2 \
               AND NOT EXISTS (SELECT 1 FROM events k WHERE k.session_id = o.session_id \
                               AND k.seq < o.seq AND k.created_at >= ?1) \
               GROUP BY session_id) p ON p.session_id = e.session_id AND p.seq = e.seq",
        )
        .bind(cutoff)
        .bind(exported_up_to)
        .fetch_all(&mut *tx)
        .await?;
        // Ids are never handed out twice: the writer starts above the highest one a run saw.
        let highest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO retention_in_progress (started_at) VALUES (?)")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let mut deleted = 0u64;
        for row in &prefixes {
            let session: String = row.get("session_id");
            let seq: i64 = row.get("seq");
            let Some(hash) = row.get::<Option<String>, _>("hash") else {
                // Rows from before the chain have no link to anchor to; keep them.
                continue;
            };
            deleted += sqlx::query("DELETE FROM events WHERE session_id = ? AND seq <= ?")
                .bind(&session)
                .bind(seq)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(
                "INSERT INTO chain_anchors (session_id, seq, hash, turn, created_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (session_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 turn = excluded.turn, created_at = excluded.created_at",
            )
            .bind(&session)
            .bind(seq)
            .bind(hash)
            .bind(row.get::<Option<i64>, _>("turn"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM retention_in_progress")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO retention_runs (ran_at, cutoff, events_deleted, last_deleted_id) VALUES (?, ?, ?, ?)",
        )
        .bind(now)
        .bind(cutoff)
        .bind(deleted as i64)
        .bind(highest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RetentionReport {
            events_deleted: deleted,
            sessions_trimmed: prefixes.len() as u64,
        })
    }

    pub(crate) async fn anchors(&self) -> Result<Anchors, AuditError> {
        let rows = sqlx::query("SELECT session_id, seq, hash, turn FROM chain_anchors")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>("session_id"),
                    Anchor {
                        seq: r.get::<i64, _>("seq") as u64,
                        hash: r.get("hash"),
                        turn: r.get::<Option<i64>, _>("turn").map(|t| t as u64),
                    },
                )
            })
            .collect())
    }
}
