//! The head witness: a small file beside the database (`audit.sqlite-witness`) naming the
//! last seal any Warden process committed. Cutting the end of the store (its newest
//! events with their seals) leaves the seal chain shorter than the witness, which
//! `verify` reports. The file is also the lock that lets one process at a time open and
//! migrate the store.
//!
//! It is written after each commit, under an exclusive lock, and only ever forwards: a
//! process that committed seal 7 never overwrites a witness of seal 8. A crash between a
//! commit and its witness write leaves the witness behind, which is not an alarm.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::AuditError;

const MAGIC: &str = "warden-audit-witness v1";

/// What the witness says: the last seal committed, and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedSeal {
    pub seal: u64,
    pub hash: String,
}

/// An open witness file.
pub(crate) struct Witness {
    file: File,
    path: PathBuf,
}

/// Where the witness of the database at `db` lives.
pub(crate) fn path_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push("-witness");
    PathBuf::from(name)
}

impl Witness {
    /// Open (creating it, empty, if missing) the witness beside the database at `db`.
    pub(crate) fn open(db: &Path) -> Result<Self, AuditError> {
        let path = path_for(db);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| AuditError::Witness {
            path: path.clone(),
            message: format!("cannot open: {e}"),
        })?;
        Ok(Self { file, path })
    }

    fn failed(&self, what: &str, e: impl std::fmt::Display) -> AuditError {
        AuditError::Witness {
            path: self.path.clone(),
            message: format!("{what}: {e}"),
        }
    }

    /// Hold the file's exclusive lock until the guard is dropped (opening and migrating
    /// the store, advancing the witness).
    pub(crate) fn lock(&self) -> Result<Locked<'_>, AuditError> {
        self.file
            .lock()
            .map_err(|e| self.failed("cannot lock", e))?;
        Ok(Locked { witness: self })
    }

    /// The exclusive lock if it is free now, None if another holder has it.
    pub(crate) fn try_lock(&self) -> Result<Option<Locked<'_>>, AuditError> {
        match self.file.try_lock() {
            Ok(()) => Ok(Some(Locked { witness: self })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(self.failed("cannot lock", e)),
        }
    }

    /// What the file says; None while nothing was ever witnessed.
    pub(crate) fn read(&self) -> Result<Option<WitnessedSeal>, AuditError> {
        read_from(&self.file, &self.path)
    }

    /// Record that seal `seal` with `hash` is committed, unless a later one already is.
    pub(crate) fn advance(&self, seal: u64, hash: &str) -> Result<(), AuditError> {
        let _locked = self.lock()?;
        if self.read()?.is_some_and(|w| w.seal >= seal) {
            return Ok(());
        }
        // Fixed width, so the new text always covers the old one exactly.
        let text = format!("{MAGIC} seal={seal:020} hash={hash:<64}\n");
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(text.as_bytes()))
            .map_err(|e| self.failed("cannot write", e))
    }
}

/// The witness's lock, released on drop.
pub(crate) struct Locked<'a> {
    witness: &'a Witness,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = self.witness.file.unlock();
    }
}

/// Read the witness of the database at `db` without creating it: None when there is none
/// or it is empty.
pub(crate) fn read(db: &Path) -> Result<Option<WitnessedSeal>, AuditError> {
    let path = path_for(db);
    match File::open(&path) {
        Ok(file) => read_from(&file, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AuditError::Witness {
            path,
            message: format!("cannot read: {e}"),
        }),
    }
}

fn read_from(mut file: &File, path: &Path) -> Result<Option<WitnessedSeal>, AuditError> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .map_err(|e| AuditError::Witness {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
    if text.is_empty() {
        return Ok(None);
    }
    parse(&text).map(Some).ok_or_else(|| AuditError::Witness {
        path: path.to_path_buf(),
        message: format!("not a witness file (expected \"{MAGIC} seal=N hash=H\")"),
    })
}

fn parse(text: &str) -> Option<WitnessedSeal> {
    let rest = text.strip_prefix(MAGIC)?.trim();
    let mut fields = rest.split_whitespace();
    let seal = fields.next()?.strip_prefix("seal=")?.parse().ok()?;
    let hash = fields.next()?.strip_prefix("hash=")?.to_string();
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(WitnessedSeal { seal, hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_witness_only_moves_forward_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.sqlite");
        assert_eq!(read(&db).unwrap(), None);
        let witness = Witness::open(&db).unwrap();
        assert_eq!(witness.read().unwrap(), None);
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        witness.advance(9, &a).unwrap();
        witness.advance(3, &b).unwrap();
        let seen = read(&db).unwrap().unwrap();
        assert_eq!((seen.seal, seen.hash.as_str()), (9, a.as_str()));
        witness.advance(10, &b).unwrap();
        assert_eq!(read(&db).unwrap().unwrap().seal, 10);

        std::fs::write(path_for(&db), "garbage").unwrap();
        let err = read(&db).unwrap_err().to_string();
        assert!(err.contains("not a witness file"), "{err}");
    }
}
