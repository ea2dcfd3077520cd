//! Pure decisions: configuration layers, admin requirements, command rules, shell
//! parsing, network host rules and risk scoring. No I/O beyond reading files.

pub mod config;
mod decide;
mod error;
pub mod layers;
pub mod network;
pub mod project_trust;
pub mod requirements;
pub mod risk;
pub mod router;
pub mod rules;
mod safe_commands;
pub mod sensitive;
pub mod shell;
mod toml_place;

pub use decide::{
    ActionRequest, Decision, DecisionContext, SessionApprovals, canonical_command_key, decide,
};
pub use error::{PolicyError, ValueError};
pub use safe_commands::is_known_safe;
