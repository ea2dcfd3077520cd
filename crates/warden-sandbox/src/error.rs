//! Errors from building the boundary.

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
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "sandbox_unsupported",
            Self::Landlock(_) => "sandbox_landlock",
            Self::Seccomp(_) => "sandbox_seccomp",
            Self::WritableRoot { .. } => "sandbox_writable_root",
            Self::Weaker { .. } => "sandbox_weaker",
        }
    }
}
