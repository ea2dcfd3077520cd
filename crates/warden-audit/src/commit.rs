//! Committing batches: a thread of its own with the writer's own connection (direct.rs)
//! writes each linked batch in one transaction, acknowledges its requests, and reports
//! the outcome to the writer, which meanwhile links the next batch.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::mpsc;

use tokio::sync::{mpsc as async_mpsc, oneshot};

use crate::AuditError;
use crate::chain::StoredRecord;
use crate::direct::{Binder, Connection, Statement};
use crate::writer::{Derived, WriteRequest};

/// One linked batch to commit, its first event id, and the titles it sets.
pub(crate) struct Job {
    pub requests: Vec<WriteRequest>,
    pub first_id: i64,
    pub titles: Vec<(String, String)>,
    /// Raised by the writer after each failed commit it hears of. A batch handed over
    /// before that (linked on top of the failed one) is returned unwritten.
    pub epoch: u64,
    /// The outcome, once every request written or refused has been answered.
    pub done: oneshot::Sender<Outcome>,
}

/// What became of a job. A job's records come back with its outcome, so they are freed
/// on the writer's thread rather than on the commit thread, which is the busier one.
pub(crate) enum Outcome {
    Committed(Spent),
    /// Not written; its requests were answered with the error.
    Failed(AuditError, Spent),
    /// Linked on top of a batch that failed: not written, not answered, handed back to be
    /// linked again.
    Returned(Vec<WriteRequest>),
}

/// The records and derived values of a job's requests, once answered.
pub(crate) type Spent = Vec<(Vec<StoredRecord>, Vec<Derived>)>;

/// Rows per multi-row INSERT of events, largest first: a batch of n events runs as few
/// statements as these sizes allow, each prepared once.
const CHUNKS: [usize; 3] = [64, 8, 1];

/// Prepared full-text INSERTs kept, by row count. The batch's text goes in as one
/// statement: FTS5 writes its pending index to a new segment at the start of every
/// statement that writes to it inside a transaction (a statement savepoint), so one
/// statement per chunk made dozens of tiny segments per commit, and merging them cost
/// more than anything else. Batches of the same size (steady load) reuse one.
const TEXT_STATEMENTS_KEPT: usize = 8;

/// Full-text rows per INSERT at most: two values each, and SQLite binds at most 32,766
/// per statement. The writer keeps batches within this (linking.rs), so only a single
/// request larger than it needs a second statement.
pub(crate) const TEXT_ROWS_PER_STATEMENT: usize = 16_000;

const EVENT_COLUMNS: &str =
    "(id, session_id, seq, created_at, kind, actor, payload, event_id, hash, turn, decision)";
const EVENT_VALUES: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// The writer's connection and its statements (declared before it: they are dropped, so
/// finalized, before it closes).
struct Committer {
    begin: Statement,
    commit: Statement,
    rollback: Statement,
    /// INSERTs of `CHUNKS[i]` events.
    events: Vec<Statement>,
    /// INSERTs of n events' text into the full-text index, by n.
    texts: HashMap<usize, Statement>,
    title: Statement,
    ended: Statement,
    conn: Connection,
}

/// Open the writer's connection to `path` (already migrated) and start its thread.
/// `checkpoints` is nudged after each commit (checkpoint.rs). The thread ends when the
/// returned sender is dropped.
pub(crate) fn spawn(
    path: &Path,
    checkpoints: async_mpsc::Sender<()>,
) -> Result<mpsc::Sender<Job>, AuditError> {
    let mut committer = Committer::open(path)?;
    let (jobs, incoming) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("audit-commit".into())
        .spawn(move || {
            let mut failed = None;
            while let Ok(job) = incoming.recv() {
                let committed = serve(job, &mut failed, |job| {
                    committer.write(&job.requests, job.first_id, &job.titles)
                });
                if committed {
                    // Full means a checkpoint is already due: this commit joins it.
                    let _ = checkpoints.try_send(());
                }
            }
        })
        .map_err(|e| AuditError::Write(format!("cannot start the commit thread: {e}")))?;
    Ok(jobs)
}

/// Write one job with `write`, report the outcome and answer its requests; `failed` is
/// the epoch of the last batch that failed. A job of that epoch or before was linked on
/// top of it and is handed back unwritten. Returns whether the job was committed.
///
/// The writer hears the outcome before any request is answered: someone answered (say,
/// refused) who sends more at once reaches the writer after it has taken the outcome in,
/// so the new request is linked on what the database holds.
fn serve(
    job: Job,
    failed: &mut Option<u64>,
    write: impl FnOnce(&Job) -> Result<(), AuditError>,
) -> bool {
    if failed.is_some_and(|epoch| job.epoch <= epoch) {
        let _ = job.done.send(Outcome::Returned(job.requests));
        return false;
    }
    let result = write(&job);
    let Job {
        requests,
        epoch,
        done,
        ..
    } = job;
    let mut answers = Vec::with_capacity(requests.len());
    let mut spent = Vec::with_capacity(requests.len());
    for request in requests {
        let turns: Vec<u64> = request
            .records
            .iter()
            .map(|r| r.turn.unwrap_or_default())
            .collect();
        answers.push((request.ack, turns));
        spent.push((request.records, request.derived));
    }
    match result {
        Ok(()) => {
            let _ = done.send(Outcome::Committed(spent));
            for (ack, turns) in answers {
                let _ = ack.send(Ok(turns));
            }
            true
        }
        Err(e) => {
            *failed = Some(epoch);
            let why = e.for_each_request();
            let _ = done.send(Outcome::Failed(e, spent));
            for (ack, _) in answers {
                let _ = ack.send(Err(why.for_each_request()));
            }
            false
        }
    }
}

/// `INSERT INTO table columns VALUES row, row, …` with `rows` rows.
fn insert(table_and_columns: &str, row: &str, rows: usize) -> String {
    let values = vec![row; rows].join(", ");
    format!("INSERT INTO {table_and_columns} VALUES {values}")
}

impl Committer {
    fn open(path: &Path) -> Result<Self, AuditError> {
        let conn = Connection::open(path)?;
        // As the store's other connections (store.rs): checkpoints run beside the writer,
        // and a multi-row INSERT's statement journal stays in memory.
        conn.execute(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = memory; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = 5000;",
        )?;
        let events_table = format!("events {EVENT_COLUMNS}");
        let events = CHUNKS
            .iter()
            .map(|&n| conn.prepare(&insert(&events_table, EVENT_VALUES, n)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            begin: conn.prepare("BEGIN")?,
            commit: conn.prepare("COMMIT")?,
            rollback: conn.prepare("ROLLBACK")?,
            events,
            texts: HashMap::new(),
            title: conn
                .prepare("UPDATE sessions SET title = ? WHERE session_id = ? AND title = ''")?,
            ended: conn.prepare("UPDATE sessions SET ended_at = ? WHERE session_id = ?")?,
            conn,
        })
    }

    /// Write the batch in one transaction, events numbered from `first_id`.
    fn write(
        &mut self,
        requests: &[WriteRequest],
        first_id: i64,
        titles: &[(String, String)],
    ) -> Result<(), AuditError> {
        self.begin.bind().run()?;
        let written = self
            .write_rows(requests, first_id, titles)
            .and_then(|()| self.commit.bind().run());
        if written.is_err() {
            // Undo whatever the transaction wrote (SQLite may already have).
            let _ = self.rollback.bind().run();
        }
        written
    }

    fn write_rows(
        &mut self,
        requests: &[WriteRequest],
        first_id: i64,
        titles: &[(String, String)],
    ) -> Result<(), AuditError> {
        let records: Vec<_> = requests
            .iter()
            .flat_map(|r| r.records.iter().zip(r.derived.iter()))
            .collect();
        let mut id = first_id;
        for (size, rows) in chunked(&records) {
            let mut bind = self.events[size].bind();
            for (offset, (r, d)) in rows.iter().enumerate() {
                bind = bind
                    .int(id + offset as i64)
                    .text(&r.session_id)
                    .int(r.seq as i64)
                    .int(r.created_at)
                    .text(&r.kind)
                    .text(&r.actor)
                    .text(&r.payload)
                    .text(&r.event_id)
                    .optional_text(r.hash.as_deref())
                    .optional_int(r.turn.map(|t| t as i64))
                    .optional_text(d.decision);
            }
            run_all(bind, &self.conn, rows.len())?;
            id += rows.len() as i64;
        }
        let mut id = first_id;
        for rows in records.chunks(TEXT_ROWS_PER_STATEMENT) {
            let texts = texts_statement(&self.conn, &mut self.texts, rows.len())?;
            let mut bind = texts.bind();
            for (offset, (_, d)) in rows.iter().enumerate() {
                bind = bind.int(id + offset as i64).text(&d.text);
            }
            run_all(bind, &self.conn, rows.len())?;
            id += rows.len() as i64;
        }
        for (session, title) in titles {
            self.title.bind().text(title).text(session).run()?;
        }
        for (r, _) in &records {
            if r.kind == "sessionEnded" {
                self.ended
                    .bind()
                    .int(r.created_at)
                    .text(&r.session_id)
                    .run()?;
            }
        }
        Ok(())
    }
}

/// The full-text INSERT of `rows` rows from `kept`, prepared on first use.
fn texts_statement<'s>(
    conn: &Connection,
    kept: &'s mut HashMap<usize, Statement>,
    rows: usize,
) -> Result<&'s mut Statement, AuditError> {
    if !kept.contains_key(&rows) && kept.len() >= TEXT_STATEMENTS_KEPT {
        kept.clear();
    }
    Ok(match kept.entry(rows) {
        Entry::Occupied(kept) => kept.into_mut(),
        Entry::Vacant(slot) => {
            slot.insert(conn.prepare(&insert("events_fts (rowid, text)", "(?, ?)", rows))?)
        }
    })
}

/// Run a multi-row INSERT and check it inserted every row.
fn run_all(bind: Binder<'_>, conn: &Connection, rows: usize) -> Result<(), AuditError> {
    bind.run()?;
    let changed = conn.changes();
    if changed != rows as u64 {
        return Err(AuditError::Write(format!(
            "inserted {changed} of {rows} rows"
        )));
    }
    Ok(())
}

/// Split `rows` into runs of the sizes in `CHUNKS`, each with the index of its size.
fn chunked<T>(mut rows: &[T]) -> Vec<(usize, &[T])> {
    let mut runs = Vec::new();
    for (index, &size) in CHUNKS.iter().enumerate() {
        while rows.len() >= size {
            let (run, rest) = rows.split_at(size);
            runs.push((index, run));
            rows = rest;
        }
    }
    runs
}

/// The commit thread's answers, for tests that play it.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// Fail `job`: its requests are answered with `why`.
    pub(crate) fn fail(job: Job, why: &str) {
        let mut failed = None;
        serve(job, &mut failed, |_| Err(AuditError::Write(why.into())));
    }

    /// Report `job` committed (nothing is written).
    pub(crate) fn commit(job: Job) {
        serve(job, &mut None, |_| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(epoch: u64) -> (Job, oneshot::Receiver<Outcome>) {
        let (done, outcome) = oneshot::channel();
        let (ack, _) = oneshot::channel();
        let request = WriteRequest {
            records: Vec::new(),
            derived: Vec::new(),
            ack,
        };
        let job = Job {
            requests: vec![request],
            first_id: 1,
            titles: Vec::new(),
            epoch,
            done,
        };
        (job, outcome)
    }

    #[test]
    fn batches_linked_on_a_failed_one_come_back_unwritten() {
        let mut failed = None;
        let (first, outcome) = job(0);
        assert!(!serve(first, &mut failed, |_| Err(AuditError::Write(
            "disk full".into()
        ))));
        assert!(matches!(outcome.blocking_recv(), Ok(Outcome::Failed(..))));
        // Handed over before the writer heard of the failure: not written, handed back.
        let (queued, outcome) = job(0);
        let mut written = false;
        assert!(!serve(queued, &mut failed, |_| {
            written = true;
            Ok(())
        }));
        assert!(!written);
        assert!(matches!(outcome.blocking_recv(), Ok(Outcome::Returned(r)) if r.len() == 1));
        // Linked again afterwards: written.
        let (relinked, outcome) = job(1);
        assert!(serve(relinked, &mut failed, |_| Ok(())));
        assert!(matches!(outcome.blocking_recv(), Ok(Outcome::Committed(_))));
    }

    #[test]
    fn rows_split_into_the_fewest_prepared_sizes() {
        let rows: Vec<u32> = (0..141).collect();
        let sizes: Vec<usize> = chunked(&rows)
            .iter()
            .map(|(i, r)| CHUNKS[*i] * 1000 + r.len())
            .collect();
        assert_eq!(sizes, [64064, 64064, 8008, 1001, 1001, 1001, 1001, 1001]);
        assert!(chunked::<u32>(&[]).is_empty());
    }
}
