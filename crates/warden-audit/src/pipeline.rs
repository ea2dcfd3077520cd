//! The write pipeline's shared types, a leaf the writer (writer.rs), the linker
//! (linking.rs) and the commit thread (commit.rs) all use: a request to append, what it
//! derives for the indexes, a linked batch handed to the commit thread, and what became
//! of it.

use tokio::sync::oneshot;

use crate::AuditError;
use crate::chain::StoredRecord;
use crate::rollup::{Answer, Tally};

pub(crate) struct WriteRequest {
    pub records: Vec<StoredRecord>,
    /// What the indexes need of each record (same order).
    pub derived: Vec<Derived>,
    /// Answered once committed, with each record's turn (same order).
    pub ack: oneshot::Sender<Result<Vec<u64>, AuditError>>,
}

/// What the producer derives from a record's payload for the indexes, so the single
/// writer does not parse it.
pub(crate) struct Derived {
    /// The searchable text, for the full-text index.
    pub text: String,
    /// What a decision came to (`allow`, `prompt`, `forbid`), for the `decision` column.
    pub decision: Option<&'static str>,
    /// What it adds to the insights' daily counts (rollup.rs).
    pub tallies: Vec<Tally>,
    /// A person's answer, whose counts the commit thread adds once it has read the
    /// question answered.
    pub answer: Option<Answer>,
}

/// One linked batch to commit, the titles it sets and its seal's body.
pub(crate) struct Job {
    pub requests: Vec<WriteRequest>,
    pub titles: Vec<(String, String)>,
    /// The heads it leaves, as its seal names them (`seal::heads_body`).
    pub heads: String,
    /// Raised by the writer after each failed commit it hears of. A batch handed over
    /// before that (linked on top of the failed one) is returned unwritten.
    pub epoch: u64,
    /// The outcome, once every request written or refused has been answered.
    pub done: oneshot::Sender<Outcome>,
}

/// What became of a job. A job's records come back with its outcome, so they are freed
/// on the writer's thread rather than on the commit thread, which is the busier one.
pub(crate) enum Outcome {
    Committed(Spent),
    /// Not written; its requests were answered with the error.
    Failed(AuditError, Spent),
    /// Linked on top of a batch that failed: not written, not answered, handed back to be
    /// linked again.
    Returned(Vec<WriteRequest>),
}

/// The records and derived values of a job's requests, once answered.
pub(crate) type Spent = Vec<(Vec<StoredRecord>, Vec<Derived>)>;

/// Full-text rows per INSERT at most: two values each, and SQLite binds at most 32,766
/// per statement. The writer keeps batches within this (linking.rs), so only a single
/// request larger than it needs a second statement.
pub(crate) const TEXT_ROWS_PER_STATEMENT: usize = 16_000;
