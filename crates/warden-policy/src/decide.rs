//! The approval decision for one action, with its reasons.
//!
//! An action and its context in, a verdict with sourced reasons out. Shell commands are
//! analysed (every program they would run), matched against the rules, scored for risk,
//! and combined by taking the strictest answer.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use warden_protocol::{ApprovalPolicy, PolicySource, Reason, SandboxMode, Verdict};

use crate::config::{McpApproval, SensitiveEdits};
use crate::risk::{Assessment, assess};
use crate::rules::RuleSet;
use crate::safe_commands::is_known_safe;
use crate::shell::{Analysis, Invocation, Role, analyze_argv};

/// What the agent wants to do.
#[derive(Debug, Clone, Copy)]
pub enum ActionRequest<'a> {
    /// Run a command line (argv) in `cwd`.
    Shell { argv: &'a [String], cwd: &'a Path },
    /// Read a file or list a folder, in-process.
    Read { path: &'a Path },
    /// Write these files (a patch). `diffs` holds each file's edit (its added and removed
    /// lines), where known, in the same order; it tells a package manifest's scripts from
    /// its other fields.
    Write {
        paths: &'a [PathBuf],
        diffs: &'a [String],
    },
    /// Call a tool of a configured MCP server: its approval, the setting that gave it
    /// (`mcp_servers.SERVER.tools.TOOL.approval` or `mcp_servers.SERVER.approval`) and
    /// where that came from.
    McpTool {
        server: &'a str,
        tool: &'a str,
        approval: McpApproval,
        rule: &'a str,
        source: &'a PolicySource,
    },
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
    /// Command rules from every layer (user, trusted project, admin requirements).
    pub rules: &'a RuleSet,
    /// Whether edits to sensitive files are questions (`approvals.sensitive_edits`).
    pub sensitive_edits: SensitiveEdits,
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// The command's risk score (shell commands only).
    pub risk: Option<Assessment>,
    /// A prompt that only the approval policy's default asked for (no rule, no dangerous
    /// pattern, nothing unresolved): auto-review may answer it.
    pub reviewable: bool,
}

fn built_in_reason(rule: &str, justification: impl Into<String>) -> Reason {
    Reason {
        rule: rule.to_string(),
        source: PolicySource::BuiltIn,
        justification: justification.into(),
    }
}

impl Decision {
    fn built_in(verdict: Verdict, rule: &str, justification: impl Into<String>) -> Self {
        Self {
            verdict,
            reasons: vec![built_in_reason(rule, justification)],
            risk: None,
            reviewable: false,
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
        ActionRequest::Write { paths, diffs } => decide_write(paths, diffs, cx),
        ActionRequest::McpTool {
            server,
            tool,
            approval,
            rule,
            source,
        } => {
            let (verdict, why) = match approval {
                McpApproval::Allow => (
                    Verdict::Allow,
                    format!("`{tool}` of MCP server `{server}` runs without asking"),
                ),
                McpApproval::Ask => (
                    Verdict::Prompt,
                    format!("`{tool}` of MCP server `{server}` needs approval"),
                ),
                McpApproval::Deny => (
                    Verdict::Forbidden,
                    format!("`{tool}` of MCP server `{server}` is refused"),
                ),
            };
            Decision {
                verdict,
                reasons: vec![Reason {
                    rule: rule.to_string(),
                    source: source.clone(),
                    justification: why,
                }],
                risk: None,
                reviewable: false,
            }
        }
    }
}

fn decide_shell(argv: &[String], cx: &DecisionContext<'_>) -> Decision {
    if argv.is_empty() {
        return Decision::built_in(Verdict::Forbidden, "empty-command", "the command is empty");
    }
    let analysis = analyze_argv(argv);
    let risk = assess(&analysis);
    let mut found: Vec<(Verdict, Reason)> = Vec::new();
    let mut needs_allowance = Vec::new();
    for invocation in &analysis.invocations {
        let matched = cx.rules.matching(invocation);
        found.extend(matched.iter().map(|rule| (rule.decision, rule.reason())));
        let allowed_by_rule = matched.iter().any(|r| r.decision == Verdict::Allow);
        if invocation.role == Role::Program && !allowed_by_rule && !known_safe(invocation) {
            needs_allowance.push(invocation.name.clone());
        }
    }
    for finding in risk.dangerous() {
        found.push((
            Verdict::Prompt,
            built_in_reason(finding.id, finding.why.clone()),
        ));
    }
    if !cx.sandbox_enforced {
        found.push((
            Verdict::Prompt,
            built_in_reason(
                "no-sandbox",
                "commands are not sandboxed on this platform, so every command needs approval",
            ),
        ));
    }
    let mut default_prompt = false;
    // Known-safe means read-only: a redirection that writes (or connects) takes the whole
    // line off the known-safe path, whatever its programs are.
    let writes = &analysis.writes;
    if !needs_allowance.is_empty() || !writes.is_empty() {
        needs_allowance.dedup();
        match cx.policy {
            ApprovalPolicy::Untrusted => {
                default_prompt = true;
                let mut why = Vec::new();
                if !needs_allowance.is_empty() {
                    why.push(format!(
                        "`{}` is not on the known-safe list",
                        needs_allowance.join("`, `")
                    ));
                }
                if !writes.is_empty() {
                    why.push(format!(
                        "`{}` writes through a redirection",
                        writes.join("`, `")
                    ));
                }
                found.push((
                    Verdict::Prompt,
                    built_in_reason(
                        "untrusted-policy",
                        format!("{}, and the approval policy is untrusted", why.join("; ")),
                    ),
                ));
            }
            ApprovalPolicy::OnRequest | ApprovalPolicy::Never => found.push((
                Verdict::Allow,
                built_in_reason(
                    "sandboxed",
                    format!("runs inside the {} sandbox", cx.sandbox.as_str()),
                ),
            )),
        }
    } else if !found.iter().any(|(v, _)| *v == Verdict::Allow) {
        found.push((
            Verdict::Allow,
            built_in_reason("known-safe", "a known read-only command"),
        ));
    }
    let verdict = found
        .iter()
        .map(|(v, _)| *v)
        .max()
        .unwrap_or(Verdict::Prompt);
    let prompt_reasons = found.iter().filter(|(v, _)| *v == Verdict::Prompt).count();
    let reviewable = verdict == Verdict::Prompt && default_prompt && prompt_reasons == 1;
    let mut reasons: Vec<Reason> = Vec::new();
    for (v, reason) in found {
        if v == verdict && !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    Decision {
        verdict,
        reasons,
        risk: Some(risk),
        reviewable,
    }
}

/// Known read-only, and not given options that make git run other programs.
fn known_safe(invocation: &Invocation) -> bool {
    let risky_globals = invocation
        .global_options
        .iter()
        .any(|o| o == "-c" || o.starts_with("--config-env") || o.starts_with("--exec-path"));
    !risky_globals && is_known_safe(&invocation.argv())
}

fn decide_write(paths: &[PathBuf], diffs: &[String], cx: &DecisionContext<'_>) -> Decision {
    if cx.sandbox == SandboxMode::ReadOnly {
        return Decision::built_in(
            Verdict::Prompt,
            "read-only-sandbox",
            "the sandbox is read-only",
        );
    }
    // An edit that changes what runs later (CI, hooks, shell start-up, build and package
    // scripts) or what Warden applies is a question wherever it is written.
    if cx.sensitive_edits == SensitiveEdits::Ask {
        let sensitive: Vec<String> = paths
            .iter()
            .enumerate()
            .filter_map(|(i, path)| {
                let relative = path.strip_prefix(cx.workspace).unwrap_or(path);
                let diff = diffs.get(i).map(String::as_str).unwrap_or_default();
                crate::sensitive::class(relative, diff)
                    .map(|class| format!("{class} ({})", relative.display()))
            })
            .collect();
        if !sensitive.is_empty() {
            return Decision::built_in(
                Verdict::Prompt,
                "sensitive-edit",
                format!("edits {}", sensitive.join(", ")),
            );
        }
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
/// (every program it runs, with its arguments; a program in a system folder by its name,
/// anywhere else by its path) and the working directory. Spelling does not matter:
/// `/usr/bin/git   status` and `git status` share a key.
pub fn canonical_command_key(argv: &[String], cwd: &Path) -> String {
    let analysis: Analysis = analyze_argv(argv);
    let programs: Vec<Vec<String>> = analysis
        .invocations
        .iter()
        // `sh -c SCRIPT` is keyed by what the script runs, not by how it is spelled.
        .filter(|inv| !(inv.role == Role::Wrapper && crate::shell::is_shell(&inv.name)))
        .map(|inv| {
            let program = match &inv.path {
                Some(path) if !in_system_folder(path) => path.clone(),
                _ => inv.name.clone(),
            };
            std::iter::once(program)
                .chain(inv.global_options.iter().cloned())
                .chain(inv.args.iter().cloned())
                .collect()
        })
        .collect();
    // What a line writes through redirections is part of what was approved.
    if analysis.writes.is_empty() {
        serde_json::json!({ "programs": programs, "cwd": cwd }).to_string()
    } else {
        serde_json::json!({ "programs": programs, "cwd": cwd, "writes": analysis.writes })
            .to_string()
    }
}

fn in_system_folder(path: &str) -> bool {
    const SYSTEM: &[&str] = &[
        "/usr/bin/",
        "/bin/",
        "/usr/local/bin/",
        "/usr/sbin/",
        "/sbin/",
    ];
    SYSTEM.iter().any(|dir| {
        path.strip_prefix(dir)
            .is_some_and(|rest| !rest.contains('/'))
    })
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
