//! Events: what comes out of a session. Recorded events are audit records.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{
    Actor, ApprovalPolicy, DecisionOutcome, Reason, ReviewDecision, ReviewOutcome, ReviewRisk,
    ReviewTier, ReviewerNote, SandboxMode, SessionIdentity, SessionPolicy, TriageReport,
    UserAuthorized, Verdict,
};

/// One event from a session. `seq` is present for recorded events (those written to the
/// audit store, in order, starting at 1) and absent for transient streaming deltas.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub session_id: String,
    pub seq: Option<u64>,
    pub created_at: i64,
    /// The turn it belongs to, as the audit store numbers them: how many user prompts the
    /// session had up to and including this event (0 before the first). Present on events
    /// read from the store.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u64>,
    pub msg: EventMsg,
}

/// Which output stream a chunk came from.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// What the sandbox blocked.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SandboxDenial {
    /// `write`, `read`, `network`, …
    pub operation: String,
    /// The path or address involved.
    pub target: String,
    /// The layer that blocked it, e.g. `landlock` or `seccomp`.
    pub layer: String,
    /// A one-line human explanation.
    pub detail: String,
}

/// One connection attempt through Warden's egress proxy and what became of it.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAccess {
    pub host: String,
    pub port: u16,
    /// `http` (forwarded request), `connect` (tunnel) or `socks5`.
    pub protocol: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// For a denial the block reason sent to the client (`denylist`, `not-allowed`,
    /// `private-address`, `sni-mismatch`, `timeout`, `no-credential`); for an allowed
    /// connection what allowed it (`rule`, `session`, `user`, `auto-review`).
    pub reason: String,
    /// The rule or setting that decided (`user rules /…/default.rules:3`), if one did.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who decided.
    pub actor: Actor,
    /// The address connected to (or refused), once resolved.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The program that connected (`curl`), when known.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The sandboxed command it belongs to (`npm install`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// What went wrong after the decision (`cannot resolve`, `connection refused`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration_ms: u64,
}

/// The payload of an event. Tagged with `type`.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum EventMsg {
    SessionStarted {
        cwd: String,
        sandbox: SandboxMode,
        approval: ApprovalPolicy,
        model: String,
        wire_api: String,
        /// Absent from sessions recorded before it was added.
        #[serde(default)]
        policy: SessionPolicy,
        /// The host and OS user it ran as (absent from older sessions).
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<SessionIdentity>,
    },
    UserPrompt {
        text: String,
    },
    /// Transient: a piece of the model's reasoning summary as it streams.
    ReasoningDelta {
        delta: String,
    },
    /// Transient: a piece of the model's reply as it streams.
    MessageDelta {
        delta: String,
    },
    /// One completed model response: its text, reasoning and how many tool calls it made.
    ModelTurn {
        text: String,
        reasoning: String,
        tool_calls: u32,
    },
    ToolCallProposed {
        call_id: String,
        tool: String,
        /// The command line for `shell`, a path for file tools, a summary for patches.
        summary: String,
        cwd: String,
        arguments: serde_json::Value,
    },
    Decision {
        call_id: String,
        verdict: Verdict,
        actor: Actor,
        reasons: Vec<Reason>,
    },
    ApprovalRequested {
        call_id: String,
        tool: String,
        summary: String,
        cwd: String,
        /// Why this needs approval.
        reason: String,
        /// The command's risk score and why (`high: rewrites history`), for commands.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        risk: Option<String>,
        /// Whether "always allow" may be offered (admin requirements can forbid it).
        #[serde(default)]
        can_always: bool,
        /// When an unanswered question is refused (milliseconds since the Unix epoch):
        /// network questions wait `network.ask_timeout_secs`, commands wait for ever.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
        /// What auto-review's reviewer model said of it (its verdict, or why it could
        /// not answer), when it was asked.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review: Option<ReviewerNote>,
        /// What an MCP server says of its tool (`read-only`, `destructive`, …): its own
        /// claims, shown as such; they never change the decision.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hints: Vec<String>,
    },
    /// Auto-review looked at an action: its rules tier approved it, or its reviewer
    /// model was asked (or answered from its cache, or could not answer). Recorded
    /// before the approval it leads to.
    AutoReview {
        call_id: String,
        tier: ReviewTier,
        /// `shell`, `network`, `mcp` or `patch`.
        kind: String,
        /// The action in one line (`shell: npm test`).
        summary: String,
        /// The action exactly as the reviewer saw it.
        action: serde_json::Value,
        /// The reviewer model (absent for the rules tier).
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<ReviewOutcome>,
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        risk: Option<ReviewRisk>,
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_authorized: Option<UserAuthorized>,
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rationale: Option<String>,
        /// Why the reviewer could not answer (`timeout after 20 s`).
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unavailable: Option<String>,
        latency_ms: u64,
        tokens_in: u64,
        tokens_out: u64,
        /// Answered from the session's cache of verdicts (no request made).
        cached: bool,
    },
    ApprovalAnswered {
        call_id: String,
        decision: ReviewDecision,
        actor: Actor,
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Transient: command output as it streams.
    OutputDelta {
        call_id: String,
        stream: OutputStream,
        chunk: String,
    },
    ToolResult {
        call_id: String,
        success: bool,
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        duration_ms: u64,
        /// The output as the model sees it (capped).
        output: String,
    },
    SandboxDenied {
        call_id: String,
        denial: SandboxDenial,
    },
    /// A connection through the egress proxy: allowed (recorded when it closes, with
    /// bytes and duration) or refused.
    NetworkAccess {
        /// The tool call whose command connected.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        access: NetworkAccess,
    },
    /// An MCP server the session started (its tools offered to the model), or could not.
    McpServerStarted {
        server: String,
        /// The command line it runs as.
        command: String,
        /// Its tools, as the model sees them (`mcp__SERVER__TOOL`).
        tools: Vec<String>,
        /// Why it is not available.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A tool call an MCP server answered (or did not): recorded before the `toolResult`.
    McpCall {
        call_id: String,
        server: String,
        tool: String,
        arguments: serde_json::Value,
        /// The server reported an error, or never answered.
        is_error: bool,
        duration_ms: u64,
        /// The server's answer as text (capped), or why there is none.
        result: String,
    },
    /// A process Warden started for a command, as the host sees it (so an endpoint
    /// tool's alert can be matched to it): its pid (the host's; commands run in their own
    /// process group, whose id is this pid), when the kernel says it started, what it
    /// runs, and its parent (Warden).
    ProcessStarted {
        call_id: String,
        pid: u32,
        /// Milliseconds since the epoch.
        started_at: i64,
        executable: String,
        command_line: String,
        parent_pid: u32,
        parent_executable: String,
    },
    /// A triage of an endpoint alert: the verdict, the sessions and events it matched,
    /// and the evidence it cites. Recorded in a session of its own.
    TriageReport {
        report: TriageReport,
    },
    /// A command a person ran directly in the sandbox (`warden exec`), recorded with what
    /// it did on the network and what the sandbox refused it.
    CommandStarted {
        call_id: String,
        /// The command line, shell-quoted.
        command: String,
        cwd: String,
        sandbox: SandboxMode,
        /// `proxy` (through the egress proxy) or `deny`.
        network: String,
    },
    /// A person signed in to a remote MCP server or the model's identity provider
    /// (who, with which authorization server and client, the scopes), signed out, or a
    /// sign-in that failed (why, in `credential.signInError`). Never a token. Recorded in
    /// a session of its own, so sign-ins are in the audit trail and its exports.
    CredentialChanged {
        change: crate::CredentialChange,
        credential: crate::CredentialState,
    },
    /// A setting or rule changed on disk during the session (an "always allow" answer
    /// writes a user rule), or failed to.
    ConfigChanged {
        /// The approval that caused it.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        /// The file written.
        file: String,
        /// What was added, as written (`prefix_rule(pattern = ["git", "status"], …)`).
        change: String,
        actor: Actor,
        /// Why the change could not be made; the answer then held for this session only.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Error {
        code: String,
        message: String,
    },
    TurnComplete {
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_message: Option<String>,
    },
    TurnAborted {
        reason: String,
    },
    SessionEnded {
        reason: String,
    },
}

impl EventMsg {
    /// Transient events stream to live viewers but are not recorded; the recorded
    /// `modelTurn` and `toolResult` carry their content.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::ReasoningDelta { .. } | Self::MessageDelta { .. } | Self::OutputDelta { .. }
        )
    }

    /// The stable kind name used in the audit store and the UI (`toolResult`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SessionStarted { .. } => "sessionStarted",
            Self::UserPrompt { .. } => "userPrompt",
            Self::ReasoningDelta { .. } => "reasoningDelta",
            Self::MessageDelta { .. } => "messageDelta",
            Self::ModelTurn { .. } => "modelTurn",
            Self::ToolCallProposed { .. } => "toolCallProposed",
            Self::Decision { .. } => "decision",
            Self::ApprovalRequested { .. } => "approvalRequested",
            Self::AutoReview { .. } => "autoReview",
            Self::ApprovalAnswered { .. } => "approvalAnswered",
            Self::OutputDelta { .. } => "outputDelta",
            Self::ToolResult { .. } => "toolResult",
            Self::SandboxDenied { .. } => "sandboxDenied",
            Self::NetworkAccess { .. } => "networkAccess",
            Self::ConfigChanged { .. } => "configChanged",
            Self::CredentialChanged { .. } => "credentialChanged",
            Self::CommandStarted { .. } => "commandStarted",
            Self::ProcessStarted { .. } => "processStarted",
            Self::TriageReport { .. } => "triageReport",
            Self::McpServerStarted { .. } => "mcpServerStarted",
            Self::McpCall { .. } => "mcpCall",
            Self::Error { .. } => "error",
            Self::TurnComplete { .. } => "turnComplete",
            Self::TurnAborted { .. } => "turnAborted",
            Self::SessionEnded { .. } => "sessionEnded",
        }
    }

    /// What a decision-bearing event decided, for the audit store's `decision` column:
    /// a policy decision, a network connection, an answered approval.
    pub fn decision(&self) -> Option<DecisionOutcome> {
        match self {
            Self::Decision { verdict, .. } => Some(match verdict {
                Verdict::Allow => DecisionOutcome::Allow,
                Verdict::Prompt => DecisionOutcome::Prompt,
                Verdict::Forbidden => DecisionOutcome::Forbid,
            }),
            Self::NetworkAccess { access, .. } => Some(if access.decision == "allow" {
                DecisionOutcome::Allow
            } else {
                DecisionOutcome::Forbid
            }),
            Self::ApprovalAnswered { decision, .. } => Some(match decision {
                ReviewDecision::ApproveOnce
                | ReviewDecision::ApproveForSession
                | ReviewDecision::ApproveAlways => DecisionOutcome::Allow,
                ReviewDecision::Deny | ReviewDecision::Abort => DecisionOutcome::Forbid,
            }),
            _ => None,
        }
    }

    /// Who acted, for the audit store's `actor` column.
    pub fn actor(&self) -> &'static str {
        match self {
            Self::UserPrompt { .. }
            | Self::CommandStarted { .. }
            | Self::CredentialChanged { .. } => "user",
            Self::ModelTurn { .. } | Self::ToolCallProposed { .. } => "agent",
            Self::Decision { actor, .. }
            | Self::ApprovalAnswered { actor, .. }
            | Self::ConfigChanged { actor, .. }
            | Self::NetworkAccess {
                access: NetworkAccess { actor, .. },
                ..
            } => actor.as_str(),
            Self::SandboxDenied { .. } => "sandbox",
            Self::AutoReview { .. } => "auto-review",
            Self::TriageReport { .. } => "triage",
            _ => "warden",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_camel_case_on_the_wire() {
        let event = Event {
            session_id: "s1".into(),
            seq: Some(3),
            created_at: 1_700_000_000_000,
            turn: None,
            msg: EventMsg::ToolResult {
                call_id: "c1".into(),
                success: true,
                exit_code: Some(0),
                duration_ms: 12,
                output: "ok".into(),
            },
        };
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "sessionId": "s1", "seq": 3, "createdAt": 1_700_000_000_000_i64,
                "msg": {"type": "toolResult", "callId": "c1", "success": true,
                        "exitCode": 0, "durationMs": 12, "output": "ok"}
            })
        );
    }
}
