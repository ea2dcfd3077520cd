//! Verifying the store against an outside copy of its events: a Warden export (JSONL) or
//! what a collector received over OTLP (one JSON object per line: the OTLP/JSON
//! `resourceLogs` a collector's file exporter writes, or one log record per line).
//! Someone who can rewrite the database, its seals and its witness can make the store
//! consistent with itself; they cannot change what already left the machine. Every event
//! in the copy must still be in the store with the same link, unless a sealed retention
//! run removed it.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde_json::Value;
use sqlx::Row;

use crate::chain::Break;
use crate::verify::counted;
use crate::{AuditError, AuditStore};

/// One event as the outside copy has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Witnessed {
    seq: u64,
    hash: Option<String>,
}

/// What a check against an outside copy found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessReport {
    /// Events the copy holds (distinct session and seq).
    pub checked: u64,
    /// Of those, removed from the store by retention (before their anchor).
    pub retained_away: u64,
    /// The first event of the copy the store lacks or holds altered.
    pub broken: Option<Break>,
}

impl std::fmt::Display for WitnessReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.broken {
            Some(b) => write!(f, "BROKEN against the copy: {b}"),
            None => {
                write!(
                    f,
                    "the copy's {} are all in the store",
                    counted(self.checked, "event")
                )?;
                if self.retained_away > 0 {
                    write!(f, " ({} since removed by retention)", self.retained_away)?;
                }
                Ok(())
            }
        }
    }
}

impl AuditStore {
    /// Check the store against an outside copy of its events (see the module's docs).
    pub async fn verify_against(&self, copy: impl BufRead) -> Result<WitnessReport, AuditError> {
        let sessions = read_copy(copy)?;
        let checked = sessions.values().map(|s| s.len() as u64).sum();
        let mut retained_away = 0;
        let mut conn = self.pool.acquire().await?;
        for (session, witnessed) in &sessions {
            let anchor: Option<i64> =
                sqlx::query_scalar("SELECT seq FROM chain_anchors WHERE session_id = ?")
                    .bind(session)
                    .fetch_optional(&mut *conn)
                    .await?;
            let stored: BTreeMap<u64, Option<String>> =
                sqlx::query("SELECT seq, hash FROM events WHERE session_id = ?")
                    .bind(session)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| (r.get::<i64, _>("seq") as u64, r.get("hash")))
                    .collect();
            for w in witnessed.values() {
                let broken = |reason: String| Break {
                    session_id: session.clone(),
                    seq: w.seq,
                    reason,
                };
                match stored.get(&w.seq) {
                    Some(hash) if w.hash.is_some() && *hash != w.hash => {
                        let b = broken("the store holds another event here than the copy (rewritten after it was sent)".into());
                        return Ok(report(checked, retained_away, Some(b)));
                    }
                    Some(_) => {}
                    None if anchor.is_some_and(|a| a as u64 >= w.seq) => retained_away += 1,
                    None => {
                        let b = broken(
                            "it is in the copy but not in the store, and no retention run removed it (cut after it was sent)".into(),
                        );
                        return Ok(report(checked, retained_away, Some(b)));
                    }
                }
            }
        }
        Ok(report(checked, retained_away, None))
    }
}

fn report(checked: u64, retained_away: u64, broken: Option<Break>) -> WitnessReport {
    WitnessReport {
        checked,
        retained_away,
        broken,
    }
}

/// The copy's events by session and seq. A line that is not JSON, or a file with no
/// Warden event in it, is an error naming what was looked for.
fn read_copy(copy: impl BufRead) -> Result<BTreeMap<String, BTreeMap<u64, Witnessed>>, AuditError> {
    let mut sessions: BTreeMap<String, BTreeMap<u64, Witnessed>> = BTreeMap::new();
    let mut add = |session: String, seq: u64, hash: Option<String>| {
        sessions
            .entry(session)
            .or_default()
            .insert(seq, Witnessed { seq, hash });
    };
    for (n, line) in copy.lines().enumerate() {
        let line = line.map_err(|e| AuditError::Decode(format!("line {}: {e}", n + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| AuditError::Decode(format!("line {}: not JSON: {e}", n + 1)))?;
        // A Warden export: its header, then records.
        if value.get("format").is_some() {
            continue;
        }
        if let (Some(session), Some(seq)) = (
            value.get("sessionId").and_then(Value::as_str),
            value.get("seq").and_then(Value::as_u64),
        ) {
            let hash = value.get("hash").and_then(Value::as_str).map(String::from);
            add(session.to_string(), seq, hash);
            continue;
        }
        // OTLP/JSON: every object with `attributes` naming a Warden session.
        let mut records = Vec::new();
        log_records(&value, &mut records);
        for attributes in records {
            let get = |key: &str| attribute(attributes, key);
            if let (Some(session), Some(seq)) = (
                get("warden.session.id"),
                get("warden.event.seq").and_then(|s| s.parse().ok()),
            ) {
                add(session, seq, get("warden.event.hash"));
            }
        }
    }
    if sessions.is_empty() {
        return Err(AuditError::Decode(
            "no Warden events found: expected a Warden export (JSONL) or OTLP/JSON log records with the attributes warden.session.id, warden.event.seq and warden.event.hash".into(),
        ));
    }
    Ok(sessions)
}

/// Every `attributes` array in `value` (OTLP/JSON log records, at any depth).
fn log_records<'a>(value: &'a Value, out: &mut Vec<&'a Vec<Value>>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(attributes)) = map.get("attributes")
                && attributes
                    .iter()
                    .any(|a| a.get("key").and_then(Value::as_str) == Some("warden.session.id"))
            {
                out.push(attributes);
            }
            for (key, v) in map {
                if key != "attributes" {
                    log_records(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| log_records(v, out)),
        _ => {}
    }
}

/// An attribute's value as text (OTLP/JSON writes 64-bit integers as strings).
fn attribute(attributes: &[Value], key: &str) -> Option<String> {
    let value = attributes
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(key))?
        .get("value")?;
    value
        .get("stringValue")
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| match value.get("intValue")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_read_from_exports_and_both_otlp_json_shapes() {
        let export = r#"{"format":"warden-audit-export","version":2}
{"sessionId":"s","seq":1,"hash":"aa"}"#;
        let record = r#"{"attributes":[{"key":"warden.session.id","value":{"stringValue":"t"}},{"key":"warden.event.seq","value":{"intValue":"4"}},{"key":"warden.event.hash","value":{"stringValue":"bb"}}]}"#;
        let collector =
            format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{record}]}}]}}]}}"#);
        let text = format!("{export}\n{record}\n{collector}\n");
        let sessions = read_copy(text.as_bytes()).unwrap();
        assert_eq!(sessions["s"][&1].hash.as_deref(), Some("aa"));
        assert_eq!(sessions["t"][&4].hash.as_deref(), Some("bb"));
        let err = read_copy("{\"resourceLogs\":[]}".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("warden.session.id"), "{err}");
        let err = read_copy("nonsense".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("line 1: not JSON"), "{err}");
    }
}
