//! Auto-review's reviewer model: what it is sent (prompt.rs), the strict verdict it must
//! answer with (verdict.rs), the reviewer with its budget, cache and circuit breaker
//! (reviewer.rs), one question settled through the router and, when asked for, the
//! reviewer (settle.rs), and the labelled corpus evaluation (eval.rs).

pub mod action;
pub mod eval;
pub mod prompt;
pub mod reviewer;
pub mod script;
pub mod settle;
pub mod verdict;

pub use action::{Action, PatchFile, PatchOp};
pub use prompt::{Context, Evidence};
pub use reviewer::{Limits, Review, Reviewer, Said, Spent};
pub use settle::settle;
pub use verdict::Verdict;
