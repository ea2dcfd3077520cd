//! The commit thread's connection: its prepared statements, and writing one linked batch
//! in one transaction with its seal, taking the write lock first and reading the next
//! event id and the last seal again whenever another connection committed since.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use crate::AuditError;
use crate::chain::StoredRecord;
use crate::direct::{Binder, Connection, SqlError, Statement};
use crate::pipeline::{Derived, Job, TEXT_ROWS_PER_STATEMENT, WriteRequest};
use crate::rollup;
use crate::seal::{self, LAST_SEAL};
use crate::witness::Witness;

/// Rows per multi-row INSERT of events, largest first: a batch of n events runs as few
/// statements as these sizes allow, each prepared once.
const CHUNKS: [usize; 3] = [64, 8, 1];

/// Prepared full-text INSERTs kept, by row count. The batch's text goes in as one
/// statement: FTS5 writes its pending index to a new segment at the start of every
/// statement that writes to it inside a transaction (a statement savepoint), so one
/// statement per chunk made dozens of tiny segments per commit, and merging them cost
/// more than anything else. Batches of the same size (steady load) reuse one.
const TEXT_STATEMENTS_KEPT: usize = 8;

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
pub(crate) struct Committer {
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
    /// Insights' daily counts (rollup.rs): add to one, read an answer's question.
    rollup: Statement,
    question: Statement,
    known: Option<Known>,
    witness: Witness,
    path: std::path::PathBuf,
    conn: Connection,
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

impl Committer {
    pub(crate) fn open(path: &Path) -> Result<Self, AuditError> {
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
            rollup: conn.prepare(rollup::UPSERT)?,
            question: conn.prepare(rollup::QUESTION)?,
            known: None,
            witness,
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Write the batch in one transaction, sealed, then forward the witness.
    pub(crate) fn write(&mut self, job: &Job) -> Result<(), AuditError> {
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
        self.add_tallies(&records)?;
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

impl Committer {
    /// Add the batch's counts to the insights' daily counts, with those of each person's
    /// answer (its question is read here: it was committed before, or earlier in this
    /// transaction).
    fn add_tallies(&mut self, records: &[(&StoredRecord, &Derived)]) -> Result<(), AuditError> {
        // A person's answer counts with its question, read first (it needs the statement).
        let mut answered = Vec::new();
        for (r, d) in records {
            if let Some(answer) = &d.answer {
                let row = self
                    .question
                    .bind()
                    .text(&r.session_id)
                    .text(&answer.call_id)
                    .first_row()?;
                if let Some(question) = row.as_deref().and_then(rollup::Question::from_row) {
                    let tallies = rollup::answer_tallies(answer, r.created_at, &question);
                    answered.push((r.created_at, tallies));
                }
            }
        }
        let mut sums = rollup::Sums::default();
        for (r, d) in records {
            sums.add(r.created_at, &d.tallies);
        }
        for (at, tallies) in &answered {
            sums.add(*at, tallies);
        }
        for (day, metric, key, n) in sums.into_rows() {
            self.rollup
                .bind()
                .int(day)
                .text(metric)
                .text(key)
                .int(n)
                .run()?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
