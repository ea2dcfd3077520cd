//! One tool call: propose, decide, maybe ask, run, report.

use std::path::Path;

use warden_policy::risk::Assessment;
use warden_policy::router::{QuestionKind, Route};
use warden_policy::{ActionRequest, Decision, DecisionContext, canonical_command_key, decide};
use warden_protocol::{
    Actor, EventMsg, PolicySource, Reason, ReviewDecision, SandboxMode, Verdict,
};

use super::approvals::AlwaysRule;
use super::review::Subject;
use super::{Session, Stop};
use crate::model::ToolCall;
use crate::tools::{self, ToolInvocation};

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
                return self.finish(&call.call_id, false, None, 0, message.0).await;
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
        let summary = format!("{}: {}", call.name, invocation.summary());
        let output = match approval {
            Approval::Run => self.execute(&call.call_id, invocation, &workdir).await?,
            Approval::Denied(why) => {
                let message = format!(
                    "This action was not run: {why}. Do not retry it; choose another approach or ask the user."
                );
                self.finish(&call.call_id, false, None, 0, message).await?
            }
        };
        self.recent.push(summary, &output);
        Ok(output)
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
            sensitive_edits: self.config.approvals.sensitive_edits,
        };
        let paths;
        let diffs;
        let running;
        let mcp_setting;
        let request = match invocation {
            ToolInvocation::Shell { argv, workdir, .. } => {
                ActionRequest::Shell { argv, cwd: workdir }
            }
            ToolInvocation::ApplyPatch { patch } => {
                paths = patch.paths();
                diffs = patch.diffs();
                ActionRequest::Write {
                    paths: &paths,
                    diffs: &diffs,
                }
            }
            ToolInvocation::ReadFile { path, .. } | ToolInvocation::ListDir { path } => {
                ActionRequest::Read { path }
            }
            ToolInvocation::Mcp { server, tool, .. } => match self.mcp.server(server) {
                Some(found) => {
                    running = found;
                    mcp_setting = running.approval(tool);
                    ActionRequest::McpTool {
                        server,
                        tool,
                        approval: mcp_setting.0,
                        rule: &mcp_setting.1,
                        source: &mcp_setting.2,
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
        let kind = match invocation {
            ToolInvocation::Mcp { .. } => QuestionKind::McpCall,
            ToolInvocation::ApplyPatch { .. } => QuestionKind::FileEdit,
            _ => QuestionKind::Command,
        };
        let mut subject =
            Subject::of_decision(call_id, kind, &decision, self.review_action(invocation));
        subject.script = self.script_for(invocation);
        let (route, review) = self.settle(subject).await?;
        match self.record_route(call_id, &route).await? {
            Some(why) => return Ok(Approval::Denied(why)),
            None if route != Route::AskPerson => return Ok(Approval::Run),
            None => {}
        }
        let shell_argv = match invocation {
            ToolInvocation::Shell { argv, .. } => Some(argv.clone()),
            _ => None,
        };
        let hints = match invocation {
            ToolInvocation::Mcp { server, tool, .. } => self
                .mcp
                .server(server)
                .and_then(|s| s.annotations(tool))
                .map(|a| crate::mcp::annotation_hints(&a))
                .unwrap_or_default(),
            _ => Vec::new(),
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
                    risk: decision.risk.as_ref().map(Assessment::line),
                    can_always: shell_argv.is_some() && self.can_always(),
                    expires_at: None,
                    review,
                    hints,
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
                if let Some(argv) = &shell_argv {
                    self.always_allow(call_id, AlwaysRule::Command(argv))
                        .await?;
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

fn split(result: Result<String, crate::ToolError>) -> (bool, String) {
    match result {
        Ok(text) => (true, text),
        Err(e) => (false, e.0),
    }
}
