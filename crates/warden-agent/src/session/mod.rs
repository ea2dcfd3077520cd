//! The session actor: `Op`s in, `Event`s out, one ordered stream.
//!
//! A user turn loops: ask the model, then for each tool call decide (policy), maybe ask
//! the user (approval events answered by approval ops), run it (sandbox), and feed the
//! result back, until the model answers without calling a tool.

mod approvals;
mod mcp;
mod network;
mod recorder;
mod review;
mod shell_call;
mod tool_call;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::path::PathBuf;

use tokio::sync::{broadcast, mpsc};
use warden_audit::{AuditError, AuditStore};
use warden_policy::SessionApprovals;
use warden_policy::config::Config;
use warden_policy::rules::{RuleSet, RulesLoader};
use warden_protocol::{ApprovalPolicy, Event, EventMsg, Op, SandboxMode};
use warden_sandbox::{SandboxPolicy, SandboxSupport};

use crate::model::{Item, ModelClient, StreamDelta, TurnRequest};
use crate::tools;
use recorder::{Recorder, Streamer};

const INSTRUCTIONS: &str = include_str!("instructions.md");
/// Model requests per user turn before the turn is stopped.
const MAX_MODEL_CALLS_PER_TURN: usize = 64;

/// Everything a session needs to start.
pub struct SessionSetup {
    pub session_id: String,
    /// The workspace, canonical.
    pub cwd: PathBuf,
    pub sandbox: SandboxMode,
    /// What each command may touch (built from `sandbox` and the config).
    pub sandbox_policy: SandboxPolicy,
    pub approval: ApprovalPolicy,
    /// False when nobody can answer approvals (no TTY): they are denied, fail closed.
    pub interactive: bool,
    /// Command rules from every layer.
    pub rules: RuleSet,
    /// Auto-review's reviewer model (`auto_review = "model"`), or why there is none.
    pub reviewer: review::SessionReviewer,
    /// Where "always allow" writes its rule; `None` where requirements forbid user rules.
    pub user_rules_file: Option<PathBuf>,
    /// Checks that file after a rule is written.
    pub rules_language: RulesLoader,
    pub config: Config,
    pub client: ModelClient,
    pub store: AuditStore,
    pub events: broadcast::Sender<Event>,
    pub support: SandboxSupport,
    /// The egress proxy, when commands reach the network through it.
    pub(crate) egress: Option<crate::egress::SessionEgress>,
    /// Recorded at the start: the effective policy with its sources.
    pub policy: warden_protocol::SessionPolicy,
    /// What remote MCP servers need: where sign-ins lock, and the servers the network
    /// policy refuses (by name, with why).
    pub(crate) remote_mcp: crate::mcp::RemoteAccess,
}

/// Why a turn stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    Interrupted,
    Aborted,
    Shutdown,
    Audit(AuditError),
}

impl From<AuditError> for Stop {
    fn from(e: AuditError) -> Self {
        Self::Audit(e)
    }
}

pub(crate) struct Session {
    session_id: String,
    cwd: PathBuf,
    sandbox: SandboxMode,
    approval: ApprovalPolicy,
    interactive: bool,
    config: Config,
    client: ModelClient,
    support: SandboxSupport,
    sandbox_policy: SandboxPolicy,
    recorder: Recorder,
    streamer: Streamer,
    history: Vec<Item>,
    approvals: SessionApprovals,
    rules: RuleSet,
    reviewer: review::SessionReviewer,
    /// Recent tool calls and results: evidence for the reviewer.
    recent: review::Recent,
    /// Bumped when the session's rules change (an "always allow"): reviewer verdicts
    /// are cached per policy version.
    policy_version: u64,
    user_rules_file: Option<PathBuf>,
    rules_language: RulesLoader,
    /// Keys approved once among the current model response's tool calls: an identical
    /// pending call is released by the same answer.
    released: HashSet<String>,
    ops: mpsc::UnboundedReceiver<Op>,
    queued: VecDeque<Op>,
    egress: Option<crate::egress::SessionEgress>,
    /// Network questions shown to the user, by their approval call id.
    pending_network: HashMap<String, network::PendingAsk>,
    /// Taken when the start is recorded.
    policy: warden_protocol::SessionPolicy,
    mcp: crate::mcp::McpServers,
    remote_mcp: crate::mcp::RemoteAccess,
}

/// Start the actor; returns the op sender and a future that runs it to completion.
pub fn spawn(setup: SessionSetup) -> (mpsc::UnboundedSender<Op>, impl Future<Output = ()> + Send) {
    let (tx, rx) = mpsc::unbounded_channel();
    let recorder = Recorder::new(setup.session_id.clone(), setup.store, setup.events);
    let session = Session {
        session_id: setup.session_id.clone(),
        sandbox_policy: setup.sandbox_policy,
        cwd: setup.cwd,
        sandbox: setup.sandbox,
        approval: setup.approval,
        interactive: setup.interactive,
        config: setup.config,
        client: setup.client,
        support: setup.support,
        streamer: recorder.streamer(),
        recorder,
        history: Vec::new(),
        approvals: SessionApprovals::default(),
        rules: setup.rules,
        reviewer: setup.reviewer,
        recent: review::Recent::default(),
        policy_version: 0,
        user_rules_file: setup.user_rules_file,
        rules_language: setup.rules_language,
        released: HashSet::new(),
        ops: rx,
        queued: VecDeque::new(),
        egress: setup.egress,
        pending_network: HashMap::new(),
        policy: setup.policy,
        mcp: crate::mcp::McpServers::default(),
        remote_mcp: setup.remote_mcp,
    };
    (tx, session.run())
}

impl Session {
    async fn record(&mut self, msg: EventMsg) -> Result<(), Stop> {
        self.recorder.record(msg).await.map_err(Stop::Audit)
    }

    async fn run(mut self) {
        let mcp_sources = mcp::sources(&self.policy);
        let started = EventMsg::SessionStarted {
            cwd: self.cwd.display().to_string(),
            sandbox: self.sandbox,
            approval: self.approval,
            model: self.client.model().to_string(),
            wire_api: self.client.wire_api().as_str().to_string(),
            policy: std::mem::take(&mut self.policy),
            identity: Some(warden_sandbox::host::session_identity()),
        };
        if let Err(e) = self.record(started).await {
            tracing::error!(?e, "cannot record session start");
            return;
        }
        match self.start_mcp_servers(&mcp_sources).await {
            Ok(()) | Err(Stop::Interrupted | Stop::Aborted) => {}
            Err(Stop::Audit(e)) => {
                tracing::error!(error = %e, "cannot record MCP servers starting");
                return;
            }
            Err(Stop::Shutdown) => {
                let _ = self
                    .record(EventMsg::SessionEnded {
                        reason: "shutdown".into(),
                    })
                    .await;
                return;
            }
        }
        let reason = loop {
            let op = match self.queued.pop_front() {
                Some(op) => Ok(Some(op)),
                None => self.next_op().await,
            };
            let op = match op {
                Ok(Some(op)) => op,
                Ok(None) => break "closed",
                Err(stop) => {
                    tracing::error!(?stop, "cannot record a network event");
                    return;
                }
            };
            let result = match op {
                Op::UserTurn { text } => self.run_turn(text).await,
                Op::Shutdown => break "shutdown",
                Op::Approval {
                    call_id,
                    decision,
                    message,
                } if self.pending_network.contains_key(&call_id) => {
                    self.answer_network(&call_id, decision, message).await
                }
                Op::Approval { call_id, .. } => {
                    tracing::debug!(call_id, "approval for no pending request ignored");
                    Ok(())
                }
                Op::Interrupt => Ok(()),
            };
            let aborted = match result {
                Ok(()) => continue,
                Err(Stop::Shutdown) => break "shutdown",
                Err(Stop::Audit(e)) => {
                    // Without the audit store nothing more may run; say so live.
                    tracing::error!(error = %e, "audit store failed; stopping the session");
                    self.streamer.send(EventMsg::Error {
                        code: e.code().as_str().into(),
                        message: e.to_string(),
                    });
                    return;
                }
                Err(Stop::Interrupted) => "interrupted by the user",
                Err(Stop::Aborted) => "aborted by the user",
            };
            if self
                .record(EventMsg::TurnAborted {
                    reason: aborted.into(),
                })
                .await
                .is_err()
            {
                return;
            }
        };
        let _ = self
            .record(EventMsg::SessionEnded {
                reason: reason.into(),
            })
            .await;
    }

    async fn run_turn(&mut self, text: String) -> Result<(), Stop> {
        self.record(EventMsg::UserPrompt { text: text.clone() })
            .await?;
        self.history.push(Item::User(text));
        for _ in 0..MAX_MODEL_CALLS_PER_TURN {
            let output = match self.ask_model().await? {
                Ok(output) => output,
                Err(e) => {
                    self.record(EventMsg::Error {
                        code: e.code().as_str().into(),
                        message: e.to_string(),
                    })
                    .await?;
                    self.record(EventMsg::TurnAborted {
                        reason: format!("model request failed: {e}"),
                    })
                    .await?;
                    return Ok(());
                }
            };
            self.record(EventMsg::ModelTurn {
                text: output.text.clone(),
                reasoning: output.reasoning.clone(),
                tool_calls: output.tool_calls.len() as u32,
            })
            .await?;
            if !output.text.is_empty() {
                self.history.push(Item::Assistant(output.text.clone()));
            }
            if output.tool_calls.is_empty() {
                let last_message = Some(output.text).filter(|t| !t.is_empty());
                return self.record(EventMsg::TurnComplete { last_message }).await;
            }
            self.released.clear();
            for call in output.tool_calls {
                self.history.push(Item::ToolCall(call.clone()));
                match self.handle_tool_call(&call).await {
                    Ok(result) => self.history.push(Item::ToolOutput {
                        call_id: call.call_id,
                        output: result,
                    }),
                    Err(stop) => {
                        // Keep the history valid for the next turn: every call gets an output.
                        self.history.push(Item::ToolOutput {
                            call_id: call.call_id,
                            output: "the user stopped this turn; this tool call did not complete"
                                .into(),
                        });
                        return Err(stop);
                    }
                }
            }
        }
        self.record(EventMsg::TurnAborted {
            reason: format!("stopped after {MAX_MODEL_CALLS_PER_TURN} model requests in one turn"),
        })
        .await
    }

    async fn ask_model(
        &mut self,
    ) -> Result<Result<crate::model::TurnOutput, crate::model::ModelError>, Stop> {
        let client = self.client.clone();
        let items = self.history.clone();
        let streamer = self.streamer.clone();
        let mut specs = tools::specs();
        specs.extend(self.mcp.specs());
        let request = async move {
            let request = TurnRequest {
                instructions: INSTRUCTIONS,
                items: &items,
                tools: &specs,
            };
            client
                .stream_turn(&request, |delta| match delta {
                    StreamDelta::Text(delta) => streamer.send(EventMsg::MessageDelta { delta }),
                    StreamDelta::Reasoning(delta) => {
                        streamer.send(EventMsg::ReasoningDelta { delta })
                    }
                })
                .await
        };
        self.interruptible(request).await
    }

    /// Run `work` while still answering control ops: an interrupt or shutdown stops it,
    /// answers to network questions are passed on, anything else waits its turn. Network
    /// events and questions from the proxy are recorded as they come.
    pub(crate) async fn interruptible<T>(
        &mut self,
        work: impl Future<Output = T>,
    ) -> Result<T, Stop> {
        tokio::pin!(work);
        let mut expiry = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            tokio::select! {
                output = &mut work => return Ok(output),
                op = self.ops.recv() => match op {
                    Some(Op::Interrupt) => return Err(Stop::Interrupted),
                    Some(Op::Shutdown) | None => return Err(Stop::Shutdown),
                    Some(Op::Approval { call_id, decision, message })
                        if self.pending_network.contains_key(&call_id) =>
                    {
                        self.answer_network(&call_id, decision, message).await?
                    }
                    Some(other) => self.queued.push_back(other),
                },
                Some(msg) = network::next(&mut self.egress) => self.on_network(msg).await?,
                _ = expiry.tick(), if !self.pending_network.is_empty() => {
                    self.expire_network().await?
                }
            }
        }
    }

    /// The next op while idle, recording network events that arrive meanwhile.
    async fn next_op(&mut self) -> Result<Option<Op>, Stop> {
        loop {
            tokio::select! {
                op = self.ops.recv() => return Ok(op),
                Some(msg) = network::next(&mut self.egress) => self.on_network(msg).await?,
            }
        }
    }
}
