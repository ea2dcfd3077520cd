//! The writer's own SQLite connection, driven through SQLite's C API (the same library
//! sqlx links) instead of through sqlx: statements are prepared once, and strings are
//! bound where they lie for the one step that reads them (`SQLITE_STATIC`). Through sqlx
//! every bound string was copied and freed again, and every statement was a hop to its
//! worker thread and back: together about a fifth of the single writer's time
//! (docs/benchmarks.md, "Audit store"; docs/decisions.md).
//!
//! The unsafe surface is this file: a connection, prepared statements, and a binder whose
//! borrows outlive the step that reads them.

use std::ffi::{CStr, CString, c_int};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;

use crate::AuditError;

/// One connection, used by one thread at a time.
pub(crate) struct Connection {
    db: NonNull<ffi::sqlite3>,
}

// SAFETY: the connection is opened in SQLite's multi-thread mode (SQLITE_OPEN_NOMUTEX),
// where a connection may be used from any thread as long as no two use it at once; it is
// moved to the writer's thread and owned there, so only that thread ever uses it.
unsafe impl Send for Connection {}

impl Connection {
    /// Open an existing database file for writing (the store's migrations created it).
    pub(crate) fn open(path: &Path) -> Result<Self, AuditError> {
        let name = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| AuditError::Write(format!("{} contains a NUL byte", path.display())))?;
        let mut db = ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX;
        // SAFETY: `name` is a NUL-terminated string that outlives the call; `db` receives
        // the handle, which SQLite allocates even when opening fails.
        let code = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, ptr::null()) };
        let Some(db) = NonNull::new(db) else {
            return Err(AuditError::Write(format!(
                "cannot open {}: out of memory",
                path.display()
            )));
        };
        let conn = Self { db };
        if code != ffi::SQLITE_OK {
            return Err(conn.error(code));
        }
        Ok(conn)
    }

    /// Run SQL without parameters (pragmas, schema), all its statements.
    pub(crate) fn execute(&self, sql: &str) -> Result<(), AuditError> {
        let sql = CString::new(sql)
            .map_err(|_| AuditError::Write("SQL text contains a NUL byte".into()))?;
        // SAFETY: the handle is open and `sql` is NUL-terminated; no callback is passed.
        let code = unsafe {
            ffi::sqlite3_exec(
                self.db.as_ptr(),
                sql.as_ptr(),
                None,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(self.error(code));
        }
        Ok(())
    }

    /// Prepare one statement, to be run many times.
    pub(crate) fn prepare(&self, sql: &str) -> Result<Statement, AuditError> {
        let mut raw = ptr::null_mut();
        let length = c_int::try_from(sql.len())
            .map_err(|_| AuditError::Write("SQL text too long".into()))?;
        // SAFETY: `sql` is valid for `length` bytes (no NUL terminator is needed when the
        // length is given); `raw` receives the statement or stays null on error.
        let code = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                length,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut raw,
                ptr::null_mut(),
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(self.error(code));
        }
        let raw = NonNull::new(raw)
            .ok_or_else(|| AuditError::Write(format!("no statement in {sql:?}")))?;
        Ok(Statement { raw })
    }

    /// How many rows the last statement changed.
    pub(crate) fn changes(&self) -> u64 {
        // SAFETY: the handle is open.
        unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) as u64 }
    }

    fn error(&self, code: c_int) -> AuditError {
        AuditError::Write(message(self.db.as_ptr(), code))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: the handle is open and closed once. With a statement still prepared,
        // SQLite refuses (SQLITE_BUSY) and frees nothing, so the statement stays valid:
        // the connection is then leaked, never used after being freed. Owners drop their
        // statements first (commit.rs declares the connection last).
        let code = unsafe { ffi::sqlite3_close(self.db.as_ptr()) };
        if code != ffi::SQLITE_OK {
            tracing::warn!(code, "audit store: the writer's connection was left open");
        }
    }
}

/// SQLite's message for the connection's last error, with its code.
fn message(db: *mut ffi::sqlite3, code: c_int) -> String {
    // SAFETY: `db` is an open handle; SQLite returns a NUL-terminated string it owns,
    // valid until the next call on the connection, and it is copied at once.
    let text = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }.to_string_lossy();
    format!("{text} (SQLite code {code})")
}

/// A prepared statement.
pub(crate) struct Statement {
    raw: NonNull<ffi::sqlite3_stmt>,
}

// SAFETY: as for `Connection`: owned by the writer's thread, used by one thread at a time.
unsafe impl Send for Statement {}

impl Statement {
    /// Start binding the parameters of one run, from the first. Strings bound must
    /// outlive the binder, which runs the statement and then unbinds them.
    pub(crate) fn bind<'a>(&'a mut self) -> Binder<'a> {
        Binder {
            statement: self,
            next: 1,
            error: None,
            borrowed: PhantomData,
        }
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement is valid and finalized once.
        unsafe { ffi::sqlite3_finalize(self.raw.as_ptr()) };
    }
}

/// Parameters of one run of a statement. Text is bound without a copy: SQLite reads it
/// during `run`, and the bindings are cleared before `run` returns or the binder is
/// dropped, so no pointer to it outlives the borrow.
pub(crate) struct Binder<'a> {
    statement: &'a mut Statement,
    next: c_int,
    error: Option<c_int>,
    borrowed: PhantomData<&'a str>,
}

impl<'a> Binder<'a> {
    pub(crate) fn int(self, value: i64) -> Self {
        // SAFETY: the statement is valid; an index past its parameters is reported by
        // SQLite as SQLITE_RANGE, which `run` returns.
        let code =
            unsafe { ffi::sqlite3_bind_int64(self.statement.raw.as_ptr(), self.next, value) };
        self.advance(code)
    }

    pub(crate) fn text(self, value: &'a str) -> Self {
        // SAFETY: `value` is borrowed for 'a, longer than the binder, and the binding is
        // cleared (`clear`) before the binder is gone, so SQLite never reads it after the
        // borrow ends (SQLITE_STATIC: no copy is made).
        let code = unsafe {
            ffi::sqlite3_bind_text64(
                self.statement.raw.as_ptr(),
                self.next,
                value.as_ptr().cast(),
                value.len() as u64,
                ffi::SQLITE_STATIC(),
                ffi::SQLITE_UTF8 as u8,
            )
        };
        self.advance(code)
    }

    pub(crate) fn optional_text(self, value: Option<&'a str>) -> Self {
        match value {
            Some(text) => self.text(text),
            None => self.null(),
        }
    }

    pub(crate) fn optional_int(self, value: Option<i64>) -> Self {
        match value {
            Some(n) => self.int(n),
            None => self.null(),
        }
    }

    pub(crate) fn null(self) -> Self {
        // SAFETY: the statement is valid.
        let code = unsafe { ffi::sqlite3_bind_null(self.statement.raw.as_ptr(), self.next) };
        self.advance(code)
    }

    fn advance(mut self, code: c_int) -> Self {
        if code != ffi::SQLITE_OK && self.error.is_none() {
            self.error = Some(code);
        }
        self.next += 1;
        self
    }

    /// Run the statement to completion (it returns no rows).
    pub(crate) fn run(self) -> Result<(), AuditError> {
        let raw = self.statement.raw.as_ptr();
        // SAFETY: the statement is valid.
        let db = unsafe { ffi::sqlite3_db_handle(raw) };
        if let Some(code) = self.error {
            return Err(AuditError::Write(format!(
                "cannot bind a value: {}",
                message(db, code)
            )));
        }
        // SAFETY: every parameter is bound to a value that outlives this call.
        let code = unsafe { ffi::sqlite3_step(raw) };
        if code != ffi::SQLITE_DONE {
            // SAFETY: as above; the step's error is read before anything else runs.
            let text = message(db, unsafe { ffi::sqlite3_extended_errcode(db) });
            return Err(AuditError::Write(text));
        }
        Ok(())
    }
}

impl Drop for Binder<'_> {
    fn drop(&mut self) {
        let raw = self.statement.raw.as_ptr();
        // SAFETY: the statement is valid. Resetting ends its run (its error, if any, was
        // already read); clearing the bindings drops SQLite's pointers to borrowed text.
        unsafe {
            ffi::sqlite3_reset(raw);
            ffi::sqlite3_clear_bindings(raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(dir: &tempfile::TempDir) -> Connection {
        let path = dir.path().join("t.sqlite");
        std::fs::File::create(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute("CREATE TABLE t (n INTEGER, s TEXT NOT NULL)")
            .unwrap();
        conn
    }

    #[test]
    fn binds_run_and_report_sqlite_errors_with_their_message() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(&dir);
        let mut insert = conn.prepare("INSERT INTO t (n, s) VALUES (?, ?)").unwrap();
        for n in 0..3 {
            let text = format!("row {n}");
            insert.bind().int(n).text(&text).run().unwrap();
            assert_eq!(conn.changes(), 1);
        }
        let err = insert.bind().int(9).null().run().unwrap_err();
        assert_eq!(
            err.to_string(),
            "audit write failed: NOT NULL constraint failed: t.s (SQLite code 1299)"
        );
        let err = insert.bind().int(1).text("a").text("b").run().unwrap_err();
        assert!(
            err.to_string().contains("column index out of range"),
            "{err}"
        );
        assert!(conn.prepare("INSERT INTO nowhere VALUES (1)").is_err());
    }

    #[test]
    fn bound_text_is_read_during_the_run_and_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(&dir);
        let mut insert = conn.prepare("INSERT INTO t (n, s) VALUES (?, ?)").unwrap();
        {
            let text = String::from("first");
            insert.bind().int(1).text(&text).run().unwrap();
        }
        // A run that binds nothing sees no stale text: the bindings were cleared.
        let err = insert.bind().run().unwrap_err();
        assert!(err.to_string().contains("NOT NULL"), "{err}");
        // What was stored is the text as it was during the run.
        let mut copy = conn
            .prepare("INSERT INTO t (n, s) SELECT 2, s FROM t WHERE n = 1 AND s = 'first'")
            .unwrap();
        copy.bind().run().unwrap();
        assert_eq!(conn.changes(), 1);
    }
}
