//! Run one command inside the OS boundary. Nothing else.
//!
//! [`SandboxPolicy`] says what the command may touch; [`prepare`] turns a
//! `std::process::Command` into one that enforces it (on Linux: Landlock for the file
//! system and TCP, seccomp for sockets and process inspection), built in the parent and
//! applied between fork and exec. [`explain_failure`] reports what the boundary blocked.

mod denials;
mod env;
mod error;
#[cfg(target_os = "linux")]
mod linux;

use std::path::PathBuf;

pub use denials::explain_failure;
pub use env::scrub_environment;
pub use error::SandboxError;
use warden_protocol::SandboxMode;

/// What one command may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    pub mode: SandboxMode,
    /// Writable folders (the workspace first) for `workspace-write`; tmp is added.
    pub writable_roots: Vec<PathBuf>,
}

impl SandboxPolicy {
    /// Every folder the command may write to under this policy.
    pub fn effective_writable_roots(&self) -> Vec<PathBuf> {
        match self.mode {
            SandboxMode::ReadOnly => Vec::new(),
            SandboxMode::FullAccess => vec![PathBuf::from("/")],
            SandboxMode::WorkspaceWrite => {
                let mut roots = self.writable_roots.clone();
                roots.push(std::env::temp_dir());
                if std::env::temp_dir() != std::path::Path::new("/tmp") {
                    roots.push(PathBuf::from("/tmp"));
                }
                roots
            }
        }
    }
}

/// What this machine's kernel lets Warden enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSupport {
    /// True when commands can run inside an enforced boundary here.
    pub enforced: bool,
    /// One line for settings screens and logs.
    pub summary: String,
}

/// Detect what the OS offers.
pub fn support() -> SandboxSupport {
    #[cfg(target_os = "linux")]
    {
        linux::support()
    }
    #[cfg(not(target_os = "linux"))]
    {
        SandboxSupport {
            enforced: false,
            summary: "not enforced on this platform: every command needs approval".into(),
        }
    }
}

/// Make `command` run inside `policy`'s boundary, with a scrubbed environment.
/// Fails closed: if the boundary cannot be built, the command must not run.
pub fn prepare(
    command: &mut std::process::Command,
    policy: &SandboxPolicy,
) -> Result<(), SandboxError> {
    scrub_environment(command);
    if policy.mode == SandboxMode::FullAccess {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        linux::confine(command, policy)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(SandboxError::Unsupported(std::env::consts::OS.to_string()))
    }
}
