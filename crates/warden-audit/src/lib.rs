//! The local audit store: SQLite (WAL) with forward-only migrations, sessions and their
//! append-only events. Events are redacted before they are stored, linked into a
//! per-session hash chain, written in batches (multi-row inserts in one transaction) and
//! acknowledged only once committed. Reads page by cursor; search uses FTS5.

mod against;
mod chain;
mod checkpoint;
mod commit;
mod committer;
mod direct;
mod error;
mod export;
mod linking;
mod lookup;
mod otlp;
mod pipeline;
mod reader;
mod redact;
mod retention;
mod rollup;
mod rollup_backfill;
mod seal;
mod search;
mod search_text;
mod store;
mod verify;
mod witness;
mod writer;

pub use against::WitnessReport;
pub use chain::{Break, StoredRecord, Verifier, genesis, link};
pub use error::AuditError;
pub use export::verify_export;
pub use otlp::{Exporter, ExporterConfig, ExporterStatus, OtlpProtocol, TlsSettings};
pub use reader::SessionRow;
pub use redact::redact;
pub use retention::RetentionReport;
pub use rollup::{DAY_MS, metric};
pub use rollup_backfill::RollupRow;
pub use search::{SearchHit, SearchQuery};
pub use store::AuditStore;
pub use verify::{VerifyReport, counted};
pub use witness::WitnessedSeal;
