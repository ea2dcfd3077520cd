//! Turning a failed command's output into structured sandbox denials.
//!
//! For now this reads the error lines programs print for a refused path
//! (`EACCES`/`EROFS`/`EPERM`) and keeps only paths the policy really does not allow
//! writing, so an ordinary "permission denied" inside the workspace is not blamed on
//! the sandbox. Kernel-reported denials replace this in the sandbox hardening work.

use std::path::{Path, PathBuf};

use warden_protocol::SandboxDenial;

use crate::SandboxPolicy;

const REFUSALS: &[&str] = &[
    "Permission denied",
    "Read-only file system",
    "Operation not permitted",
];

/// Denials explaining why a command that failed was blocked, if it was.
pub fn explain_failure(output: &str, cwd: &Path, policy: &SandboxPolicy) -> Vec<SandboxDenial> {
    let writable = policy.effective_writable_roots();
    let mut denials: Vec<SandboxDenial> = Vec::new();
    for line in output
        .lines()
        .filter(|l| REFUSALS.iter().any(|r| l.contains(r)))
    {
        let Some(raw) = path_in(line) else { continue };
        let path = if Path::new(&raw).is_absolute() {
            PathBuf::from(&raw)
        } else {
            cwd.join(&raw)
        };
        let path = normalize(&path);
        if writable.iter().any(|root| path.starts_with(root)) {
            continue;
        }
        let target = path.display().to_string();
        if denials.iter().any(|d| d.target == target) {
            continue;
        }
        denials.push(SandboxDenial {
            operation: "write".into(),
            detail: format!("blocked: write to {target} (outside the writable roots)"),
            target,
            layer: "landlock".into(),
        });
    }
    denials
}

/// The path a refusal line is about: the first quoted text, or the last `/…` token
/// before the refusal.
fn path_in(line: &str) -> Option<String> {
    for (open, close) in [('\'', '\''), ('‘', '’'), ('"', '"'), ('`', '\'')] {
        if let Some(start) = line.find(open) {
            let rest = &line[start + open.len_utf8()..];
            if let Some(end) = rest.find(close) {
                let quoted = &rest[..end];
                if !quoted.is_empty() && !quoted.contains(' ') {
                    return Some(quoted.to_string());
                }
            }
        }
    }
    let before = REFUSALS
        .iter()
        .filter_map(|r| line.find(r))
        .min()
        .map(|i| &line[..i])?;
    before
        .split([' ', ':'])
        .rfind(|t| t.starts_with('/') || t.starts_with("./") || t.starts_with("../"))
        .map(str::to_string)
}

/// Resolve `.` and `..` lexically (the file may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use warden_protocol::SandboxMode;

    use super::*;

    fn policy(ws: &str) -> SandboxPolicy {
        SandboxPolicy {
            mode: SandboxMode::WorkspaceWrite,
            writable_roots: vec![PathBuf::from(ws)],
        }
    }

    #[test]
    fn common_refusal_messages_name_the_path() {
        let cases = [
            ("touch: cannot touch '/etc/x': Permission denied", "/etc/x"),
            ("sh: 1: cannot create /etc/x: Permission denied", "/etc/x"),
            (
                "mkdir: cannot create directory ‘/opt/y’: Permission denied",
                "/opt/y",
            ),
            (
                "PermissionError: [Errno 13] Permission denied: '/usr/z'",
                "/usr/z",
            ),
            ("bash: ../outside.txt: Permission denied", "/w/outside.txt"),
        ];
        for (line, target) in cases {
            let denials = explain_failure(line, Path::new("/w/ws"), &policy("/w/ws"));
            assert_eq!(
                denials,
                vec![SandboxDenial {
                    operation: "write".into(),
                    target: target.into(),
                    layer: "landlock".into(),
                    detail: format!("blocked: write to {target} (outside the writable roots)"),
                }],
                "{line}"
            );
        }
    }

    #[test]
    fn refusals_inside_writable_roots_are_not_blamed_on_the_sandbox() {
        let line = "touch: cannot touch '/w/ws/locked': Permission denied";
        assert!(explain_failure(line, Path::new("/w/ws"), &policy("/w/ws")).is_empty());
    }
}
