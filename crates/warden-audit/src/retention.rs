//! Retention: delete events older than a cutoff, session by session, always as a
//! prefix of the session's chain, and record the last deleted link as the session's
//! anchor so the rest still verifies. Every run is itself recorded and sealed: its seal
//! (seal.rs) names the prefix of seals it removed (those whose events are all gone) and a
//! digest of every anchor in the store, so an anchor added or changed outside a run is
//! caught by `verify`.

use sqlx::Row;

use crate::seal::{self, LAST_SEAL, RetentionSeal};
use crate::{AuditError, AuditStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub events_deleted: u64,
    pub sessions_trimmed: u64,
}

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
        // Insights' counts of whole days before the cutoff go with their events (their keys
        // name commands, hosts and folders).
        sqlx::query("DELETE FROM rollups WHERE day < ?")
            .bind(cutoff.div_euclid(crate::rollup::DAY_MS))
            .execute(&mut *tx)
            .await?;
        let run: i64 = sqlx::query_scalar(
            "INSERT INTO retention_runs (ran_at, cutoff, events_deleted, last_deleted_id) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(now)
        .bind(cutoff)
        .bind(deleted as i64)
        .bind(highest)
        .fetch_one(&mut *tx)
        .await?;
        let sealed = seal_run(&mut tx, run, now).await?;
        sqlx::query("DELETE FROM retention_in_progress")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        match crate::witness::Witness::open(self.path()) {
            Ok(witness) => {
                if let Err(e) = witness.advance(sealed.0, &sealed.1) {
                    tracing::warn!(error = %e, "audit witness not updated after retention");
                }
            }
            Err(e) => tracing::warn!(error = %e, "audit witness not updated after retention"),
        }
        Ok(RetentionReport {
            events_deleted: deleted,
            sessions_trimmed: prefixes.len() as u64,
        })
    }
}

/// Remove the prefix of seals whose events are all gone, and append the run's seal.
/// Returns the new seal's id and hash.
async fn seal_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    run: i64,
    now: i64,
) -> Result<(u64, String), AuditError> {
    let (last_id, last_hash): (u64, String) = sqlx::query_as::<_, (i64, String)>(LAST_SEAL)
        .fetch_optional(&mut **tx)
        .await?
        .map_or((0, seal::genesis()), |(id, hash)| (id as u64, hash));
    let (mut through, mut through_hash) = (0u64, seal::genesis());
    let previous: Option<String> = sqlx::query_scalar(
        "SELECT body FROM seals WHERE first_id IS NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(parsed) = previous.as_deref().and_then(RetentionSeal::parse) {
        (through, through_hash) = (parsed.through, parsed.through_hash);
    }
    // Seals before the first one that still covers a stored event are spent.
    let sealed_from: i64 =
        sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'sealed_from'")
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or(1);
    let first_kept: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(s.id) FROM seals s WHERE s.first_id IS NOT NULL AND s.last_id >= \
         (SELECT MIN(id) FROM events WHERE id >= ?)",
    )
    .bind(sealed_from)
    .fetch_one(&mut **tx)
    .await?;
    let spent = match first_kept {
        Some(first) => first as u64 - 1,
        None => last_id,
    };
    if spent > through {
        through_hash = sqlx::query_scalar("SELECT hash FROM seals WHERE id = ?")
            .bind(spent as i64)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or(through_hash);
        through = spent;
        sqlx::query("DELETE FROM seals WHERE id <= ?")
            .bind(spent as i64)
            .execute(&mut **tx)
            .await?;
    }
    let anchors = sqlx::query_as::<_, (String, i64, String, Option<i64>)>(
        "SELECT session_id, seq, hash, turn FROM chain_anchors",
    )
    .fetch_all(&mut **tx)
    .await?;
    let body = RetentionSeal {
        run,
        through,
        through_hash,
        anchors: seal::anchors_digest(
            anchors
                .iter()
                .map(|(s, seq, h, t)| (s.as_str(), *seq as u64, h.as_str(), t.map(|t| t as u64))),
        ),
    }
    .body();
    let id = last_id + 1;
    let hash = seal::seal_hash(&last_hash, id, now, None, &body);
    sqlx::query("INSERT INTO seals (id, sealed_at, first_id, last_id, body, hash) VALUES (?, ?, NULL, NULL, ?, ?)")
        .bind(id as i64)
        .bind(now)
        .bind(&body)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok((id, hash))
}
