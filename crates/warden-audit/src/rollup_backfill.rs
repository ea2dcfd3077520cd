//! Counting events recorded before the insights' daily counts existed: newest first, a
//! chunk per transaction, each taking the write lock so that two processes never count
//! the same events (`rollup_backfill.below_id` says where the last chunk stopped).

use sqlx::Row;
use warden_protocol::EventMsg;

use crate::rollup::{self, Question, Sums};
use crate::{AuditError, AuditStore};

/// Events counted per transaction.
const CHUNK: i64 = 5_000;

impl AuditStore {
    /// How many events recorded before the insights' counts existed are not counted yet.
    pub async fn rollup_backlog(&self) -> Result<u64, AuditError> {
        let below: i64 = sqlx::query_scalar("SELECT below_id FROM rollup_backfill")
            .fetch_one(&self.pool)
            .await?;
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE id < ?")
            .bind(below)
            .fetch_one(&self.pool)
            .await?;
        Ok(left as u64)
    }

    /// Count every event recorded before the insights' counts existed (nothing to do
    /// once done). Returns how many were counted now.
    pub async fn backfill_rollups(&self) -> Result<u64, AuditError> {
        let mut counted = 0;
        loop {
            let n = self.backfill_chunk().await?;
            if n == 0 {
                return Ok(counted);
            }
            counted += n;
        }
    }

    async fn backfill_chunk(&self) -> Result<u64, AuditError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let below: i64 = sqlx::query_scalar("SELECT below_id FROM rollup_backfill")
            .fetch_one(&mut *tx)
            .await?;
        if below <= 0 {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT id, session_id, created_at, payload FROM events WHERE id < ? \
             ORDER BY id DESC LIMIT ?",
        )
        .bind(below)
        .bind(CHUNK)
        .fetch_all(&mut *tx)
        .await?;
        // Each event's counts, then summed (the sums borrow them).
        let mut counted: Vec<(i64, Vec<rollup::Tally>)> = Vec::new();
        let mut lowest = 0;
        for row in &rows {
            lowest = row.get::<i64, _>("id");
            let session: String = row.get("session_id");
            let created_at: i64 = row.get("created_at");
            let Ok(msg) = serde_json::from_str::<EventMsg>(row.get("payload")) else {
                tracing::warn!(id = lowest, "an event that does not parse is not counted");
                continue;
            };
            let (tallies, answer) = rollup::tallies(&session, &msg);
            counted.push((created_at, tallies));
            if let Some(answer) = answer {
                let question = sqlx::query(rollup::QUESTION)
                    .bind(&session)
                    .bind(&answer.call_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(q) = question {
                    let question = Question {
                        created_at: q.get(0),
                        tool: q.get::<Option<String>, _>(1).unwrap_or_default(),
                        summary: q.get::<Option<String>, _>(2).unwrap_or_default(),
                    };
                    let tallies = rollup::answer_tallies(&answer, created_at, &question);
                    counted.push((created_at, tallies));
                }
            }
        }
        let mut sums = Sums::default();
        for (at, tallies) in &counted {
            sums.add(*at, tallies);
        }
        for (day, metric, key, n) in sums.into_rows() {
            sqlx::query(rollup::UPSERT)
                .bind(day)
                .bind(metric)
                .bind(key)
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        // Done once a chunk comes back short: nothing is left below it.
        let next = if (rows.len() as i64) < CHUNK {
            0
        } else {
            lowest
        };
        sqlx::query("UPDATE rollup_backfill SET below_id = ?")
            .bind(next)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}

/// One daily count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// The UTC day (`created_at / DAY_MS`).
    pub day: i64,
    pub metric: String,
    pub key: String,
    pub n: i64,
}

impl RollupRow {
    fn from_row(r: &sqlx::sqlite::SqliteRow) -> Self {
        Self {
            day: r.get(0),
            metric: r.get(1),
            key: r.get(2),
            n: r.get(3),
        }
    }
}

impl AuditStore {
    /// The daily counts of days `first..=last` (UTC days), after counting any events
    /// recorded before the counts existed.
    pub async fn rollups(&self, first: i64, last: i64) -> Result<Vec<RollupRow>, AuditError> {
        self.backfill_rollups().await?;
        let rows = sqlx::query(
            "SELECT day, metric, key, n FROM rollups WHERE day BETWEEN ? AND ? ORDER BY day",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(RollupRow::from_row).collect())
    }
}

impl AuditStore {
    /// The counts of days `first..=last` as insights read them: sessions per day, every
    /// other metric summed over the period (its rows carry `day = first`). Summed in
    /// SQLite, so a month of a busy store comes back as one row per key.
    pub async fn period_counts(&self, first: i64, last: i64) -> Result<Vec<RollupRow>, AuditError> {
        self.backfill_rollups().await?;
        let rows = sqlx::query(
            "SELECT day, metric, key, n FROM rollups \
             WHERE day BETWEEN ?1 AND ?2 AND metric = 'session' \
             UNION ALL \
             SELECT ?1, metric, key, SUM(n) FROM rollups \
             WHERE day BETWEEN ?1 AND ?2 AND metric != 'session' GROUP BY metric, key",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(RollupRow::from_row).collect())
    }
}
