//! Search and filter recorded events: full text (FTS5) over what was recorded, plus
//! session, kind, actor, decision and time filters; newest first, paged by cursor.
//!
//! Text, kinds and actors are looked up in the full-text index (kinds, sessions and
//! actors as filter tokens, search_text.rs), a session with them; every candidate is then
//! checked against all the filters in SQL, so the index narrows and SQL decides. A
//! session alone reads its events by sequence, a decision alone its partial index.

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use warden_protocol::{DecisionOutcome, Event, EventMsg};

use crate::search_text::{RESERVED, filter_token};
use crate::{AuditError, AuditStore};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words that must all appear (each matched as a phrase).
    pub text: Option<String>,
    pub session_id: Option<String>,
    /// Any of these kinds (`toolCallProposed`, `decision`, …).
    pub kinds: Vec<String>,
    pub actor: Option<String>,
    /// Only decisions that came to this (policy verdicts, network decisions, answers).
    pub decision: Option<DecisionOutcome>,
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

/// A phrase for FTS5: quoted, so `-`, `:` and `*` are literal.
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The FTS5 query for what the index can narrow: every word of the free text (each a
/// phrase, all required), any of the kinds, the actor, and the session when one of those
/// is there too. `None` when the index has nothing to narrow.
fn fts_query(query: &SearchQuery) -> Option<String> {
    let mut parts: Vec<String> = query
        .text
        .iter()
        .flat_map(|t| t.split_whitespace())
        // The reserved mark is a space in recorded text; so it is in a search.
        .map(|w| w.replace(RESERVED, " "))
        .filter(|w| !w.trim().is_empty())
        .map(|w| phrase(&w))
        .collect();
    if !query.kinds.is_empty() {
        let kinds: Vec<String> = query
            .kinds
            .iter()
            .map(|k| phrase(&filter_token('k', k)))
            .collect();
        parts.push(format!("({})", kinds.join(" OR ")));
    }
    if let Some(actor) = &query.actor {
        parts.push(phrase(&filter_token('a', actor)));
    }
    if parts.is_empty() {
        return None;
    }
    if let Some(session) = &query.session_id {
        parts.push(phrase(&filter_token('s', session)));
    }
    Some(parts.join(" AND "))
}

/// Candidates from the full-text index in the first step, newest first, per result asked
/// for (and at least `TEXT_CHUNK_MIN`): FTS5 walks its index in rowid order and stops
/// there, so a common word never materializes every match, and the index narrows kinds
/// and sessions exactly, so most candidates pass. Each further step (when the other
/// filters reject most candidates) takes twice as many, up to what one statement may bind.
const TEXT_CHUNK_PER_RESULT: i64 = 2;
const TEXT_CHUNK_MIN: i64 = 64;
const TEXT_CHUNK_MAX: i64 = 30_000;

impl AuditStore {
    pub async fn search(
        &self,
        query: &SearchQuery,
    ) -> Result<(Vec<SearchHit>, Option<i64>), AuditError> {
        let limit = query.limit.clamp(1, 1000) as usize;
        let Some(text) = fts_query(query) else {
            let rows = self.filtered(query, None, limit).await?;
            return page(rows, limit);
        };
        // Walk the text matches newest first, chunk by chunk, keeping those that pass
        // the other filters, until a page (and one more, to know there is a next) is full.
        let mut rows = Vec::new();
        let mut below = query.before_id;
        // A time window bounds the ids the index walks: every event in it lies between
        // the window's lowest and highest id (read from the time index), so a word common
        // elsewhere is not walked outside the window.
        let (lowest, highest) = self.id_bounds(query).await?;
        if lowest > highest {
            return page(rows, limit);
        }
        if let Some(highest) = highest.checked_add(1) {
            below = Some(below.map_or(highest, |b| b.min(highest)));
        }
        let mut chunk =
            (TEXT_CHUNK_PER_RESULT * (limit as i64 + 1)).clamp(TEXT_CHUNK_MIN, TEXT_CHUNK_MAX);
        while rows.len() <= limit {
            let mut candidates: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT rowid FROM events_fts WHERE events_fts MATCH ");
            candidates.push_bind(&text);
            if let Some(below) = below {
                candidates.push(" AND rowid < ").push_bind(below);
            }
            if lowest > i64::MIN {
                candidates.push(" AND rowid >= ").push_bind(lowest);
            }
            candidates
                .push(" ORDER BY rowid DESC LIMIT ")
                .push_bind(chunk);
            let ids: Vec<i64> = candidates
                .build_query_scalar()
                .fetch_all(&self.pool)
                .await?;
            let Some(&oldest) = ids.last() else { break };
            let wanted = limit + 1 - rows.len();
            rows.extend(self.filtered(query, Some(&ids), wanted).await?);
            if (ids.len() as i64) < chunk {
                break;
            }
            below = Some(oldest);
            chunk = (chunk * 2).min(TEXT_CHUNK_MAX);
        }
        page(rows, limit)
    }

    /// The lowest and highest id of events in the query's time window, when it holds at
    /// most `BOUNDED_WINDOW` events (`i64::MIN` and `i64::MAX` otherwise, or without a
    /// window: reading the bounds of a wide window would cost more than they save; lowest
    /// above highest when the window is empty).
    async fn id_bounds(&self, query: &SearchQuery) -> Result<(i64, i64), AuditError> {
        const BOUNDED_WINDOW: i64 = 100_000;
        if query.since.is_none() && query.until.is_none() {
            return Ok((i64::MIN, i64::MAX));
        }
        let row = sqlx::query(
            "SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM \
             (SELECT id FROM events WHERE created_at >= ? AND created_at < ? LIMIT ?)",
        )
        .bind(query.since.unwrap_or(i64::MIN))
        .bind(query.until.unwrap_or(i64::MAX))
        .bind(BOUNDED_WINDOW + 1)
        .fetch_one(&self.pool)
        .await?;
        if row.get::<i64, _>("n") > BOUNDED_WINDOW {
            return Ok((i64::MIN, i64::MAX));
        }
        match (
            row.get::<Option<i64>, _>("lo"),
            row.get::<Option<i64>, _>("hi"),
        ) {
            (Some(lo), Some(hi)) => Ok((lo, hi)),
            _ => Ok((1, 0)),
        }
    }

    /// Newest events passing the query's filters (not its text), at most `limit` of
    /// them, optionally only among `ids`.
    async fn filtered(
        &self,
        query: &SearchQuery,
        ids: Option<&[i64]>,
        limit: usize,
    ) -> Result<Vec<SqliteRow>, AuditError> {
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT e.id, e.session_id, e.seq, e.created_at, e.turn, e.payload FROM events e WHERE 1 = 1",
        );
        if let Some(ids) = ids {
            sql.push(" AND e.id IN (");
            let mut list = sql.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            sql.push(")");
        }
        if let Some(session) = &query.session_id {
            sql.push(" AND e.session_id = ").push_bind(session.clone());
        }
        if !query.kinds.is_empty() {
            sql.push(" AND e.kind IN (");
            let mut list = sql.separated(", ");
            for kind in &query.kinds {
                list.push_bind(kind.clone());
            }
            sql.push(")");
        }
        if let Some(actor) = &query.actor {
            sql.push(" AND e.actor = ").push_bind(actor.clone());
        }
        if let Some(decision) = query.decision {
            sql.push(" AND e.decision = ").push_bind(decision.as_str());
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
        // Within a session, sequence and id grow together: reading the session's events
        // by sequence, newest first, is reading them by id without a sort.
        let order = if query.session_id.is_some() && ids.is_none() {
            " ORDER BY e.seq DESC LIMIT "
        } else {
            " ORDER BY e.id DESC LIMIT "
        };
        sql.push(order).push_bind(limit as i64 + 1);
        Ok(sql.build().fetch_all(&self.pool).await?)
    }
}

/// The first `limit` rows as hits, and the cursor for the next page if there are more.
fn page(rows: Vec<SqliteRow>, limit: usize) -> Result<(Vec<SearchHit>, Option<i64>), AuditError> {
    let mut hits = Vec::with_capacity(rows.len().min(limit));
    for row in rows.iter().take(limit) {
        let session_id: String = row.get("session_id");
        let seq: i64 = row.get("seq");
        let payload: String = row.get("payload");
        let msg: EventMsg = serde_json::from_str(&payload)
            .map_err(|e| AuditError::Decode(format!("session {session_id} event {seq}: {e}")))?;
        hits.push(SearchHit {
            id: row.get("id"),
            event: Event {
                session_id,
                seq: Some(seq as u64),
                created_at: row.get("created_at"),
                turn: row.get::<Option<i64>, _>("turn").map(|t| t as u64),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> SearchQuery {
        SearchQuery {
            text: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn free_text_becomes_quoted_phrases() {
        assert_eq!(
            fts_query(&text("git push --force")).as_deref(),
            Some("\"git\" AND \"push\" AND \"--force\"")
        );
        assert_eq!(
            fts_query(&text("say \"hi\"")).as_deref(),
            Some("\"say\" AND \"\"\"hi\"\"\"")
        );
        assert_eq!(fts_query(&text("   ")), None);
        assert_eq!(fts_query(&text("\u{e000}")), None);
    }

    #[test]
    fn kinds_and_actors_narrow_in_the_index_and_a_session_joins_them() {
        let q = SearchQuery {
            kinds: vec!["decision".into(), "toolResult".into()],
            actor: Some("user".into()),
            session_id: Some("s".into()),
            ..Default::default()
        };
        assert_eq!(
            fts_query(&q).as_deref(),
            Some(
                "(\"\u{e000}kdecision\" OR \"\u{e000}ktoolResult\") \
                 AND \"\u{e000}auser\" AND \"\u{e000}ss\""
            )
        );
        // A session alone, or with a decision or time range, is read in SQL.
        let alone = SearchQuery {
            session_id: Some("s".into()),
            decision: Some(DecisionOutcome::Forbid),
            ..Default::default()
        };
        assert_eq!(fts_query(&alone), None);
    }
}
