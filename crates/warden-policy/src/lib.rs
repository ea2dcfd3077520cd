//! Pure decisions: configuration layers, the approval policy and the built-in list of
//! known-safe commands. No I/O beyond reading config files.

pub mod config;
mod decide;
mod error;
mod safe_commands;

pub use decide::{
    ActionRequest, Decision, DecisionContext, SessionApprovals, canonical_command_key, decide,
};
pub use error::PolicyError;
pub use safe_commands::is_known_safe;
