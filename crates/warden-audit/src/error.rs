//! Errors from the audit store.

use warden_protocol::ErrorCode;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "the audit database {path} is not a readable SQLite database ({message}); it was left untouched: move it aside to start a new one"
    )]
    Corrupt { path: PathBuf, message: String },
    /// The database's own error is in the message, not a separate cause, so a chain of
    /// causes (`{:#}`) prints it once.
    #[error("audit database error: {0}")]
    Query(sqlx::Error),
    #[error("audit record is not valid: {0}")]
    Decode(String),
    #[error("no session {0} in the audit store")]
    UnknownSession(String),
    #[error("audit write failed: {0}")]
    Write(String),
    #[error("the audit writer has stopped")]
    WriterStopped,
    /// Another connection (often another Warden process) held the database longer than
    /// Warden waits. Nothing is wrong with the file.
    #[error(
        "the audit database {path} is busy: another Warden process has held it for {waited_secs} s ({message}); nothing was lost, try again"
    )]
    Busy {
        path: PathBuf,
        waited_secs: u64,
        message: String,
    },
    /// The store's own consistency could not be established (a witness file that cannot
    /// be read or written).
    #[error("audit witness {path}: {message}")]
    Witness { path: PathBuf, message: String },
    /// The OpenTelemetry exporter cannot start with these settings.
    #[error("{0}")]
    Exporter(String),
}

impl From<sqlx::Error> for AuditError {
    fn from(error: sqlx::Error) -> Self {
        Self::Query(error)
    }
}

/// Whether SQLite said the database was locked by another connection (SQLITE_BUSY or
/// SQLITE_LOCKED, with any extended code): a reason to wait, never a sign of damage.
pub(crate) fn is_busy_code(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6)
}

/// Whether a sqlx error is SQLite saying "busy" or "locked".
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(is_busy_code),
        _ => false,
    }
}

impl AuditError {
    /// This failure told to each request it refused: a write error's message as it is
    /// ("audit write failed: …" once, not twice), anything else as its text.
    pub(crate) fn for_each_request(&self) -> AuditError {
        match self {
            Self::Write(message) => Self::Write(message.clone()),
            other => Self::Write(other.to_string()),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Open { .. } => ErrorCode::AuditOpen,
            Self::Corrupt { .. } => ErrorCode::AuditCorrupt,
            Self::Query(_) => ErrorCode::AuditQuery,
            Self::Decode(_) => ErrorCode::AuditDecode,
            Self::UnknownSession(_) => ErrorCode::AuditUnknownSession,
            Self::Write(_) => ErrorCode::AuditWrite,
            Self::WriterStopped => ErrorCode::AuditWriterStopped,
            Self::Busy { .. } => ErrorCode::AuditBusy,
            Self::Witness { .. } => ErrorCode::AuditWitness,
            Self::Exporter(_) => ErrorCode::AuditExporter,
        }
    }
}

impl warden_protocol::Coded for AuditError {
    fn code(&self) -> ErrorCode {
        AuditError::code(self)
    }
}
