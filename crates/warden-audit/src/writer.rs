//! The single writer: drains queued requests, links each record into its session's hash
//! chain, writes them with multi-row inserts in one transaction, then acknowledges.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::AuditError;
use crate::chain::{StoredRecord, genesis, link, next_turn};

pub(crate) struct WriteRequest {
    pub records: Vec<StoredRecord>,
    /// What the indexes need of each record (same order).
    pub derived: Vec<Derived>,
    /// Answered once committed, with each record's turn (same order).
    pub ack: oneshot::Sender<Result<Vec<u64>, AuditError>>,
}

/// What the producer derives from a record's payload for the indexes, so the single
/// writer does not parse it.
pub(crate) struct Derived {
    /// The searchable text, for the full-text index.
    pub text: String,
    /// What a decision came to (`allow`, `prompt`, `forbid`), for the `decision` column.
    pub decision: Option<&'static str>,
}

/// Rows per INSERT statement (SQLite allows 32766 bound parameters; 10 per row).
const ROWS_PER_STATEMENT: usize = 3200;
/// Full-text rows per INSERT statement (2 parameters per row).
const TEXT_ROWS_PER_STATEMENT: usize = 16_000;
/// Requests folded into one transaction.
const REQUESTS_PER_BATCH: usize = 512;

/// Where a session's chain stands: its last event's seq, link and turn.
struct Head {
    seq: u64,
    hash: String,
    turn: u64,
}

/// Each session's head, so linking needs no read per event.
type Heads = HashMap<String, Head>;

/// Sessions whose title (first prompt) is already set, so later prompts cost no UPDATE.
type Titled = std::collections::HashSet<String>;

/// `checkpoints` is nudged after each commit (see checkpoint.rs).
pub(crate) async fn run_writer(
    pool: SqlitePool,
    mut rx: mpsc::Receiver<WriteRequest>,
    checkpoints: mpsc::Sender<()>,
) {
    let mut heads = Heads::new();
    let mut titled = Titled::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < REQUESTS_PER_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // Link request by request: a request that cannot be linked is refused alone.
        // Heads move only once the batch is committed; until then they are `pending`.
        let mut pending = Heads::new();
        let mut accepted = Vec::with_capacity(batch.len());
        for mut request in batch {
            match chain_records(&pool, &mut heads, &mut pending, &mut request.records).await {
                Ok(()) => accepted.push(request),
                Err(e) => {
                    let _ = request.ack.send(Err(e));
                }
            }
        }
        let records: Vec<&StoredRecord> = accepted.iter().flat_map(|r| r.records.iter()).collect();
        let derived: Vec<&Derived> = accepted.iter().flat_map(|r| r.derived.iter()).collect();
        let result = write_batch(&pool, &records, &derived, &mut titled).await;
        match &result {
            Ok(()) => {
                heads.extend(pending);
                // Full means a checkpoint is already due: this commit joins it.
                let _ = checkpoints.try_send(());
            }
            Err(e) => {
                tracing::error!(error = %e, "audit batch failed");
                // Re-read heads from the database next time.
                heads.clear();
            }
        }
        for request in accepted {
            let reply = match &result {
                Ok(()) => Ok(request
                    .records
                    .iter()
                    .map(|r| r.turn.unwrap_or_default())
                    .collect()),
                Err(e) => Err(AuditError::Write(e.to_string())),
            };
            let _ = request.ack.send(reply);
        }
    }
}

/// Link one request's records after the committed `heads` and the batch's `pending`
/// links; on success its links join `pending`.
async fn chain_records(
    pool: &SqlitePool,
    heads: &mut Heads,
    pending: &mut Heads,
    records: &mut [StoredRecord],
) -> Result<(), AuditError> {
    let mut unknown: Vec<&str> = records
        .iter()
        .map(|r| r.session_id.as_str())
        .filter(|id| !pending.contains_key(*id) && !heads.contains_key(*id))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        // What the database holds is committed: it may join `heads` at once.
        heads.extend(load_heads(pool, &unknown).await?);
    }
    let mut local: Heads = HashMap::new();
    for record in records.iter_mut() {
        let head = local
            .get(&record.session_id)
            .or_else(|| pending.get(&record.session_id))
            .or_else(|| heads.get(&record.session_id))
            .ok_or_else(|| {
                AuditError::Write(format!("no chain head for session {}", record.session_id))
            })?;
        if record.seq != head.seq + 1 {
            return Err(AuditError::Write(format!(
                "session {} event {} would follow {}: events are appended in order, once",
                record.session_id, record.seq, head.seq
            )));
        }
        let turn = next_turn(head.turn, &record.kind);
        let hash = link(&head.hash, record);
        record.hash = Some(hash.clone());
        record.turn = Some(turn);
        let head = Head {
            seq: record.seq,
            hash,
            turn,
        };
        local.insert(record.session_id.clone(), head);
    }
    pending.extend(local);
    Ok(())
}

/// Each session's committed chain head, in one query per 500 sessions: its last event,
/// else the anchor retention left when it deleted them all, else genesis (turn 0). A
/// session that was never created is refused here, so one stray request cannot fail a
/// whole batch on the foreign key.
async fn load_heads(pool: &SqlitePool, sessions: &[&str]) -> Result<Heads, AuditError> {
    let mut heads = Heads::new();
    for chunk in sessions.chunks(500) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT s.session_id, e.seq, e.hash, e.turn, \
             a.seq AS anchor_seq, a.hash AS anchor_hash, a.turn AS anchor_turn \
             FROM sessions s \
             LEFT JOIN events e ON e.session_id = s.session_id \
               AND e.seq = (SELECT MAX(seq) FROM events m WHERE m.session_id = s.session_id) \
             LEFT JOIN chain_anchors a ON a.session_id = s.session_id \
             WHERE s.session_id IN (",
        );
        let mut list = query.separated(", ");
        for s in chunk {
            list.push_bind(*s);
        }
        query.push(")");
        for row in query.build().fetch_all(pool).await? {
            let session: String = row.get("session_id");
            let last: Option<i64> = row.get("seq");
            let anchor: Option<i64> = row.get("anchor_seq");
            // Rows from before the chain existed have no hash: the chain starts after them.
            let (seq, hash, turn): (i64, Option<String>, Option<i64>) = match (last, anchor) {
                (Some(seq), _) => (seq, row.get("hash"), row.get("turn")),
                (None, Some(seq)) => (seq, row.get("anchor_hash"), row.get("anchor_turn")),
                (None, None) => (0, None, None),
            };
            let hash = hash.unwrap_or_else(|| genesis(&session));
            let head = Head {
                seq: seq as u64,
                hash,
                turn: turn.unwrap_or(0) as u64,
            };
            heads.insert(session, head);
        }
    }
    if let Some(missing) = sessions.iter().find(|s| !heads.contains_key(**s)) {
        return Err(AuditError::UnknownSession(missing.to_string()));
    }
    Ok(heads)
}

async fn write_batch(
    pool: &SqlitePool,
    records: &[&StoredRecord],
    derived: &[&Derived],
    titled: &mut Titled,
) -> Result<(), AuditError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    // Row ids of the batch, in order: inside the transaction nobody else inserts, and a
    // multi-row insert gives its rows consecutive ids after the largest one.
    let mut ids: Vec<i64> = Vec::with_capacity(records.len());
    let rows: Vec<(&StoredRecord, &Derived)> = records
        .iter()
        .copied()
        .zip(derived.iter().copied())
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (session_id, seq, created_at, kind, actor, payload, event_id, hash, turn, decision) ",
        );
        insert.push_values(chunk, |mut row, (r, d)| {
            row.push_bind(&r.session_id)
                .push_bind(r.seq as i64)
                .push_bind(r.created_at)
                .push_bind(&r.kind)
                .push_bind(&r.actor)
                .push_bind(&r.payload)
                .push_bind(&r.event_id)
                .push_bind(&r.hash)
                .push_bind(r.turn.map(|t| t as i64))
                .push_bind(d.decision);
        });
        let done = insert.build().execute(&mut *tx).await?;
        let last = done.last_insert_rowid();
        let count = chunk.len() as i64;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(AuditError::Write(format!(
                "inserted {} of {count} events",
                done.rows_affected()
            )));
        }
        ids.extend(last - count + 1..=last);
    }
    let texts: Vec<(i64, &str)> = ids
        .into_iter()
        .zip(derived.iter().map(|d| d.text.as_str()))
        .filter(|(_, text)| !text.is_empty())
        .collect();
    for chunk in texts.chunks(TEXT_ROWS_PER_STATEMENT) {
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO events_fts (rowid, text) ");
        insert.push_values(chunk, |mut row, (id, text)| {
            row.push_bind(*id).push_bind(*text);
        });
        insert.build().execute(&mut *tx).await?;
    }
    let mut newly_titled = Vec::new();
    for r in records {
        match r.kind.as_str() {
            "userPrompt"
                if !titled.contains(&r.session_id) && !newly_titled.contains(&r.session_id) =>
            {
                newly_titled.push(r.session_id.clone());
                let title = serde_json::from_str::<serde_json::Value>(&r.payload)
                    .ok()
                    .and_then(|v| {
                        v["text"]
                            .as_str()
                            .map(|t| t.chars().take(200).collect::<String>())
                    })
                    .unwrap_or_default();
                sqlx::query("UPDATE sessions SET title = ? WHERE session_id = ? AND title = ''")
                    .bind(title)
                    .bind(&r.session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            "sessionEnded" => {
                sqlx::query("UPDATE sessions SET ended_at = ? WHERE session_id = ?")
                    .bind(r.created_at)
                    .bind(&r.session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
    }
    tx.commit().await?;
    titled.extend(newly_titled);
    Ok(())
}
