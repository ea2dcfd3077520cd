//! Running a shell tool call: the command in its sandbox (with its own proxy credential),
//! its output streamed, its result and denials recorded; and, when the sandbox blocked
//! writes outside the writable roots, a rerun with write access offered to the person
//! (as the router allows).

use std::path::Path;
use std::time::Duration;

use warden_policy::router::{QuestionKind, Route, RulesTier};
use warden_protocol::{EventMsg, ReviewDecision, SandboxDenial, SandboxMode};

use super::review::Subject;
use super::{Session, Stop};
use crate::tools::shell;
use warden_review::Action;

impl Session {
    /// Run the command; when the sandbox blocked writes outside the writable roots, offer
    /// the user a rerun with write access to the blocked folders.
    pub(super) async fn run_shell(
        &mut self,
        call_id: &str,
        argv: &[String],
        summary: &str,
        workdir: &Path,
        timeout_ms: Option<u64>,
    ) -> Result<String, Stop> {
        let policy = self.sandbox_policy.clone();
        let (first, denials) = self
            .run_shell_once(call_id, argv, workdir, timeout_ms, policy)
            .await?;
        let folders = rerun_folders(&denials);
        if folders.is_empty() || self.sandbox != SandboxMode::WorkspaceWrite {
            return Ok(first);
        }
        let listed: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
        let blocked: Vec<&str> = denials.iter().map(|d| d.detail.as_str()).collect();
        let reason = format!(
            "{}. Rerun with write access to {}?",
            blocked.join("; "),
            listed.join(", ")
        );
        // A rerun goes to a person, or to the reviewer model where
        // `auto_review.escalations` allows; never to the rules tier.
        let subject = Subject {
            call_id: call_id.to_string(),
            kind: QuestionKind::Escalation,
            tier: RulesTier::Unsettled,
            action: Some(Action::Shell {
                argv: argv.to_vec(),
                cwd: Some(self.shown_path(workdir)),
                escalate: true,
            }),
            reasons: vec![reason.clone()],
            findings: Vec::new(),
            script: None,
        };
        let (route, review) = self.settle(subject).await?;
        let answer = match route {
            Route::Approve { actor, why } => {
                self.record(EventMsg::ApprovalAnswered {
                    call_id: call_id.into(),
                    decision: ReviewDecision::ApproveOnce,
                    actor,
                    message: Some(why),
                })
                .await?;
                ReviewDecision::ApproveOnce
            }
            // Refused without asking: the first run's result stands.
            Route::Refuse { .. } => return Ok(first),
            Route::AskPerson | Route::Review => {
                self.ask_user(
                    call_id,
                    EventMsg::ApprovalRequested {
                        call_id: call_id.into(),
                        tool: "shell".into(),
                        summary: summary.into(),
                        cwd: workdir.display().to_string(),
                        reason,
                        risk: None,
                        can_always: false,
                        expires_at: None,
                        review,
                        hints: Vec::new(),
                    },
                )
                .await?
                .0
            }
        };
        let mut policy = self.sandbox_policy.clone();
        policy.writable_roots.extend(folders);
        match answer {
            ReviewDecision::ApproveOnce => {}
            ReviewDecision::ApproveForSession | ReviewDecision::ApproveAlways => {
                self.sandbox_policy = policy.clone()
            }
            ReviewDecision::Deny => {
                return Ok(format!(
                    "{first}\n[a rerun with write access to {} was declined]",
                    listed.join(", ")
                ));
            }
            ReviewDecision::Abort => return Err(Stop::Aborted),
        }
        let (second, _) = self
            .run_shell_once(call_id, argv, workdir, timeout_ms, policy)
            .await?;
        Ok(format!(
            "{first}\n[a rerun with write access to {} was approved]\n{second}",
            listed.join(", ")
        ))
    }

    async fn run_shell_once(
        &mut self,
        call_id: &str,
        argv: &[String],
        workdir: &Path,
        timeout_ms: Option<u64>,
        policy: warden_sandbox::SandboxPolicy,
    ) -> Result<(String, Vec<SandboxDenial>), Stop> {
        let max = self.config.shell.timeout_ms;
        let timeout = Duration::from_millis(timeout_ms.map_or(max, |t| t.min(max)));
        let streamer = self.streamer.clone();
        let cap = self.config.shell.output_cap_bytes;
        let id = call_id.to_string();
        let mut policy = policy;
        // With the proxy, the command gets its own credential (revoked when it ends) and
        // the proxy is its only way out.
        let proxy = self.egress.as_ref().map(|egress| {
            policy.egress = warden_sandbox::Egress::Proxy(egress.addr.port());
            let credential = egress.proxy.credentials().issue(warden_proxy::Attribution {
                session_id: Some(self.session_id.clone()),
                call_id: Some(call_id.to_string()),
                command: warden_policy::shell::command_line(argv),
                pid: None,
            });
            (credential, egress.addr)
        });
        let work = async move {
            let access = proxy.as_ref().map(|(credential, addr)| (credential, *addr));
            let ran = shell::run(
                argv,
                workdir,
                timeout,
                cap,
                &policy,
                access,
                |stream, chunk| {
                    streamer.send(EventMsg::OutputDelta {
                        call_id: id.clone(),
                        stream,
                        chunk,
                    })
                },
            )
            .await;
            // The command has ended: wait (bounded) until its connections are recorded,
            // so they come before its result.
            if let Some((credential, _)) = &proxy {
                credential.settle().await;
            }
            ran
        };
        let ran = self.interruptible(work).await?;
        self.drain_network().await?;
        let outcome = match ran {
            Ok(outcome) => outcome,
            Err(e) => {
                let text = self
                    .finish(
                        call_id,
                        false,
                        None,
                        0,
                        format!("could not run the command: {e}"),
                    )
                    .await?;
                return Ok((text, Vec::new()));
            }
        };
        if let Some(process) = &outcome.process {
            self.record(EventMsg::ProcessStarted {
                call_id: call_id.into(),
                pid: process.pid,
                started_at: process.started_at,
                executable: process.executable.clone(),
                command_line: warden_policy::shell::command_line(argv),
                parent_pid: std::process::id(),
                parent_executable: parent_executable(),
            })
            .await?;
        }
        let success = outcome.success();
        let mut for_model = match outcome.exit_code {
            Some(code) => format!("exit code: {code}\n{}", outcome.output),
            None => format!("killed by a signal\n{}", outcome.output),
        };
        let denials = outcome.denials;
        for denial in &denials {
            for_model.push_str(&format!("\n[sandbox] {}", denial.detail));
        }
        self.record(EventMsg::ToolResult {
            call_id: call_id.into(),
            success,
            exit_code: outcome.exit_code,
            duration_ms: outcome.duration.as_millis() as u64,
            output: outcome.output,
        })
        .await?;
        for denial in &denials {
            self.record(EventMsg::SandboxDenied {
                call_id: call_id.into(),
                denial: denial.clone(),
            })
            .await?;
        }
        Ok((for_model, denials))
    }
}

/// This process's executable: the parent of every command it runs.
fn parent_executable() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Folders a rerun would need write access to: the nearest existing folder of each write
/// refused for being outside the writable roots (never `/`, and not protected paths,
/// which stay read-only whatever the roots).
fn rerun_folders(denials: &[SandboxDenial]) -> Vec<std::path::PathBuf> {
    let mut folders: Vec<std::path::PathBuf> = Vec::new();
    for denial in denials {
        if denial.operation != "write" || denial.layer != "landlock" {
            continue;
        }
        let target = Path::new(&denial.target);
        let Some(folder) = target.ancestors().skip(1).find(|a| a.is_dir()) else {
            continue;
        };
        if folder != Path::new("/") && !folders.iter().any(|f| f == folder) {
            folders.push(folder.to_path_buf());
        }
    }
    folders
}
