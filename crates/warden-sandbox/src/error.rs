//! Errors from building the boundary.

use warden_protocol::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the sandbox is not available on {0}; choose --sandbox full-access explicitly to run without it"
    )]
    Unsupported(String),
    #[error(
        "the Landlock file-system boundary could not be built ({0}); refusing to run without it"
    )]
    Landlock(String),
    #[error("seccomp filter could not be built: {0}")]
    Seccomp(String),
    #[error(
        "refusing to run with a weaker sandbox: {lost}. Accept it by name ({name}) only if you must"
    )]
    Weaker {
        name: &'static str,
        lost: &'static str,
    },
    #[error("writable root {path}: {message}")]
    WritableRoot { path: String, message: String },
}

impl SandboxError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unsupported(_) => ErrorCode::SandboxUnsupported,
            Self::Landlock(_) => ErrorCode::SandboxLandlock,
            Self::Seccomp(_) => ErrorCode::SandboxSeccomp,
            Self::WritableRoot { .. } => ErrorCode::SandboxWritableRoot,
            Self::Weaker { .. } => ErrorCode::SandboxWeaker,
        }
    }
}

impl warden_protocol::Coded for SandboxError {
    fn code(&self) -> ErrorCode {
        SandboxError::code(self)
    }
}
