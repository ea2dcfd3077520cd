//! Helpers shared by the audit store's integration tests.

use std::path::Path;
use std::process::Command;

/// Run `sql` on the database file with the sqlite3 command-line tool, as someone with
/// the file would; fails the test if sqlite3 refuses it.
pub fn sqlite(path: &Path, sql: &str) {
    let out = Command::new("sqlite3").arg(path).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
