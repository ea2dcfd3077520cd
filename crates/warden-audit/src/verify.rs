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

use std::collections::HashMap;

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use crate::chain::{Break, StoredRecord, Verifier};
use crate::export::{RECORD_COLUMNS, decision_matches, record};
use crate::seal::{self, HEAD_HASH_CHARS, RetentionSeal, Seal, SealedHead};
use crate::witness::{self, WitnessedSeal};
use crate::{AuditError, AuditStore};

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

const PAGE: i64 = 2000;

/// What the store recorded about itself when it was upgraded (migration 0012).
#[derive(Debug, Default)]
struct StoreFacts {
    unchained_through: i64,
    sealed_from: i64,
    legacy_anchors: i64,
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

fn seal_row(row: &sqlx::sqlite::SqliteRow) -> Seal {
    let first: Option<i64> = row.get("first_id");
    let last: Option<i64> = row.get("last_id");
    Seal {
        id: row.get::<i64, _>("id") as u64,
        sealed_at: row.get("sealed_at"),
        events: first.zip(last),
        body: row.get("body"),
        hash: row.get("hash"),
    }
}

/// Reads seals in id order, page by page, checking each one's link as it goes.
struct SealWalk {
    page: std::collections::VecDeque<Seal>,
    after: i64,
    exhausted: bool,
    /// The last seal read (id, hash): the one the next must link to.
    previous: Option<(u64, String)>,
    checked: u64,
}

impl SealWalk {
    async fn next(&mut self, conn: &mut SqliteConnection) -> Result<Option<Seal>, AuditError> {
        if self.page.is_empty() && !self.exhausted {
            let rows = sqlx::query(
                "SELECT id, sealed_at, first_id, last_id, body, hash FROM seals WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(self.after)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
            self.exhausted = (rows.len() as i64) < PAGE;
            self.page.extend(rows.iter().map(seal_row));
            if let Some(last) = self.page.back() {
                self.after = last.id as i64;
            }
        }
        Ok(self.page.pop_front())
    }

    /// Check `seal` follows the one before it.
    fn link(&mut self, seal: &Seal) -> Result<(), Break> {
        let Some((id, hash)) = &self.previous else {
            return Err(Break::store("the chain of seals has no start"));
        };
        if seal.id != id + 1 {
            return Err(Break::store(format!(
                "commits #{}–#{} are missing from the chain of seals (removed outside Warden)",
                id + 1,
                seal.id - 1
            )));
        }
        let expected = seal::seal_hash(hash, seal.id, seal.sealed_at, seal.events, &seal.body);
        if expected != seal.hash {
            return Err(Break::store(format!(
                "commit #{} does not match its seal (the seal or one before it was altered)",
                seal.id
            )));
        }
        self.previous = Some((seal.id, seal.hash.clone()));
        self.checked += 1;
        Ok(())
    }
}

/// The events seal whose range the walk is in, and the heads its events left.
struct OpenSeal {
    seal: Seal,
    range: (i64, i64),
    heads: Vec<SealedHead>,
    seen: HashMap<String, (u64, String)>,
}

impl OpenSeal {
    fn new(seal: Seal) -> Result<Self, Break> {
        let heads = seal::parse_heads(&seal.body)
            .ok_or_else(|| Break::store(format!("commit #{}'s seal cannot be read", seal.id)))?;
        Ok(Self {
            range: seal.events.unwrap_or((0, -1)),
            seal,
            heads,
            seen: HashMap::new(),
        })
    }

    /// Every head the seal names is there as sealed, or was removed by retention; every
    /// session with events in its range is named.
    fn close(self, verifier: &Verifier) -> Result<(), Break> {
        let commit = self.seal.id;
        for head in &self.heads {
            let removed = verifier
                .anchor(&head.session_id)
                .is_some_and(|a| a.seq >= head.seq);
            match self.seen.get(&head.session_id) {
                Some((seq, hash)) if *seq == head.seq => {
                    if hash[..hash.len().min(HEAD_HASH_CHARS)] != head.hash16 {
                        return Err(Break {
                            session_id: head.session_id.clone(),
                            seq: head.seq,
                            reason: format!(
                                "it is not the event commit #{commit} sealed (replaced outside Warden)"
                            ),
                        });
                    }
                }
                _ if removed => {}
                seen => {
                    let after = seen.map(|(seq, _)| *seq).or_else(|| {
                        verifier
                            .last(&head.session_id)
                            .map(|(seq, _)| seq)
                            .filter(|seq| *seq < head.seq)
                    });
                    let from = after.map_or(1, |s| s + 1);
                    let missing = if from == head.seq {
                        format!("event {from} is missing")
                    } else {
                        format!("events {from}–{} are missing", head.seq)
                    };
                    return Err(Break {
                        session_id: head.session_id.clone(),
                        seq: from,
                        reason: format!(
                            "{missing}: commit #{commit} sealed the session up to event {}, and no retention run removed them (cut outside Warden)",
                            head.seq
                        ),
                    });
                }
            }
        }
        for (session, (seq, _)) in &self.seen {
            if !self.heads.iter().any(|h| h.session_id == *session) {
                return Err(Break {
                    session_id: session.clone(),
                    seq: *seq,
                    reason: format!(
                        "it is not in the seal of commit #{commit}, which holds its id (written outside Warden)"
                    ),
                });
            }
        }
        Ok(())
    }
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

/// The next seal over events, checking the links of every seal passed (retention seals
/// included). `Err(Break)` when the chain of seals is broken.
async fn next_events_seal(
    seals: &mut SealWalk,
    conn: &mut SqliteConnection,
) -> Result<Result<Option<Seal>, Break>, AuditError> {
    while let Some(seal) = seals.next(conn).await? {
        if let Err(b) = seals.link(&seal) {
            return Ok(Err(b));
        }
        if seal.events.is_some() {
            return Ok(Ok(Some(seal)));
        }
    }
    Ok(Ok(None))
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

async fn anchors(
    conn: &mut SqliteConnection,
) -> Result<HashMap<String, crate::chain::Anchor>, AuditError> {
    let rows = sqlx::query("SELECT session_id, seq, hash, turn FROM chain_anchors")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("session_id"),
                crate::chain::Anchor {
                    seq: r.get::<i64, _>("seq") as u64,
                    hash: r.get("hash"),
                    turn: r.get::<Option<i64>, _>("turn").map(|t| t as u64),
                },
            )
        })
        .collect())
}

/// The anchors must be exactly those the last sealed retention run left; before any, only
/// anchors from before seals existed are accepted (and said to be unwitnessed).
async fn check_anchors(
    anchors: &HashMap<String, crate::chain::Anchor>,
    retention: Option<&RetentionSeal>,
    facts: &StoreFacts,
    notes: &mut Vec<String>,
    conn: &mut SqliteConnection,
) -> Result<Option<Break>, AuditError> {
    match retention {
        Some(run) => {
            let digest = seal::anchors_digest(
                anchors
                    .iter()
                    .map(|(s, a)| (s.as_str(), a.seq, a.hash.as_str(), a.turn)),
            );
            if digest != run.anchors {
                return Ok(Some(Break::store(
                    "the retention anchors are not those the last retention run sealed (an anchor was added, changed or removed outside Warden)",
                )));
            }
            let recorded: Option<i64> = sqlx::query_scalar("SELECT id FROM retention_runs WHERE id = ?")
                .bind(run.run)
                .fetch_optional(&mut *conn)
                .await?;
            if recorded.is_none() {
                return Ok(Some(Break::store(format!(
                    "retention run {} is sealed but not recorded (removed outside Warden)",
                    run.run
                ))));
            }
        }
        None if anchors.len() as i64 > facts.legacy_anchors => {
            let mut sessions: Vec<&String> = anchors.keys().collect();
            sessions.sort();
            return Ok(Some(Break::store(format!(
                "session {} resumes from an anchor that no recorded retention run left (a prefix was removed outside Warden)",
                sessions.first().map_or("?", |s| s.as_str())
            ))));
        }
        None if !anchors.is_empty() => notes.push(format!(
            "{} left by retention before seals existed: where those sessions resume is not witnessed",
            counted(anchors.len() as u64, "anchor")
        )),
        None => {}
    }
    Ok(None)
}

/// The chain of seals may not end before the witness; where both have the same seal, its
/// hash must match.
async fn check_witness(
    witnessed: Option<WitnessedSeal>,
    last: Option<&(u64, String)>,
    path: &str,
    conn: &mut SqliteConnection,
) -> Result<Option<Break>, AuditError> {
    let last_id = last.map_or(0, |l| l.0);
    let Some(w) = witnessed else {
        if last_id > 0 {
            return Ok(Some(Break::store(format!(
                "the witness {}-witness is missing, so the end of the store cannot be proven (it was deleted, or the database was copied without it)",
                path
            ))));
        }
        return Ok(None);
    };
    if w.seal > last_id {
        return Ok(Some(Break::store(format!(
            "the store ends at commit #{last_id} but its witness says commit #{} was made: the newest {} were cut",
            w.seal,
            counted(w.seal - last_id, "commit")
        ))));
    }
    let hash: Option<String> = sqlx::query_scalar("SELECT hash FROM seals WHERE id = ?")
        .bind(w.seal as i64)
        .fetch_optional(&mut *conn)
        .await?;
    if hash.is_some_and(|h| h != w.hash) {
        return Ok(Some(Break::store(format!(
            "commit #{} is not the one its witness saw (rewritten outside Warden)",
            w.seal
        ))));
    }
    Ok(None)
}

/// A session marked ended must still end with its `sessionEnded` event (unless retention
/// removed all of it).
async fn check_ended_sessions(
    verifier: &Verifier,
    conn: &mut SqliteConnection,
) -> Result<Option<Break>, AuditError> {
    let rows = sqlx::query("SELECT session_id FROM sessions WHERE ended_at IS NOT NULL")
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        let session: String = row.get("session_id");
        match verifier.last(&session) {
            Some((_, "sessionEnded")) => {}
            Some((seq, kind)) => {
                return Ok(Some(Break {
                    session_id: session,
                    seq: seq + 1,
                    reason: format!(
                        "the session ended, but its last event is {seq} ({kind}): its end was cut"
                    ),
                }));
            }
            None if verifier.anchor(&session).is_none() => {
                return Ok(Some(Break {
                    session_id: session,
                    seq: 1,
                    reason: "the session ended, but none of its events are left and no retention run removed them".into(),
                }));
            }
            None => {}
        }
    }
    Ok(None)
}

/// A collector cannot have acknowledged events the store never had.
async fn check_export_cursors(conn: &mut SqliteConnection) -> Result<Option<Break>, AuditError> {
    let row = sqlx::query(
        "SELECT (SELECT MAX(last_id) FROM export_cursors) AS exported, \
         (SELECT MAX(id) FROM events) AS stored, \
         (SELECT MAX(last_deleted_id) FROM retention_runs) AS deleted, \
         (SELECT MAX(through_id) FROM export_skips) AS skipped",
    )
    .fetch_one(&mut *conn)
    .await?;
    let exported: Option<i64> = row.get("exported");
    let known = [
        row.get::<Option<i64>, _>("stored"),
        row.get::<Option<i64>, _>("deleted"),
        row.get::<Option<i64>, _>("skipped"),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    Ok(match exported {
        Some(e) if e > known => Some(Break::store(format!(
            "the collector acknowledged events up to id {e}, but the store holds none after id {known}: events were removed"
        ))),
        _ => None,
    })
}
