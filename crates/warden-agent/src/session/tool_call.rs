//! One tool call: propose, decide, maybe ask, run, report.

use std::path::Path;
use std::time::Duration;

use warden_policy::config::CategoryApproval;
use warden_policy::risk::{Assessment, RiskLevel};
use warden_policy::{ActionRequest, Decision, DecisionContext, canonical_command_key, decide};
use warden_protocol::{
    Actor, ApprovalPolicy, EventMsg, Op, PolicySource, Reason, ReviewDecision, SandboxDenial,
    SandboxMode, Verdict,
};

use super::{Session, Stop};
use crate::model::ToolCall;
use crate::tools::{self, ToolInvocation, shell};

/// What the approval step concluded.
enum Approval {
    Run,
    Denied(String),
}

impl Session {
    /// Handle one call; the returned text is what the model sees.
    pub(super) async fn handle_tool_call(&mut self, call: &ToolCall) -> Result<String, Stop> {
        let arguments = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| serde_json::Value::String(call.arguments.clone()));
        let parsed = match self.mcp.resolve(&call.name) {
            Some((server, tool)) => Ok(ToolInvocation::Mcp {
                server: server.name.clone(),
                tool: tool.to_string(),
                arguments: arguments.clone(),
            }),
            None => tools::parse(&call.name, &call.arguments, &self.cwd),
        };
        let invocation = match parsed {
            Ok(invocation) => invocation,
            Err(message) => {
                self.record(EventMsg::ToolCallProposed {
                    call_id: call.call_id.clone(),
                    tool: call.name.clone(),
                    summary: "(invalid call)".into(),
                    cwd: self.cwd.display().to_string(),
                    arguments,
                })
                .await?;
                return self.finish(&call.call_id, false, None, 0, message).await;
            }
        };
        let workdir = match &invocation {
            ToolInvocation::Shell { workdir, .. } => workdir.clone(),
            _ => self.cwd.clone(),
        };
        self.record(EventMsg::ToolCallProposed {
            call_id: call.call_id.clone(),
            tool: call.name.clone(),
            summary: invocation.summary(),
            cwd: workdir.display().to_string(),
            arguments,
        })
        .await?;

        let decision = self.decide(&invocation);
        let approval = match decision.verdict {
            Verdict::Allow => {
                self.record_decision(&call.call_id, &decision, Actor::Rule)
                    .await?;
                Approval::Run
            }
            Verdict::Forbidden => {
                self.record_decision(&call.call_id, &decision, Actor::Rule)
                    .await?;
                Approval::Denied(format!("forbidden by policy: {}", decision.summary()))
            }
            Verdict::Prompt => {
                self.ask(&call.call_id, &call.name, &invocation, &workdir, decision)
                    .await?
            }
        };
        match approval {
            Approval::Run => self.execute(&call.call_id, invocation, &workdir).await,
            Approval::Denied(why) => {
                let message = format!(
                    "This action was not run: {why}. Do not retry it; choose another approach or ask the user."
                );
                self.finish(&call.call_id, false, None, 0, message).await
            }
        }
    }

    fn decide(&self, invocation: &ToolInvocation) -> Decision {
        let writable_roots = self
            .sandbox_policy
            .effective_writable_roots()
            .unwrap_or_default();
        let cx = DecisionContext {
            policy: self.approval,
            sandbox: self.sandbox,
            sandbox_enforced: self.support.enforced || self.sandbox == SandboxMode::FullAccess,
            workspace: &self.cwd,
            writable_roots: &writable_roots,
            rules: &self.rules,
        };
        let paths;
        let running;
        let request = match invocation {
            ToolInvocation::Shell { argv, workdir, .. } => {
                ActionRequest::Shell { argv, cwd: workdir }
            }
            ToolInvocation::ApplyPatch { patch } => {
                paths = patch.paths();
                ActionRequest::Write { paths: &paths }
            }
            ToolInvocation::ReadFile { path, .. } | ToolInvocation::ListDir { path } => {
                ActionRequest::Read { path }
            }
            ToolInvocation::Mcp { server, tool, .. } => match self.mcp.server(server) {
                Some(found) => {
                    running = found;
                    ActionRequest::McpTool {
                        server,
                        tool,
                        approval: running.config.approval,
                        source: &running.source,
                    }
                }
                None => {
                    return Decision {
                        verdict: Verdict::Forbidden,
                        reasons: vec![Reason {
                            rule: "mcp-server-not-running".into(),
                            source: PolicySource::BuiltIn,
                            justification: format!("MCP server `{server}` is not running"),
                        }],
                        risk: None,
                        reviewable: false,
                    };
                }
            },
        };
        decide(request, &cx)
    }

    async fn record_decision(
        &mut self,
        call_id: &str,
        decision: &Decision,
        actor: Actor,
    ) -> Result<(), Stop> {
        let actor = match actor {
            Actor::Rule => Actor::by_rules(decision.reasons.iter().map(|r| &r.source)),
            other => other,
        };
        self.record(EventMsg::Decision {
            call_id: call_id.into(),
            verdict: decision.verdict,
            actor,
            reasons: decision.reasons.clone(),
        })
        .await
    }

    async fn ask(
        &mut self,
        call_id: &str,
        tool: &str,
        invocation: &ToolInvocation,
        workdir: &Path,
        decision: Decision,
    ) -> Result<Approval, Stop> {
        let key = match invocation {
            ToolInvocation::Shell { argv, workdir, .. } => canonical_command_key(argv, workdir),
            // "For the session" covers the tool, whatever its arguments.
            ToolInvocation::Mcp { server, tool, .. } => format!("mcp:{server}.{tool}"),
            other => format!("{tool}:{}", other.summary()),
        };
        if self.approvals.contains(&key) || self.released.contains(&key) {
            let (rule, justification) = if self.approvals.contains(&key) {
                (
                    "approved-for-session",
                    "the user approved this action for the session",
                )
            } else {
                (
                    "released-with-identical-call",
                    "the user approved an identical call in the same response",
                )
            };
            let cached = Decision {
                verdict: Verdict::Allow,
                reasons: vec![Reason {
                    rule: rule.into(),
                    source: PolicySource::SessionApproval,
                    justification: justification.into(),
                }],
                risk: decision.risk.clone(),
                reviewable: false,
            };
            self.record_decision(call_id, &cached, Actor::SessionCache)
                .await?;
            return Ok(Approval::Run);
        }
        self.record_decision(call_id, &decision, Actor::Rule)
            .await?;
        let category_off = self.config.approvals.commands == CategoryApproval::Deny;
        if let Some(why) = self.auto_approval(&decision).filter(|_| !category_off) {
            self.record(EventMsg::ApprovalAnswered {
                call_id: call_id.into(),
                decision: ReviewDecision::ApproveOnce,
                actor: Actor::AutoReview,
                message: Some(why),
            })
            .await?;
            return Ok(Approval::Run);
        }
        let nobody = match (self.approval, self.interactive) {
            (ApprovalPolicy::Never, _) => {
                Some("the approval policy is `never`, so actions needing approval are denied")
            }
            _ if category_off => Some(
                "approvals.commands is `deny`, so commands needing approval are denied without asking",
            ),
            (_, false) => {
                Some("nobody can be asked for approval here (no terminal), so it is denied")
            }
            _ => None,
        };
        if let Some(why) = nobody {
            self.record(EventMsg::ApprovalAnswered {
                call_id: call_id.into(),
                decision: ReviewDecision::Deny,
                actor: Actor::Default,
                message: Some(why.into()),
            })
            .await?;
            return Ok(Approval::Denied(why.into()));
        }
        let shell_argv = match invocation {
            ToolInvocation::Shell { argv, .. } => Some(argv.clone()),
            _ => None,
        };
        let (answer, message) = self
            .ask_user(
                call_id,
                EventMsg::ApprovalRequested {
                    call_id: call_id.into(),
                    tool: tool.into(),
                    summary: invocation.summary(),
                    cwd: workdir.display().to_string(),
                    reason: decision.summary(),
                    risk: decision.risk.as_ref().map(risk_line),
                    can_always: shell_argv.is_some() && self.user_rules_file.is_some(),
                    expires_at: None,
                },
            )
            .await?;
        match answer {
            ReviewDecision::ApproveOnce => {
                self.released.insert(key);
                Ok(Approval::Run)
            }
            ReviewDecision::ApproveForSession => {
                self.approvals.insert(key);
                Ok(Approval::Run)
            }
            ReviewDecision::ApproveAlways => {
                self.approvals.insert(key);
                if let (Some(file), Some(argv)) = (self.user_rules_file.clone(), shell_argv) {
                    self.remember_always(call_id, &file, &argv).await?;
                }
                Ok(Approval::Run)
            }
            ReviewDecision::Deny => Ok(Approval::Denied(match message {
                Some(m) if !m.trim().is_empty() => format!("the user denied it: {m}"),
                _ => "the user denied it".into(),
            })),
            ReviewDecision::Abort => Err(Stop::Aborted),
        }
    }

    /// The deterministic reviewer: only a prompt that the approval policy's default asked
    /// for, on a low-risk command, is approved without asking. Anything else (a rule's
    /// prompt, a dangerous pattern, medium risk or more) goes to the user.
    fn auto_approval(&self, decision: &Decision) -> Option<String> {
        if !self.auto_review || !decision.reviewable {
            return None;
        }
        let risk = decision.risk.as_ref()?;
        (risk.level == RiskLevel::Low).then(|| format!("auto-review: {}", risk_line(risk)))
    }

    /// Write "always allow" rules and record the change; a failure is recorded and the
    /// answer still counts for this session.
    async fn remember_always(
        &mut self,
        call_id: &str,
        file: &Path,
        argv: &[String],
    ) -> Result<(), Stop> {
        let program = argv.first().map(String::as_str).unwrap_or_default();
        let (change, error) = match warden_policy::rules::append_allow_rules(
            file,
            argv,
            &always_justification(),
            self.rules_language,
        ) {
            Ok(rules) => {
                let added: Vec<String> = rules
                    .iter()
                    .map(|r| format!("prefix_rule({}) = allow", r.text))
                    .collect();
                for rule in rules {
                    self.rules.push_prefix(rule);
                }
                (added.join("; "), None)
            }
            Err(e) => {
                tracing::error!("cannot write the always-allow rule: {e}");
                (format!("always allow `{program}` …"), Some(e.to_string()))
            }
        };
        self.record(EventMsg::ConfigChanged {
            call_id: Some(call_id.to_string()),
            file: file.display().to_string(),
            change,
            actor: Actor::User,
            error,
        })
        .await
    }

    /// Show an approval request, wait for the person's answer, and record it.
    async fn ask_user(
        &mut self,
        call_id: &str,
        request: EventMsg,
    ) -> Result<(ReviewDecision, Option<String>), Stop> {
        self.record(request).await?;
        let (answer, message) = self.wait_for_approval(call_id).await?;
        self.record(EventMsg::ApprovalAnswered {
            call_id: call_id.into(),
            decision: answer,
            actor: Actor::User,
            message: message.clone(),
        })
        .await?;
        Ok((answer, message))
    }

    async fn wait_for_approval(
        &mut self,
        call_id: &str,
    ) -> Result<(ReviewDecision, Option<String>), Stop> {
        loop {
            match self.ops.recv().await {
                Some(Op::Approval {
                    call_id: id,
                    decision,
                    message,
                }) if id == call_id => return Ok((decision, message)),
                Some(Op::Approval { call_id: other, .. }) => {
                    tracing::debug!(other, "approval for another call ignored")
                }
                Some(Op::Interrupt) => return Err(Stop::Interrupted),
                Some(Op::Shutdown) | None => return Err(Stop::Shutdown),
                Some(op @ Op::UserTurn { .. }) => self.queued.push_back(op),
            }
        }
    }

    async fn execute(
        &mut self,
        call_id: &str,
        invocation: ToolInvocation,
        workdir: &Path,
    ) -> Result<String, Stop> {
        let started = std::time::Instant::now();
        let summary = invocation.summary();
        let (success, output) = match invocation {
            ToolInvocation::Shell {
                argv, timeout_ms, ..
            } => {
                return self
                    .run_shell(call_id, &argv, &summary, workdir, timeout_ms)
                    .await;
            }
            ToolInvocation::ApplyPatch { patch } => match patch.apply() {
                Ok(summary) => (true, summary),
                Err(e) => (false, format!("patch not applied: {e}")),
            },
            ToolInvocation::ReadFile {
                path,
                offset,
                limit,
            } => split(tools::read_file(
                &path,
                offset,
                limit,
                self.config.shell.output_cap_bytes,
            )),
            ToolInvocation::ListDir { path } => split(tools::list_dir(&path)),
            ToolInvocation::Mcp {
                server,
                tool,
                arguments,
            } => {
                return self.call_mcp(call_id, &server, &tool, arguments).await;
            }
        };
        let duration = started.elapsed().as_millis() as u64;
        self.finish(call_id, success, None, duration, output).await
    }

    /// Run the command; when the sandbox blocked writes outside the writable roots, offer
    /// the user a rerun with write access to the blocked folders.
    async fn run_shell(
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
        if folders.is_empty()
            || self.sandbox != SandboxMode::WorkspaceWrite
            || self.approval == ApprovalPolicy::Never
            || self.config.approvals.escalation == CategoryApproval::Deny
            || !self.interactive
        {
            return Ok(first);
        }
        let listed: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
        let blocked: Vec<&str> = denials.iter().map(|d| d.detail.as_str()).collect();
        let (answer, _) = self
            .ask_user(
                call_id,
                EventMsg::ApprovalRequested {
                    call_id: call_id.into(),
                    tool: "shell".into(),
                    summary: summary.into(),
                    cwd: workdir.display().to_string(),
                    reason: format!(
                        "{}. Rerun with write access to {}?",
                        blocked.join("; "),
                        listed.join(", ")
                    ),
                    risk: None,
                    can_always: false,
                    expires_at: None,
                },
            )
            .await?;
        let mut policy = self.sandbox_policy.clone();
        policy.writable_roots.extend(folders);
        match answer {
            ReviewDecision::ApproveOnce => {}
            ReviewDecision::ApproveForSession | ReviewDecision::ApproveAlways => {
                self.sandbox_policy = policy.clone()
            }
            ReviewDecision::Deny => {
                return Ok(format!(
                    "{first}\n[the user declined a rerun with write access to {}]",
                    listed.join(", ")
                ));
            }
            ReviewDecision::Abort => return Err(Stop::Aborted),
        }
        let (second, _) = self
            .run_shell_once(call_id, argv, workdir, timeout_ms, policy)
            .await?;
        Ok(format!(
            "{first}\n[the user approved a rerun with write access to {}]\n{second}",
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

    pub(super) async fn finish(
        &mut self,
        call_id: &str,
        success: bool,
        exit_code: Option<i32>,
        duration_ms: u64,
        output: String,
    ) -> Result<String, Stop> {
        self.record(EventMsg::ToolResult {
            call_id: call_id.into(),
            success,
            exit_code,
            duration_ms,
            output: output.clone(),
        })
        .await?;
        Ok(output)
    }
}

/// `high: rewrites history; reaches the network`: the level and the reasons at it.
fn risk_line(risk: &Assessment) -> String {
    let reasons: Vec<&str> = risk
        .findings
        .iter()
        .filter(|f| f.level == risk.level)
        .map(|f| f.why.as_str())
        .collect();
    format!("{}: {}", risk.level.as_str(), reasons.join("; "))
}

fn split(result: Result<String, String>) -> (bool, String) {
    match result {
        Ok(text) => (true, text),
        Err(text) => (false, text),
    }
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

/// The justification of a rule written by an "always allow" answer.
pub(super) fn always_justification() -> String {
    format!(
        "always allowed by the user on {}",
        &warden_protocol::utc_time(crate::now_ms())[..10]
    )
}
