//! Errors from the audit store.

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
}

impl From<sqlx::Error> for AuditError {
    fn from(error: sqlx::Error) -> Self {
        Self::Query(error)
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

    pub fn code(&self) -> &'static str {
        match self {
            Self::Open { .. } => "audit_open",
            Self::Corrupt { .. } => "audit_corrupt",
            Self::Query(_) => "audit_query",
            Self::Decode(_) => "audit_decode",
            Self::UnknownSession(_) => "audit_unknown_session",
            Self::Write(_) => "audit_write",
            Self::WriterStopped => "audit_writer_stopped",
        }
    }
}
