//! Linking requests into their sessions' hash chains: where each chain stands (committed,
//! in a batch being committed, in the batch being formed), read from the database for a
//! session the writer has not seen, and linked again from there after a failed commit.

use std::collections::{HashMap, VecDeque};

use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use crate::AuditError;
use crate::chain::{StoredRecord, genesis, link, next_turn};
use crate::pipeline::{TEXT_ROWS_PER_STATEMENT, WriteRequest};

/// Requests folded into one transaction at most.
const REQUESTS_PER_BATCH: usize = 512;

/// Where a session's chain stands: its last event's seq, link and turn.
#[derive(Clone)]
pub(crate) struct Head {
    seq: u64,
    hash: String,
    turn: u64,
}

/// Each session's head, so linking needs no read per event.
pub(crate) type Heads = HashMap<String, Head>;

/// Linked requests that commit together, and the heads their links leave.
#[derive(Default)]
pub(crate) struct Batch {
    pub requests: Vec<WriteRequest>,
    pub heads: Heads,
    /// Events in `requests`.
    pub events: usize,
}

impl Batch {
    /// The heads this batch leaves, as its seal names them.
    pub(crate) fn seal_body(&self) -> String {
        crate::seal::heads_body(
            self.heads
                .iter()
                .map(|(session, head)| (session.as_str(), head.seq, head.hash.as_str())),
        )
    }

    /// Full when it has as many requests as a transaction takes, or as many events as one
    /// full-text INSERT can bind (so the batch's text is one statement, commit.rs).
    pub(crate) fn is_full(&self) -> bool {
        self.requests.len() >= REQUESTS_PER_BATCH || self.events >= TEXT_ROWS_PER_STATEMENT
    }
}

/// What the writer knows of the chains: heads committed to the database, and those each
/// batch with the commit thread will leave (oldest first).
pub(crate) struct Chains {
    pub pool: SqlitePool,
    pub committed: Heads,
    pub committing: VecDeque<Heads>,
}

impl Chains {
    /// Link one request after everything linked before it; on success it joins `batch`,
    /// otherwise it is refused alone.
    pub(crate) async fn add(&mut self, batch: &mut Batch, mut request: WriteRequest) {
        match self.link(&batch.heads, &mut request.records).await {
            Ok(heads) => {
                batch.heads.extend(heads);
                batch.events += request.records.len();
                batch.requests.push(request);
            }
            Err(e) => {
                let _ = request.ack.send(Err(e));
            }
        }
    }

    /// Link `records` after the heads in `pending` (the batch being formed), then those of
    /// the batches being committed (newest first), then the committed ones. Returns the
    /// heads they leave.
    async fn link(
        &mut self,
        pending: &Heads,
        records: &mut [StoredRecord],
    ) -> Result<Heads, AuditError> {
        let mut unknown: Vec<&str> = records
            .iter()
            .map(|r| r.session_id.as_str())
            .filter(|id| {
                !pending.contains_key(*id)
                    && !self.committing.iter().any(|h| h.contains_key(*id))
                    && !self.committed.contains_key(*id)
            })
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        if !unknown.is_empty() {
            // What the database holds is committed: it may join `committed` at once.
            let loaded = load_heads(&self.pool, &unknown).await?;
            self.committed.extend(loaded);
        }
        let mut local: Heads = HashMap::new();
        for record in records.iter_mut() {
            let head = local
                .get(&record.session_id)
                .or_else(|| pending.get(&record.session_id))
                .or_else(|| {
                    self.committing
                        .iter()
                        .rev()
                        .find_map(|h| h.get(&record.session_id))
                })
                .or_else(|| self.committed.get(&record.session_id))
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
            match local.get_mut(&record.session_id) {
                Some(slot) => *slot = head,
                None => {
                    local.insert(record.session_id.clone(), head);
                }
            }
        }
        Ok(local)
    }

    /// Requests linked on top of a commit that failed: forget every uncommitted head and
    /// link them again, in order, from what the database holds.
    pub(crate) async fn relink(&mut self, requests: Vec<WriteRequest>) -> Batch {
        self.committed.clear();
        self.committing.clear();
        let mut again = Batch::default();
        for request in requests {
            self.add(&mut again, request).await;
        }
        again
    }
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
