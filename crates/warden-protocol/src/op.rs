//! Ops: what goes into a session.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An input to a running session.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Op {
    /// The user's next message.
    UserTurn { text: String },
    /// The answer to an `approvalRequested` event.
    Approval {
        call_id: String,
        decision: ReviewDecision,
        /// Sent back to the model with a denial.
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Stop the current turn.
    Interrupt,
    /// End the session.
    Shutdown,
}

/// The user's answer to an approval request.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewDecision {
    ApproveOnce,
    ApproveForSession,
    /// Approve and write a user rule so the same command runs without asking from now on
    /// (only where admin requirements allow user rules).
    ApproveAlways,
    Deny,
    Abort,
}
