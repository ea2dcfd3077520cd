//! `verify`: every session's hash chain, the seals over the store's commits (each sealed
//! session head must still be there, unaltered, unless a sealed retention run removed
//! it), the retention anchors (their digest is sealed), the witness beside the database
//! (the chain of seals may not end before it) and the export cursor (the collector cannot
//! have acknowledged events the store no longer has). Stores from before seals existed
//! still verify as they did, and the report says which guarantees their older rows lack.
//!
//! Events are read in id order (commit order) in one read transaction, so a writer
//! committing meanwhile changes nothing the check sees; the witness is read before the
//! transaction starts, so it can only be behind what the transaction sees, never ahead.

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

mod checks;
mod seals;

use crate::chain::{Break, StoredRecord, Verifier};
use crate::export::{RECORD_COLUMNS, decision_matches, record};
use crate::seal::{self, RetentionSeal};
use crate::witness::{self, WitnessedSeal};
use crate::{AuditError, AuditStore};
use checks::{anchors, check_anchors, check_ended_sessions, check_export_cursors, check_witness};
use seals::{OpenSeal, SealWalk, next_events_seal};

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    pub sessions: u64,
    pub events: u64,
    /// Rows recorded before the chain existed (not covered by it).
    pub unchained: u64,
    /// Commits whose seals were checked.
    pub seals: u64,
    /// The first break found, if any.
    pub broken: Option<Break>,
    /// Guarantees part of this store lacks (rows older than the feature that gives them).
    pub notes: Vec<String>,
}

/// `1 event`, `2 events`: a count and its noun, singular for one.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.broken {
            Some(b) => write!(f, "BROKEN: {b}"),
            None => {
                write!(
                    f,
                    "intact: {} in {}",
                    counted(self.events, "event"),
                    counted(self.sessions, "session")
                )?;
                if self.unchained > 0 {
                    write!(
                        f,
                        " ({} recorded before the hash chain, not covered)",
                        self.unchained
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl VerifyReport {
    pub(crate) fn from(verifier: &Verifier, broken: Option<Break>) -> Self {
        Self {
            sessions: verifier.sessions,
            events: verifier.events,
            unchained: verifier.unchained,
            broken,
            ..Self::default()
        }
    }
}

pub(super) const PAGE: i64 = 2000;

/// What the store recorded about itself when it was upgraded (migration 0012).
#[derive(Debug, Default)]
pub(super) struct StoreFacts {
    pub(super) unchained_through: i64,
    pub(super) sealed_from: i64,
    pub(super) legacy_anchors: i64,
}

async fn store_facts(conn: &mut SqliteConnection) -> Result<StoreFacts, AuditError> {
    let mut facts = StoreFacts {
        sealed_from: 1,
        ..StoreFacts::default()
    };
    for row in sqlx::query("SELECT key, value FROM store_meta")
        .fetch_all(&mut *conn)
        .await?
    {
        let value: i64 = row.get("value");
        match row.get::<String, _>("key").as_str() {
            "unchained_through" => facts.unchained_through = value,
            "sealed_from" => facts.sealed_from = value,
            "legacy_anchors" => facts.legacy_anchors = value,
            _ => {}
        }
    }
    Ok(facts)
}

impl AuditStore {
    /// Check the whole store; stops at the first break.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        // Read before the snapshot: the witness can then only be behind it.
        let witnessed = witness::read(self.path())?;
        let mut tx = self.pool.begin().await?;
        let report = verify_in(&mut tx, witnessed, &self.path().display().to_string()).await?;
        tx.rollback().await?;
        Ok(report)
    }
}

async fn verify_in(
    conn: &mut SqliteConnection,
    witnessed: Option<WitnessedSeal>,
    path: &str,
) -> Result<VerifyReport, AuditError> {
    let facts = store_facts(conn).await?;
    let anchors = anchors(conn).await?;
    let mut notes = Vec::new();
    let mut verifier = Verifier::with_anchors(anchors.clone());
    let fail = |verifier: &Verifier, b: Break, seals: u64, notes: Vec<String>| {
        Ok(VerifyReport {
            seals,
            notes,
            ..VerifyReport::from(verifier, Some(b))
        })
    };

    // Where the chain of seals starts, and whether the anchors are the ones retention left.
    let row =
        sqlx::query("SELECT id, body FROM seals WHERE first_id IS NULL ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let retention = match row {
        None => None,
        Some(row) => {
            let id = row.get::<i64, _>("id") as u64;
            match RetentionSeal::parse(&row.get::<String, _>("body")) {
                Some(run) => Some(run),
                None => {
                    let b = Break::store(format!("retention seal #{id} cannot be read"));
                    return fail(&verifier, b, 0, notes);
                }
            }
        }
    };
    if let Some(b) = check_anchors(&anchors, retention.as_ref(), &facts, &mut notes, conn).await? {
        return fail(&verifier, b, 0, notes);
    }
    let (start_id, start_hash) = retention.as_ref().map_or((0, seal::genesis()), |r| {
        (r.through, r.through_hash.clone())
    });
    let mut seals = SealWalk {
        page: Default::default(),
        after: 0,
        exhausted: false,
        previous: Some((start_id, start_hash)),
        checked: 0,
    };

    // Events in commit order, each checked against its session's chain and its seal.
    let mut open: Option<OpenSeal> = None;
    let mut legacy = 0u64;
    let mut after_id = 0i64;
    loop {
        let rows = sqlx::query(&format!(
            "SELECT id, {RECORD_COLUMNS}, decision FROM events WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after_id)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let id: i64 = row.get("id");
            after_id = id;
            let r = record(row);
            let checked = verifier
                .check(&r)
                .and_then(|()| decision_matches(&r, row.get("decision")))
                .and_then(|()| hash_not_cleared(&r, id, &facts));
            if let Err(b) = checked {
                return fail(&verifier, b, seals.checked, notes);
            }
            if id < facts.sealed_from {
                legacy += 1;
                continue;
            }
            // The seal that covers this id: close those it is past.
            while open.as_ref().is_none_or(|o| o.range.1 < id) {
                if let Some(done) = open.take()
                    && let Err(b) = done.close(&verifier)
                {
                    return fail(&verifier, b, seals.checked, notes);
                }
                let next = match next_events_seal(&mut seals, conn).await? {
                    Ok(next) => next,
                    Err(b) => return fail(&verifier, b, seals.checked, notes),
                };
                match next {
                    Some(seal) => match OpenSeal::new(seal) {
                        Ok(o) => open = Some(o),
                        Err(b) => return fail(&verifier, b, seals.checked, notes),
                    },
                    None => break,
                }
            }
            match &mut open {
                Some(o) if o.range.0 <= id && id <= o.range.1 => {
                    o.seen.insert(
                        r.session_id.clone(),
                        (r.seq, r.hash.clone().unwrap_or_default()),
                    );
                }
                _ => {
                    let b = Break {
                        session_id: r.session_id.clone(),
                        seq: r.seq,
                        reason: format!(
                            "it is not covered by any commit's seal (id {id}; written outside Warden)"
                        ),
                    };
                    return fail(&verifier, b, seals.checked, notes);
                }
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    if let Some(done) = open.take()
        && let Err(b) = done.close(&verifier)
    {
        return fail(&verifier, b, seals.checked, notes);
    }
    // Seals after the last event: their heads must all have been removed by retention.
    loop {
        match next_events_seal(&mut seals, conn).await? {
            Ok(Some(seal)) => {
                let closed = OpenSeal::new(seal).and_then(|o| o.close(&verifier));
                if let Err(b) = closed {
                    return fail(&verifier, b, seals.checked, notes);
                }
            }
            Ok(None) => break,
            Err(b) => return fail(&verifier, b, seals.checked, notes),
        }
    }
    let last_seal = seals.previous.clone();
    if let Some(b) = check_witness(witnessed, last_seal.as_ref(), path, conn).await? {
        return fail(&verifier, b, seals.checked, notes);
    }
    if let Some(b) = check_ended_sessions(&verifier, conn).await? {
        return fail(&verifier, b, seals.checked, notes);
    }
    if let Some(b) = check_export_cursors(conn).await? {
        return fail(&verifier, b, seals.checked, notes);
    }
    if legacy > 0 {
        notes.push(format!(
            "{} recorded before commits were sealed (an upgrade): a cut at the end of their sessions before then cannot be detected",
            counted(legacy, "event")
        ));
    }
    Ok(VerifyReport {
        seals: seals.checked,
        notes,
        ..VerifyReport::from(&verifier, None)
    })
}

/// A row without a hash is legitimate only if the store had it before the chain existed.
fn hash_not_cleared(r: &StoredRecord, id: i64, facts: &StoreFacts) -> Result<(), Break> {
    if r.hash.is_none() && id > facts.unchained_through {
        return Err(Break {
            session_id: r.session_id.clone(),
            seq: r.seq,
            reason: "it has no hash, in a store that chained every event since then (its hash was cleared outside Warden)".into(),
        });
    }
    Ok(())
}
