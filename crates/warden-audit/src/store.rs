//! Opening the store and its public operations.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};
use warden_protocol::{Event, EventMsg};

use crate::AuditError;
use crate::chain::StoredRecord;
use crate::error::is_busy;
use crate::pipeline::{Derived, WriteRequest};
use crate::redact::redact;
use crate::search_text::indexed_text;
use crate::witness::{Locked, Witness};
use crate::writer::run_writer;
use crate::{checkpoint, commit, rollup};

/// Handle to one audit database. Cheap to clone.
#[derive(Clone)]
pub struct AuditStore {
    pub(crate) pool: SqlitePool,
    writer: mpsc::Sender<WriteRequest>,
    path: PathBuf,
}

impl AuditStore {
    /// Open (creating if needed) and migrate the database at `path`.
    /// A file that is not a SQLite database is reported and never modified.
    pub async fn open(path: &Path) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AuditError::Open {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| AuditError::Open {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            // A multi-row INSERT keeps a statement journal, which spills to a temporary
            // file past 64 KiB unless temporary storage is in memory (+8 % ingest on
            // average over four alternating runs, docs/benchmarks.md).
            .pragma("temp_store", "memory")
            // Checkpoints run beside the writer, not in its commits (checkpoint.rs; +10 %
            // ingest on average over three alternating pairs, docs/benchmarks.md).
            .pragma("wal_autocheckpoint", "0");
        let corrupt = |e: &dyn std::fmt::Display| AuditError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        // Check the file before anything writes to it (WAL mode, migrations).
        if path.exists() && !has_sqlite_header(path).map_err(|e| corrupt(&e))? {
            return Err(corrupt(&"the file does not start with the SQLite header"));
        }
        // One process at a time opens and migrates the store: several Warden processes
        // starting together would otherwise race to create and migrate it.
        let witness = Witness::open(path)?;
        let locked = lock_for_opening(&witness, path).await?;
        let pool = open_pool(path, options).await?;
        let started = std::time::Instant::now();
        loop {
            match sqlx::query("PRAGMA quick_check").execute(&pool).await {
                Ok(_) => break,
                Err(e) if is_busy(&e) && started.elapsed() < OPEN_PATIENCE => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) if is_busy(&e) => return Err(busy(path, started, &e)),
                Err(e) => return Err(corrupt(&e)),
            }
        }
        let started = std::time::Instant::now();
        loop {
            match sqlx::migrate!("./migrations").run(&pool).await {
                Ok(()) => break,
                Err(sqlx::migrate::MigrateError::Execute(e))
                    if is_busy(&e) && started.elapsed() < OPEN_PATIENCE =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(AuditError::Open {
                        path: path.to_path_buf(),
                        message: format!("migration failed: {e}"),
                    });
                }
            }
        }
        drop(locked);
        // The writer links on a thread of its own and commits on another (commit.rs):
        // however busy the caller's runtime is (agents, the UI's server), linking goes on
        // while SQLite writes, and a commit is followed by the next at once. Both end when
        // the last handle to the store is dropped.
        let commits = commit::spawn(path, checkpoint::spawn(pool.clone()))?;
        let (tx, rx) = mpsc::channel(1024);
        let writer_pool = pool.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(run_writer(commits, writer_pool, rx)),
                    Err(e) => tracing::error!(error = %e, "cannot start the audit writer"),
                }
            })
            .map_err(|e| AuditError::Open {
                path: path.to_path_buf(),
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            pool,
            writer: tx,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record a new session.
    pub async fn create_session(
        &self,
        session_id: &str,
        cwd: &str,
        created_at: i64,
    ) -> Result<(), AuditError> {
        sqlx::query("INSERT INTO sessions (session_id, cwd, created_at) VALUES (?, ?, ?)")
            .bind(session_id)
            .bind(cwd)
            .bind(created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Redact and append recorded events (each with the session's next `seq`, in order).
    /// Returns them as stored (redacted, with their turn), once committed and linked into
    /// the hash chain.
    pub async fn append(&self, events: Vec<Event>) -> Result<Vec<Event>, AuditError> {
        let mut stored = Vec::with_capacity(events.len());
        let mut records = Vec::with_capacity(events.len());
        let mut derived = Vec::with_capacity(events.len());
        for event in events {
            let seq = event.seq.ok_or_else(|| {
                AuditError::Write(format!("a {} event has no seq", event.msg.kind()))
            })?;
            let (msg, payload) = redacted(event.msg)?;
            let (tallies, answer) = rollup::tallies(&event.session_id, &msg);
            derived.push(Derived {
                text: indexed_text(&payload, &event.session_id, msg.kind(), msg.actor()),
                decision: msg.decision().map(|d| d.as_str()),
                tallies,
                answer,
            });
            records.push(StoredRecord {
                session_id: event.session_id.clone(),
                seq,
                created_at: event.created_at,
                kind: msg.kind().to_string(),
                actor: msg.actor().to_string(),
                event_id: uuid::Uuid::now_v7().to_string(),
                payload,
                hash: None,
                turn: None,
            });
            stored.push(Event { msg, ..event });
        }
        let (ack, done) = oneshot::channel();
        self.writer
            .send(WriteRequest {
                records,
                derived,
                ack,
            })
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        let turns = done.await.map_err(|_| AuditError::WriterStopped)??;
        for (event, turn) in stored.iter_mut().zip(turns) {
            event.turn = Some(turn);
        }
        Ok(stored)
    }
}

/// The event with secrets replaced, and its stored JSON.
fn redacted(msg: EventMsg) -> Result<(EventMsg, String), AuditError> {
    let json = serde_json::to_string(&msg).map_err(|e| AuditError::Decode(e.to_string()))?;
    match redact(&json) {
        std::borrow::Cow::Borrowed(_) => Ok((msg, json)),
        std::borrow::Cow::Owned(clean) => match serde_json::from_str::<EventMsg>(&clean) {
            Ok(msg) => Ok((msg, clean)),
            // Redaction never leaves a secret behind: keep the redacted text as an error
            // event rather than the original.
            Err(_) => {
                let msg = EventMsg::Error {
                    code: warden_protocol::ErrorCode::Redacted.as_str().into(),
                    message: clean,
                };
                let json =
                    serde_json::to_string(&msg).map_err(|e| AuditError::Decode(e.to_string()))?;
                Ok((msg, json))
            }
        },
    }
}

/// How long opening waits for other processes (one opening the store, or holding its
/// write lock) before it says the store is busy.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

fn busy(path: &Path, started: std::time::Instant, e: &dyn std::fmt::Display) -> AuditError {
    AuditError::Busy {
        path: path.to_path_buf(),
        waited_secs: started.elapsed().as_secs(),
        message: e.to_string(),
    }
}

/// The witness's lock, taken without blocking the runtime: another opening of the same
/// store may be running on this very thread.
async fn lock_for_opening<'w>(witness: &'w Witness, path: &Path) -> Result<Locked<'w>, AuditError> {
    let started = std::time::Instant::now();
    loop {
        if let Some(locked) = witness.try_lock()? {
            return Ok(locked);
        }
        if started.elapsed() >= OPEN_PATIENCE {
            return Err(busy(path, started, &"another Warden process is opening it"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Connect, waiting while another process holds a lock; only a file SQLite cannot read is
/// reported as such (never a lock).
async fn open_pool(path: &Path, options: SqliteConnectOptions) -> Result<SqlitePool, AuditError> {
    let started = std::time::Instant::now();
    loop {
        match SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => return Ok(pool),
            Err(e) if is_busy(&e) && started.elapsed() < OPEN_PATIENCE => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) if is_busy(&e) => return Err(busy(path, started, &e)),
            Err(e) => {
                return Err(AuditError::Corrupt {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
            }
        }
    }
}

fn has_sqlite_header(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path)?;
    let read = file.read(&mut header)?;
    // An empty file is a fresh database.
    Ok(read == 0 || (read == 16 && &header == b"SQLite format 3\0"))
}
