//! Search and filter recorded events: full text (FTS5) over what was recorded, plus
//! session, kind, actor and time filters; newest first, paged by cursor.

use sqlx::{QueryBuilder, Row, Sqlite};
use warden_protocol::{Event, EventMsg};

use crate::{AuditError, AuditStore};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words that must all appear (each matched as a phrase).
    pub text: Option<String>,
    pub session_id: Option<String>,
    /// Any of these kinds (`toolCallProposed`, `decision`, …).
    pub kinds: Vec<String>,
    pub actor: Option<String>,
    /// Epoch milliseconds, inclusive.
    pub since: Option<i64>,
    /// Epoch milliseconds, exclusive.
    pub until: Option<i64>,
    /// Cursor from the previous page.
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The event's position in the store; pass the last one back as the cursor.
    pub id: i64,
    pub event: Event,
}

/// FTS5 query for free text: every word quoted (so `-`, `:` and `*` are literal), all required.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl AuditStore {
    pub async fn search(
        &self,
        query: &SearchQuery,
    ) -> Result<(Vec<SearchHit>, Option<i64>), AuditError> {
        let limit = query.limit.clamp(1, 1000) as usize;
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT e.id, e.session_id, e.seq, e.created_at, e.payload FROM events e",
        );
        let text = query.text.as_deref().and_then(fts_query);
        let has_text = text.is_some();
        if has_text {
            sql.push(" JOIN events_fts f ON f.rowid = e.id");
        }
        sql.push(" WHERE 1 = 1");
        if let Some(text) = text {
            sql.push(" AND events_fts MATCH ").push_bind(text);
        }
        if let Some(session) = &query.session_id {
            sql.push(" AND e.session_id = ").push_bind(session.clone());
        }
        if !query.kinds.is_empty() {
            // With a session, walk that session's events instead of the kind index.
            sql.push(if query.session_id.is_some() {
                " AND +e.kind IN ("
            } else {
                " AND e.kind IN ("
            });
            let mut list = sql.separated(", ");
            for kind in &query.kinds {
                list.push_bind(kind.clone());
            }
            sql.push(")");
        }
        if let Some(actor) = &query.actor {
            sql.push(" AND e.actor = ").push_bind(actor.clone());
        }
        if let Some(since) = query.since {
            sql.push(" AND e.created_at >= ").push_bind(since);
        }
        if let Some(until) = query.until {
            sql.push(" AND e.created_at < ").push_bind(until);
        }
        if let Some(before) = query.before_id {
            sql.push(" AND e.id < ").push_bind(before);
        }
        sql.push(" ORDER BY e.id DESC LIMIT ")
            .push_bind(limit as i64 + 1);
        let rows = sql.build().fetch_all(&self.pool).await?;
        let mut hits = Vec::with_capacity(rows.len().min(limit));
        for row in rows.iter().take(limit) {
            let session_id: String = row.get("session_id");
            let seq: i64 = row.get("seq");
            let payload: String = row.get("payload");
            let msg: EventMsg = serde_json::from_str(&payload).map_err(|e| {
                AuditError::Decode(format!("session {session_id} event {seq}: {e}"))
            })?;
            hits.push(SearchHit {
                id: row.get("id"),
                event: Event {
                    session_id,
                    seq: Some(seq as u64),
                    created_at: row.get("created_at"),
                    msg,
                },
            });
        }
        let next = if rows.len() > limit {
            hits.last().map(|h| h.id)
        } else {
            None
        };
        Ok((hits, next))
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn free_text_becomes_quoted_phrases() {
        assert_eq!(
            fts_query("git push --force").as_deref(),
            Some("\"git\" \"push\" \"--force\"")
        );
        assert_eq!(
            fts_query("say \"hi\"").as_deref(),
            Some("\"say\" \"\"\"hi\"\"\"")
        );
        assert_eq!(fts_query("   "), None);
    }
}
