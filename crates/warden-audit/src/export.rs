//! Exporting one session as a self-contained JSONL file, and verifying such a file.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use warden_protocol::EventMsg;

use crate::chain::{Anchor, Break, StoredRecord, Verifier};
use crate::verify::VerifyReport;
use crate::{AuditError, AuditStore};

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
    /// The session's last event when it was exported (version 2): a file cut short of it
    /// is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<ExportEnd>,
}

/// The last event of an exported session.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportEnd {
    seq: u64,
    hash: Option<String>,
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
pub(crate) fn decision_matches(record: &StoredRecord, column: Option<String>) -> Result<(), Break> {
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
    /// Write one session as JSONL: a header line, then every record with its chain link.
    pub async fn export_session<W: Write>(
        &self,
        session_id: &str,
        out: &mut W,
    ) -> Result<u64, AuditError> {
        // One snapshot: the header's end is the last record written.
        let mut tx = self.pool.begin().await?;
        let anchor = sqlx::query("SELECT seq, hash, turn FROM chain_anchors WHERE session_id = ?")
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| Anchor {
                seq: row.get::<i64, _>("seq") as u64,
                hash: row.get("hash"),
                turn: row.get::<Option<i64>, _>("turn").map(|t| t as u64),
            });
        let session = self.session(session_id).await?;
        let end = sqlx::query(
            "SELECT seq, hash FROM events WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
        )
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| ExportEnd {
            seq: row.get::<i64, _>("seq") as u64,
            hash: row.get("hash"),
        });
        let header = ExportHeader {
            format: FORMAT.into(),
            version: 2,
            session_id: session.session_id,
            cwd: session.cwd,
            created_at: session.created_at,
            anchor,
            end,
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
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let r = record(row);
                if header.end.as_ref().is_some_and(|e| r.seq > e.seq) {
                    break;
                }
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
    if header.format != FORMAT || !(1..=2).contains(&header.version) {
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
    let mut last: Option<u64> = None;
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
            return Ok(VerifyReport::from(&verifier, Some(b)));
        }
        if let Err(b) = verifier.check(&r) {
            return Ok(VerifyReport::from(&verifier, Some(b)));
        }
        last = Some(r.seq);
    }
    if let Some(end) = &header.end
        && last != Some(end.seq)
    {
        let after = last.map_or(header.anchor.as_ref().map_or(0, |a| a.seq), |s| s);
        let b = Break {
            session_id: header.session_id.clone(),
            seq: after + 1,
            reason: format!(
                "the file ends after event {after}, but its header says the session reached event {} (cut)",
                end.seq
            ),
        };
        return Ok(VerifyReport::from(&verifier, Some(b)));
    }
    Ok(VerifyReport::from(&verifier, None))
}
