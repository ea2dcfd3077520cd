//! The local audit store: SQLite (WAL) with forward-only migrations, sessions and their
//! append-only events. Writes are batched (multi-row inserts in one transaction) and
//! acknowledged only once committed; reads page by cursor.

mod error;
mod reader;
mod store;
mod writer;

pub use error::AuditError;
pub use reader::SessionRow;
pub use store::AuditStore;
