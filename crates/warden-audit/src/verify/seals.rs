//! Walking the chain of seals beside the events: each seal's link checked as it is read,
//! and, for each commit, the heads it sealed held to the events in its range.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use crate::AuditError;
use crate::chain::{Break, Verifier};
use crate::seal::{self, HEAD_HASH_CHARS, Seal, SealedHead};

use super::PAGE;

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
pub(super) struct SealWalk {
    pub(super) page: std::collections::VecDeque<Seal>,
    pub(super) after: i64,
    pub(super) exhausted: bool,
    /// The last seal read (id, hash): the one the next must link to.
    pub(super) previous: Option<(u64, String)>,
    pub(super) checked: u64,
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
pub(super) struct OpenSeal {
    seal: Seal,
    pub(super) range: (i64, i64),
    heads: Vec<SealedHead>,
    pub(super) seen: HashMap<String, (u64, String)>,
}

impl OpenSeal {
    pub(super) fn new(seal: Seal) -> Result<Self, Break> {
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
    pub(super) fn close(self, verifier: &Verifier) -> Result<(), Break> {
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

/// The next seal over events, checking the links of every seal passed (retention seals
/// included). `Err(Break)` when the chain of seals is broken.
pub(super) async fn next_events_seal(
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
