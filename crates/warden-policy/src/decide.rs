//! The approval decision for one action, with its reasons.
//!
//! Full command rules and admin requirements deepen this later; the shape stays:
//! an action and its context in, a verdict with sourced reasons out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use warden_protocol::{ApprovalPolicy, PolicySource, Reason, SandboxMode, Verdict};

use crate::safe_commands::is_known_safe;

/// What the agent wants to do.
#[derive(Debug, Clone, Copy)]
pub enum ActionRequest<'a> {
    /// Run a command line (argv) in `cwd`.
    Shell { argv: &'a [String], cwd: &'a Path },
    /// Read a file or list a folder, in-process.
    Read { path: &'a Path },
    /// Write these files (a patch).
    Write { paths: &'a [PathBuf] },
}

/// Everything about the session that a decision depends on.
#[derive(Debug, Clone)]
pub struct DecisionContext<'a> {
    pub policy: ApprovalPolicy,
    pub sandbox: SandboxMode,
    /// False where the OS boundary is not enforced (e.g. Windows): every command asks.
    pub sandbox_enforced: bool,
    pub workspace: &'a Path,
    pub writable_roots: &'a [PathBuf],
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
}

impl Decision {
    fn built_in(verdict: Verdict, rule: &str, justification: impl Into<String>) -> Self {
        Self {
            verdict,
            reasons: vec![Reason {
                rule: rule.to_string(),
                source: PolicySource::BuiltIn,
                justification: justification.into(),
            }],
        }
    }

    /// The first reason's justification, for one-line displays.
    pub fn summary(&self) -> String {
        self.reasons
            .first()
            .map(|r| r.justification.clone())
            .unwrap_or_default()
    }
}

/// Decide one action.
pub fn decide(request: ActionRequest<'_>, cx: &DecisionContext<'_>) -> Decision {
    match request {
        ActionRequest::Shell { argv, .. } => decide_shell(argv, cx),
        ActionRequest::Read { path } => {
            if path.starts_with(cx.workspace) {
                Decision::built_in(
                    Verdict::Allow,
                    "read-in-workspace",
                    "reads inside the workspace are allowed",
                )
            } else {
                Decision::built_in(
                    Verdict::Prompt,
                    "read-outside-workspace",
                    format!("reads {} outside the workspace", path.display()),
                )
            }
        }
        ActionRequest::Write { paths } => decide_write(paths, cx),
    }
}

fn decide_shell(argv: &[String], cx: &DecisionContext<'_>) -> Decision {
    if argv.is_empty() {
        return Decision::built_in(Verdict::Forbidden, "empty-command", "the command is empty");
    }
    if !cx.sandbox_enforced {
        return Decision::built_in(
            Verdict::Prompt,
            "no-sandbox",
            "commands are not sandboxed on this platform, so every command needs approval",
        );
    }
    if is_known_safe(argv) {
        return Decision::built_in(Verdict::Allow, "known-safe", "a known read-only command");
    }
    match cx.policy {
        ApprovalPolicy::Untrusted => Decision::built_in(
            Verdict::Prompt,
            "untrusted-policy",
            "not on the known-safe list, and the approval policy is untrusted",
        ),
        ApprovalPolicy::OnRequest | ApprovalPolicy::Never => Decision::built_in(
            Verdict::Allow,
            "sandboxed",
            format!("runs inside the {} sandbox", cx.sandbox.as_str()),
        ),
    }
}

fn decide_write(paths: &[PathBuf], cx: &DecisionContext<'_>) -> Decision {
    if cx.sandbox == SandboxMode::ReadOnly {
        return Decision::built_in(
            Verdict::Prompt,
            "read-only-sandbox",
            "the sandbox is read-only",
        );
    }
    if cx.sandbox == SandboxMode::FullAccess {
        return Decision::built_in(
            Verdict::Allow,
            "full-access",
            "the sandbox mode is full-access",
        );
    }
    let outside: Vec<String> = paths
        .iter()
        .filter(|p| !cx.writable_roots.iter().any(|root| p.starts_with(root)))
        .map(|p| p.display().to_string())
        .collect();
    if outside.is_empty() {
        Decision::built_in(
            Verdict::Allow,
            "write-in-workspace",
            "writes inside writable roots",
        )
    } else {
        Decision::built_in(
            Verdict::Prompt,
            "write-outside-workspace",
            format!("writes outside the writable roots: {}", outside.join(", ")),
        )
    }
}

/// The key under which "approve for session" answers are cached: the command as parsed
/// (program name without its directory, then arguments) and the working directory.
pub fn canonical_command_key(argv: &[String], cwd: &Path) -> String {
    let mut parts: Vec<&str> = argv.iter().map(String::as_str).collect();
    if let Some(first) = parts.first_mut() {
        *first = first.rsplit('/').next().unwrap_or(first);
    }
    serde_json::json!({ "argv": parts, "cwd": cwd }).to_string()
}

/// Answers the user gave "for this session".
#[derive(Debug, Default)]
pub struct SessionApprovals {
    keys: HashSet<String>,
}

impl SessionApprovals {
    pub fn insert(&mut self, key: String) {
        self.keys.insert(key);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx<'a>(
        policy: ApprovalPolicy,
        workspace: &'a Path,
        roots: &'a [PathBuf],
    ) -> DecisionContext<'a> {
        DecisionContext {
            policy,
            sandbox: SandboxMode::WorkspaceWrite,
            sandbox_enforced: true,
            workspace,
            writable_roots: roots,
        }
    }

    fn argv(s: &str) -> Vec<String> {
        shlex::split(s).unwrap()
    }

    #[test]
    fn untrusted_asks_for_anything_not_known_safe() {
        let ws = PathBuf::from("/w");
        let roots = [ws.clone()];
        let cx = cx(ApprovalPolicy::Untrusted, &ws, &roots);
        let safe = argv("ls -la");
        let risky = argv("touch x");
        assert_eq!(
            decide(
                ActionRequest::Shell {
                    argv: &safe,
                    cwd: &ws
                },
                &cx
            )
            .verdict,
            Verdict::Allow
        );
        let d = decide(
            ActionRequest::Shell {
                argv: &risky,
                cwd: &ws,
            },
            &cx,
        );
        assert_eq!(
            d,
            Decision {
                verdict: Verdict::Prompt,
                reasons: vec![Reason {
                    rule: "untrusted-policy".into(),
                    source: PolicySource::BuiltIn,
                    justification:
                        "not on the known-safe list, and the approval policy is untrusted".into(),
                }]
            }
        );
    }

    #[test]
    fn on_request_runs_commands_in_the_sandbox_without_asking() {
        let ws = PathBuf::from("/w");
        let roots = [ws.clone()];
        let risky = argv("touch x");
        let d = decide(
            ActionRequest::Shell {
                argv: &risky,
                cwd: &ws,
            },
            &cx(ApprovalPolicy::OnRequest, &ws, &roots),
        );
        assert_eq!(d.verdict, Verdict::Allow);
        assert_eq!(d.reasons[0].rule, "sandboxed");
    }

    #[test]
    fn without_an_enforced_sandbox_every_command_asks() {
        let ws = PathBuf::from("/w");
        let roots = [ws.clone()];
        let mut cx = cx(ApprovalPolicy::Never, &ws, &roots);
        cx.sandbox_enforced = false;
        let safe = argv("ls");
        assert_eq!(
            decide(
                ActionRequest::Shell {
                    argv: &safe,
                    cwd: &ws
                },
                &cx
            )
            .verdict,
            Verdict::Prompt
        );
    }

    #[test]
    fn writes_and_reads_outside_the_workspace_ask() {
        let ws = PathBuf::from("/w");
        let roots = [ws.clone()];
        let cx = cx(ApprovalPolicy::OnRequest, &ws, &roots);
        let inside = [PathBuf::from("/w/a.txt")];
        let outside = [PathBuf::from("/etc/passwd")];
        assert_eq!(
            decide(ActionRequest::Write { paths: &inside }, &cx).verdict,
            Verdict::Allow
        );
        assert_eq!(
            decide(ActionRequest::Write { paths: &outside }, &cx).verdict,
            Verdict::Prompt
        );
        assert_eq!(
            decide(ActionRequest::Read { path: &outside[0] }, &cx).verdict,
            Verdict::Prompt
        );
    }

    #[test]
    fn session_key_ignores_the_program_directory() {
        let cwd = PathBuf::from("/w");
        assert_eq!(
            canonical_command_key(&argv("/usr/bin/touch x"), &cwd),
            canonical_command_key(&argv("touch x"), &cwd)
        );
        assert_ne!(
            canonical_command_key(&argv("touch x"), &cwd),
            canonical_command_key(&argv("touch x"), Path::new("/other"))
        );
    }
}
