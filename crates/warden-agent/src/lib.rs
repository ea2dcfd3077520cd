//! The agent side of Warden: the session actor (model turns, tools, approvals), the
//! model client, and the [`Host`] that owns sessions, settings and the audit store and
//! implements the API both adapters serve.

pub mod boundary;
pub mod bundle;
mod egress;
mod host;
mod mcp;
pub mod model_access;
pub mod oauth;
mod process;
pub mod reviewer;
mod secrets;
pub mod session;
pub mod tools;

pub use host::policy_view::session_policy;
pub use host::{Host, HostError};
pub use secrets::{
    SecretError, load_api_key, load_reviewer_key, load_triage_key, store_api_key,
    store_reviewer_key, store_triage_key,
};
pub use tools::ToolError;
/// The model client (its own crate, shared with the reviewer and triage).
pub use warden_model as model;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
