//! The writer's own SQLite connection, driven through SQLite's C API (the same library
//! sqlx links) instead of through sqlx: statements are prepared once, and strings are
//! bound where they lie for the one step that reads them (`SQLITE_STATIC`). Through sqlx
//! every bound string was copied and freed again, and every statement was a hop to its
//! worker thread and back: together about a fifth of the single writer's time
//! (docs/benchmarks.md, "Audit store"; docs/decisions.md).
//!
//! The unsafe surface is this file, kept whole on purpose so it can be read and audited
//! in one place: a connection, prepared statements, and a binder whose borrows outlive
//! the step that reads them.

use std::ffi::{CStr, CString, c_int};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;

use crate::AuditError;
use crate::error::is_busy_code;

/// An error SQLite reported, with its (extended) result code.
#[derive(Debug)]
pub(crate) struct SqlError {
    code: c_int,
    message: String,
}

impl SqlError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            code: ffi::SQLITE_ERROR,
            message: message.into(),
        }
    }

    /// SQLite said another connection holds the database (busy or locked).
    pub(crate) fn is_busy(&self) -> bool {
        is_busy_code(self.code)
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SqlError> for AuditError {
    fn from(error: SqlError) -> Self {
        AuditError::Write(error.message)
    }
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

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
    pub(crate) fn open(path: &Path) -> Result<Self, SqlError> {
        let name = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| SqlError::new(format!("{} contains a NUL byte", path.display())))?;
        let mut db = ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX;
        // SAFETY: `name` is a NUL-terminated string that outlives the call; `db` receives
        // the handle, which SQLite allocates even when opening fails.
        let code = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, ptr::null()) };
        let Some(db) = NonNull::new(db) else {
            return Err(SqlError::new(format!(
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
    pub(crate) fn execute(&self, sql: &str) -> Result<(), SqlError> {
        let sql = CString::new(sql).map_err(|_| SqlError::new("SQL text contains a NUL byte"))?;
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
    pub(crate) fn prepare(&self, sql: &str) -> Result<Statement, SqlError> {
        let mut raw = ptr::null_mut();
        let length = c_int::try_from(sql.len()).map_err(|_| SqlError::new("SQL text too long"))?;
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
        let raw =
            NonNull::new(raw).ok_or_else(|| SqlError::new(format!("no statement in {sql:?}")))?;
        Ok(Statement { raw })
    }

    /// How many rows the last statement changed.
    pub(crate) fn changes(&self) -> u64 {
        // SAFETY: the handle is open.
        unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) as u64 }
    }

    fn error(&self, code: c_int) -> SqlError {
        // SAFETY: the handle is open.
        let code = match unsafe { ffi::sqlite3_extended_errcode(self.db.as_ptr()) } {
            0 => code,
            extended => extended,
        };
        SqlError {
            code,
            message: message(self.db.as_ptr(), code),
        }
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
    pub(crate) fn run(self) -> Result<(), SqlError> {
        match self.step()? {
            ffi::SQLITE_DONE => Ok(()),
            _ => Err(SqlError::new("the statement returned rows")),
        }
    }

    /// Run the statement and read its first row, if any (the rest are not read).
    pub(crate) fn first_row(self) -> Result<Option<Vec<Value>>, SqlError> {
        if self.step()? != ffi::SQLITE_ROW {
            return Ok(None);
        }
        let raw = self.statement.raw.as_ptr();
        // SAFETY: the statement has a current row; each column is read by its index below
        // its count, and text is copied before the next call on the statement.
        let row = unsafe {
            (0..ffi::sqlite3_column_count(raw))
                .map(|i| match ffi::sqlite3_column_type(raw, i) {
                    ffi::SQLITE_NULL => Value::Null,
                    ffi::SQLITE_INTEGER => Value::Int(ffi::sqlite3_column_int64(raw, i)),
                    _ => {
                        let text = ffi::sqlite3_column_text(raw, i);
                        let len = ffi::sqlite3_column_bytes(raw, i);
                        if text.is_null() {
                            Value::Null
                        } else {
                            let bytes = std::slice::from_raw_parts(text, len.max(0) as usize);
                            Value::Text(String::from_utf8_lossy(bytes).into_owned())
                        }
                    }
                })
                .collect()
        };
        Ok(Some(row))
    }

    /// One step: SQLITE_ROW or SQLITE_DONE, anything else as an error.
    fn step(&self) -> Result<c_int, SqlError> {
        let raw = self.statement.raw.as_ptr();
        // SAFETY: the statement is valid.
        let db = unsafe { ffi::sqlite3_db_handle(raw) };
        if let Some(code) = self.error {
            return Err(SqlError {
                code,
                message: format!("cannot bind a value: {}", message(db, code)),
            });
        }
        // SAFETY: every parameter is bound to a value that outlives this call.
        let code = unsafe { ffi::sqlite3_step(raw) };
        if code == ffi::SQLITE_DONE || code == ffi::SQLITE_ROW {
            return Ok(code);
        }
        // SAFETY: as above; the step's error is read before anything else runs.
        let code = unsafe { ffi::sqlite3_extended_errcode(db) };
        Err(SqlError {
            code,
            message: message(db, code),
        })
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
        let err = AuditError::from(insert.bind().int(9).null().run().unwrap_err());
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
