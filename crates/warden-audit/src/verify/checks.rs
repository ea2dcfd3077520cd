//! The store-wide checks beside the chains: the anchors against the last retention seal,
//! the witness against the last seal, ended sessions against their last event, and the
//! export cursor against what the store holds.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use crate::AuditError;
use crate::chain::{Break, Verifier};
use crate::seal::{self, RetentionSeal};
use crate::witness::WitnessedSeal;

use super::{StoreFacts, counted};

pub(super) async fn anchors(
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
pub(super) async fn check_anchors(
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
pub(super) async fn check_witness(
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
pub(super) async fn check_ended_sessions(
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
pub(super) async fn check_export_cursors(
    conn: &mut SqliteConnection,
) -> Result<Option<Break>, AuditError> {
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
