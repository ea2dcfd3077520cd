//! What the host's API can fail with: the typed errors of the crates below it, and the
//! host's own refusals, each with its code (`ErrorCode`). Handlers return these; they
//! become an `ApiError` in one place (`warden_protocol::ApiError::from`).

use warden_audit::AuditError;
use warden_policy::PolicyError;
use warden_protocol::{Coded, ErrorCode};
use warden_proxy::ProxyError;

use crate::SecretError;
use crate::model::ModelError;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] PolicyError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error(transparent)]
    Triage(#[from] warden_triage::TriageError),
    #[error(transparent)]
    Insights(#[from] warden_insights::InsightsError),
    /// A suggestion to apply that names nothing a rule can allow, or user rules are
    /// forbidden.
    #[error("{0}")]
    SuggestionInvalid(String),
    /// No workspace folder given, or it does not exist.
    #[error("{0}")]
    WorkspaceMissing(String),
    /// The session is not (or no longer) running in this process.
    #[error("{0}")]
    SessionNotRunning(String),
    #[error("{0}")]
    SettingsInvalid(String),
    /// The settings are fixed by a `-c` flag of the running process.
    #[error(
        "the model settings are set on the command line (-c {0}); remove that override to change them here"
    )]
    SettingsOverridden(String),
    #[error("type a command to check")]
    CommandEmpty,
    #[error("cannot export the session: {0}")]
    ExportFailed(std::io::Error),
    #[error(
        "{0} is not in a trusted project (add it to trusted_projects, or run `warden policy trust` there)"
    )]
    ProjectNotTrusted(String),
    /// A sign-in could not be started or did not complete.
    #[error("{0}")]
    SignIn(String),
    /// Something that should not happen (a task that panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

impl HostError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Config(e) => e.code(),
            Self::Audit(e) => e.code(),
            Self::Model(e) => e.code(),
            Self::Secret(e) => e.code(),
            Self::Proxy(e) => e.code(),
            Self::Triage(e) => warden_protocol::Coded::code(e),
            Self::Insights(e) => e.code(),
            Self::SuggestionInvalid(_) => ErrorCode::SuggestionInvalid,
            Self::WorkspaceMissing(_) => ErrorCode::WorkspaceMissing,
            Self::SessionNotRunning(_) => ErrorCode::SessionNotRunning,
            Self::SettingsInvalid(_) => ErrorCode::SettingsInvalid,
            Self::SettingsOverridden(_) => ErrorCode::SettingsOverridden,
            Self::CommandEmpty => ErrorCode::CommandEmpty,
            Self::ExportFailed(_) => ErrorCode::ExportFailed,
            Self::ProjectNotTrusted(_) => ErrorCode::ProjectNotTrusted,
            Self::SignIn(_) => ErrorCode::SignInFailed,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// A blocking task that did not finish (it panicked or was cancelled).
    pub(crate) fn join(e: tokio::task::JoinError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl Coded for HostError {
    fn code(&self) -> ErrorCode {
        HostError::code(self)
    }
}
