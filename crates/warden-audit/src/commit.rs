//! Committing batches: a thread of its own with the writer's own connection (direct.rs)
//! writes each linked batch in one transaction, acknowledges its requests, and reports
//! the outcome to the writer, which meanwhile links the next batch.
//!
//! Other Warden processes may write to the same file. Each transaction takes the write
//! lock at once (`BEGIN IMMEDIATE`, waiting as long as another process holds it) and asks
//! SQLite whether any other connection committed since this one last did
//! (`PRAGMA data_version`); if so, the next event id and the last seal are read again
//! inside the transaction. Event ids are therefore handed out here, under the lock, in
//! commit order across every process. Each commit appends a seal (seal.rs) and, once
//! committed, forwards the witness (witness.rs).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::mpsc;

use tokio::sync::{mpsc as async_mpsc, oneshot};

use crate::AuditError;
use crate::chain::StoredRecord;
use crate::direct::{Binder, Connection, SqlError, Statement};
use crate::seal;
use crate::witness::Witness;
use crate::writer::{Derived, WriteRequest};

/// One linked batch to commit, the titles it sets and its seal's body.
pub(crate) struct Job {
    pub requests: Vec<WriteRequest>,
    pub titles: Vec<(String, String)>,
    /// The heads it leaves, as its seal names them (`seal::heads_body`).
    pub heads: String,
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

/// How long a commit waits for another process to release the write lock before it
/// fails (SQLite's own busy timeout retries within each attempt).
const BUSY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(300);

/// What this connection knows of the store between its transactions; read again inside a
/// transaction whenever another connection committed since.
struct Known {
    /// `PRAGMA data_version` when it was read.
    data_version: i64,
    /// The id the next event gets.
    next_id: i64,
    /// The last seal's id and hash.
    seal: (u64, String),
}

/// The writer's connection and its statements (declared before it: they are dropped, so
/// finalized, before it closes).
struct Committer {
    begin: Statement,
    commit: Statement,
    rollback: Statement,
    data_version: Statement,
    first_free_id: Statement,
    last_seal: Statement,
    insert_seal: Statement,
    /// INSERTs of `CHUNKS[i]` events.
    events: Vec<Statement>,
    /// INSERTs of n events' text into the full-text index, by n.
    texts: HashMap<usize, Statement>,
    title: Statement,
    ended: Statement,
    known: Option<Known>,
    witness: Witness,
    path: std::path::PathBuf,
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
                let committed = serve(job, &mut failed, |job| committer.write(job));
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

/// The first id never handed out: above every stored event, every event an exporter has
/// passed and every event a retention run deleted, so an id always names one event.
const FIRST_FREE_ID: &str = "SELECT COALESCE(MAX(id), 0) + 1 FROM ( \
       SELECT MAX(id) AS id FROM events \
       UNION ALL SELECT MAX(last_id) FROM export_cursors \
       UNION ALL SELECT MAX(through_id) FROM export_skips \
       UNION ALL SELECT MAX(last_deleted_id) FROM retention_runs)";

/// The last seal: its id and hash (or 0 and genesis); after a retention run removed every
/// seal, the one that run says it removed last.
pub(crate) const LAST_SEAL: &str = "SELECT id, hash FROM seals ORDER BY id DESC LIMIT 1";

impl Committer {
    fn open(path: &Path) -> Result<Self, AuditError> {
        let witness = Witness::open(path)?;
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
            begin: conn.prepare("BEGIN IMMEDIATE")?,
            commit: conn.prepare("COMMIT")?,
            rollback: conn.prepare("ROLLBACK")?,
            data_version: conn.prepare("PRAGMA data_version")?,
            first_free_id: conn.prepare(FIRST_FREE_ID)?,
            last_seal: conn.prepare(LAST_SEAL)?,
            insert_seal: conn.prepare(
                "INSERT INTO seals (id, sealed_at, first_id, last_id, body, hash) VALUES (?, ?, ?, ?, ?, ?)",
            )?,
            events,
            texts: HashMap::new(),
            title: conn
                .prepare("UPDATE sessions SET title = ? WHERE session_id = ? AND title = ''")?,
            ended: conn.prepare("UPDATE sessions SET ended_at = ? WHERE session_id = ?")?,
            known: None,
            witness,
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Write the batch in one transaction, sealed, then forward the witness.
    fn write(&mut self, job: &Job) -> Result<(), AuditError> {
        self.begin_immediate()?;
        let written = self
            .write_sealed(job)
            .and_then(|sealed| Ok((sealed, self.commit.bind().run()?)));
        match written {
            Ok(((id, hash, next_id), ())) => {
                if let Err(e) = self.witness.advance(id, &hash) {
                    // The events are committed; a witness left behind is not an alarm.
                    tracing::warn!(error = %e, "audit witness not updated");
                }
                if let Some(known) = &mut self.known {
                    known.next_id = next_id;
                    known.seal = (id, hash);
                }
                Ok(())
            }
            Err(e) => {
                // Undo whatever the transaction wrote (SQLite may already have), and read
                // what the store holds again next time.
                let _ = self.rollback.bind().run();
                self.known = None;
                Err(e)
            }
        }
    }

    /// Take the write lock, waiting while another process holds it (each attempt waits
    /// SQLite's busy timeout; past `BUSY_PATIENCE` the commit fails, saying so).
    fn begin_immediate(&mut self) -> Result<(), AuditError> {
        let started = std::time::Instant::now();
        let mut warned = false;
        loop {
            match self.begin.bind().run() {
                Ok(()) => return Ok(()),
                Err(e) if e.is_busy() && started.elapsed() < BUSY_PATIENCE => {
                    if !warned {
                        tracing::warn!(
                            "audit store busy: another process holds the write lock; waiting"
                        );
                        warned = true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) if e.is_busy() => {
                    return Err(AuditError::Busy {
                        path: self.path.clone(),
                        waited_secs: started.elapsed().as_secs(),
                        message: e.to_string(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What the store holds now, read again if another connection committed since this
    /// one last looked (inside the transaction, so it cannot change before the commit).
    fn refresh(&mut self) -> Result<(), SqlError> {
        let version = self
            .data_version
            .bind()
            .first_row()?
            .and_then(|row| row.first().and_then(|v| v.int()))
            .unwrap_or(-1);
        if self
            .known
            .as_ref()
            .is_some_and(|k| k.data_version == version)
        {
            return Ok(());
        }
        let next_id = self
            .first_free_id
            .bind()
            .first_row()?
            .and_then(|row| row.first().and_then(|v| v.int()))
            .unwrap_or(1);
        let seal = match self.last_seal.bind().first_row()? {
            Some(row) => (
                row.first().and_then(|v| v.int()).unwrap_or(0) as u64,
                row.get(1)
                    .and_then(|v| v.text())
                    .unwrap_or_default()
                    .to_string(),
            ),
            None => (0, seal::genesis()),
        };
        self.known = Some(Known {
            data_version: version,
            next_id,
            seal,
        });
        Ok(())
    }

    /// Write the batch's rows and its seal; returns the seal's id and hash and the next
    /// free event id.
    fn write_sealed(&mut self, job: &Job) -> Result<(u64, String, i64), AuditError> {
        self.refresh()?;
        let (first_id, (previous_id, previous_hash)) = match &self.known {
            Some(k) => (k.next_id, k.seal.clone()),
            None => return Err(AuditError::Write("the store's state is unknown".into())),
        };
        let count = self.write_rows(&job.requests, first_id, &job.titles)?;
        if count == 0 {
            return Ok((previous_id, previous_hash, first_id));
        }
        let last_id = first_id + count - 1;
        let id = previous_id + 1;
        let sealed_at = now_ms();
        let events = Some((first_id, last_id));
        let hash = seal::seal_hash(&previous_hash, id, sealed_at, events, &job.heads);
        self.insert_seal
            .bind()
            .int(id as i64)
            .int(sealed_at)
            .optional_int(events.map(|e| e.0))
            .optional_int(events.map(|e| e.1))
            .text(&job.heads)
            .text(&hash)
            .run()?;
        Ok((id, hash, first_id + count))
    }

    /// Write the events numbered from `first_id`; returns how many.
    fn write_rows(
        &mut self,
        requests: &[WriteRequest],
        first_id: i64,
        titles: &[(String, String)],
    ) -> Result<i64, AuditError> {
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
        Ok(records.len() as i64)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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
            titles: Vec::new(),
            heads: String::new(),
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
