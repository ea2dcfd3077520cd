//! Verifying the chain (in the store or in an exported file) and exporting one session
//! as a self-contained JSONL file.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use warden_protocol::EventMsg;

use crate::chain::{Anchor, Break, StoredRecord, Verifier};
use crate::{AuditError, AuditStore};

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub sessions: u64,
    pub events: u64,
    /// Rows recorded before the chain existed (not covered by it).
    pub unchained: u64,
    /// The first broken link, if any.
    pub broken: Option<Break>,
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
    fn from(verifier: Verifier, broken: Option<Break>) -> Self {
        Self {
            sessions: verifier.sessions,
            events: verifier.events,
            unchained: verifier.unchained,
            broken,
        }
    }
}

/// First line of an export file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportHeader {
    format: String,
    version: u32,
    session_id: String,
    cwd: String,
    created_at: i64,
    /// Where the chain resumes if retention removed the session's first events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anchor: Option<Anchor>,
}

const FORMAT: &str = "warden-audit-export";
const PAGE: i64 = 2000;

pub(crate) fn record(row: &sqlx::sqlite::SqliteRow) -> StoredRecord {
    StoredRecord {
        session_id: row.get("session_id"),
        seq: row.get::<i64, _>("seq") as u64,
        created_at: row.get("created_at"),
        kind: row.get("kind"),
        actor: row.get("actor"),
        event_id: row.get::<Option<String>, _>("event_id").unwrap_or_default(),
        payload: row.get("payload"),
        hash: row.get("hash"),
        turn: row.get::<Option<i64>, _>("turn").map(|t| t as u64),
    }
}

/// The `decision` column is derived from the chained payload (for the search filter); an
/// edit to it would hide a refusal from that filter without touching the chain.
fn decision_matches(record: &StoredRecord, column: Option<String>) -> Result<(), Break> {
    let derived = match record.kind.as_str() {
        "decision" | "networkAccess" | "approvalAnswered" => {
            serde_json::from_str::<EventMsg>(&record.payload)
                .ok()
                .and_then(|msg| msg.decision())
                .map(|d| d.as_str())
        }
        _ => None,
    };
    if column.as_deref() == derived {
        return Ok(());
    }
    let say = |d: Option<&str>| d.map_or("nothing".to_string(), |d| format!("\"{d}\""));
    Err(Break {
        session_id: record.session_id.clone(),
        seq: record.seq,
        reason: format!(
            "its decision column says {} but the record says {} (edited outside Warden)",
            say(column.as_deref()),
            say(derived)
        ),
    })
}

pub(crate) const RECORD_COLUMNS: &str =
    "session_id, seq, created_at, kind, actor, event_id, payload, hash, turn";

impl AuditStore {
    /// Check every session's chain; stops at the first broken link.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        let mut verifier = Verifier::with_anchors(self.anchors().await?);
        let (mut after_session, mut after_seq) = (String::new(), 0i64);
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {RECORD_COLUMNS}, decision FROM events WHERE (session_id, seq) > (?, ?) ORDER BY session_id, seq LIMIT ?"
            ))
            .bind(&after_session)
            .bind(after_seq)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let r = record(row);
                let checked = verifier
                    .check(&r)
                    .and_then(|()| decision_matches(&r, row.get("decision")));
                if let Err(b) = checked {
                    return Ok(VerifyReport::from(verifier, Some(b)));
                }
                after_session = r.session_id;
                after_seq = r.seq as i64;
            }
            if (rows.len() as i64) < PAGE {
                return Ok(VerifyReport::from(verifier, None));
            }
        }
    }

    /// Write one session as JSONL: a header line, then every record with its chain link.
    pub async fn export_session<W: Write>(
        &self,
        session_id: &str,
        out: &mut W,
    ) -> Result<u64, AuditError> {
        let session = self.session(session_id).await?;
        let anchor = self.anchors().await?.remove(session_id);
        let header = ExportHeader {
            format: FORMAT.into(),
            version: 1,
            session_id: session.session_id,
            cwd: session.cwd,
            created_at: session.created_at,
            anchor,
        };
        let io = |e: std::io::Error| AuditError::Write(format!("cannot write the export: {e}"));
        let json = |e: serde_json::Error| AuditError::Decode(e.to_string());
        writeln!(out, "{}", serde_json::to_string(&header).map_err(json)?).map_err(io)?;
        let (mut after, mut written) = (0i64, 0u64);
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {RECORD_COLUMNS} FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?"
            ))
            .bind(session_id)
            .bind(after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let r = record(row);
                after = r.seq as i64;
                writeln!(out, "{}", serde_json::to_string(&r).map_err(json)?).map_err(io)?;
                written += 1;
            }
            if (rows.len() as i64) < PAGE {
                out.flush().map_err(io)?;
                return Ok(written);
            }
        }
    }
}

/// Verify an exported session file. Malformed lines are errors naming the line.
pub fn verify_export(input: impl BufRead) -> Result<VerifyReport, AuditError> {
    let mut lines = input.lines().enumerate();
    let bad = |n: usize, message: String| AuditError::Decode(format!("line {}: {message}", n + 1));
    let header: ExportHeader = match lines.next() {
        Some((n, line)) => {
            let line = line.map_err(|e| bad(n, e.to_string()))?;
            serde_json::from_str(&line)
                .map_err(|e| bad(n, format!("not a Warden audit export header: {e}")))?
        }
        None => return Err(AuditError::Decode("the file is empty".into())),
    };
    if header.format != FORMAT || header.version != 1 {
        return Err(bad(
            0,
            format!(
                "unsupported format {} version {}",
                header.format, header.version
            ),
        ));
    }
    let anchors = header
        .anchor
        .iter()
        .map(|a| (header.session_id.clone(), a.clone()))
        .collect();
    let mut verifier = Verifier::with_anchors(anchors);
    for (n, line) in lines {
        let line = line.map_err(|e| bad(n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: StoredRecord =
            serde_json::from_str(&line).map_err(|e| bad(n, format!("not an audit record: {e}")))?;
        if r.session_id != header.session_id {
            let b = Break {
                session_id: r.session_id,
                seq: r.seq,
                reason: format!(
                    "belongs to another session than the header's {}",
                    header.session_id
                ),
            };
            return Ok(VerifyReport::from(verifier, Some(b)));
        }
        if let Err(b) = verifier.check(&r) {
            return Ok(VerifyReport::from(verifier, Some(b)));
        }
    }
    Ok(VerifyReport::from(verifier, None))
}
