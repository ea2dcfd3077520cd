//! Policy vocabulary: sandbox modes, approval policies, decisions and their reasons.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How much of the machine a sandboxed command may touch.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    FullAccess,
}

impl SandboxMode {
    pub const ALL: [SandboxMode; 3] = [Self::ReadOnly, Self::WorkspaceWrite, Self::FullAccess];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WorkspaceWrite => "workspace-write",
            Self::FullAccess => "full-access",
        }
    }
}

/// When the user is asked before an action runs.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    /// Only known-safe read-only commands run without asking.
    Untrusted,
    /// Commands run inside the sandbox; the user is asked when the agent requests more access.
    OnRequest,
    /// Never ask: anything that would need approval is denied (fail closed).
    Never,
}

impl ApprovalPolicy {
    pub const ALL: [ApprovalPolicy; 3] = [Self::Untrusted, Self::OnRequest, Self::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Untrusted => "untrusted",
            Self::OnRequest => "on-request",
            Self::Never => "never",
        }
    }
}

/// A policy verdict. Ordered `Allow < Prompt < Forbidden`; combining takes the strictest.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Allow,
    Prompt,
    Forbidden,
}

/// Where a rule or value came from.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PolicySource {
    BuiltIn,
    UserConfig { path: String },
    ProjectConfig { path: String },
    SessionFlag,
    SessionApproval,
}

/// One reason behind a verdict, with the rule that produced it and its source.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub rule: String,
    pub source: PolicySource,
    pub justification: String,
}

/// Who made a decision about a tool call.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// A policy rule decided (built-in, config or requirement; see the reasons).
    Rule,
    /// The person at the keyboard.
    User,
    /// The approval policy's default, e.g. fail-closed when nobody can be asked.
    Default,
    /// An earlier "approve for session" answer.
    SessionCache,
}
