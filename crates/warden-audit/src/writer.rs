//! The single writer: drains queued requests, writes them with multi-row inserts in one
//! transaction, then acknowledges each request.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use warden_protocol::{Event, EventMsg};

use crate::AuditError;

pub(crate) struct WriteRequest {
    pub events: Vec<Event>,
    pub ack: oneshot::Sender<Result<(), AuditError>>,
}

/// Rows per INSERT statement (SQLite allows 32766 bound parameters; 6 per row).
const ROWS_PER_STATEMENT: usize = 5000;
/// Requests folded into one transaction.
const REQUESTS_PER_BATCH: usize = 256;

pub(crate) async fn run_writer(pool: SqlitePool, mut rx: mpsc::Receiver<WriteRequest>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < REQUESTS_PER_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let events: Vec<&Event> = batch.iter().flat_map(|r| r.events.iter()).collect();
        let result = write_batch(&pool, &events).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "audit batch failed");
        }
        for request in batch {
            let reply = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(AuditError::Write(e.to_string())),
            };
            let _ = request.ack.send(reply);
        }
    }
}

async fn write_batch(pool: &SqlitePool, events: &[&Event]) -> Result<(), AuditError> {
    let mut tx = pool.begin().await?;
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let seq = event
            .seq
            .ok_or_else(|| AuditError::Decode(format!("{} event has no seq", event.msg.kind())))?;
        let payload =
            serde_json::to_string(&event.msg).map_err(|e| AuditError::Decode(e.to_string()))?;
        rows.push((event, seq as i64, payload));
    }
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (session_id, seq, created_at, kind, actor, payload) ",
        );
        insert.push_values(chunk, |mut row, (event, seq, payload)| {
            row.push_bind(&event.session_id)
                .push_bind(*seq)
                .push_bind(event.created_at)
                .push_bind(event.msg.kind())
                .push_bind(event.msg.actor())
                .push_bind(payload);
        });
        insert.build().execute(&mut *tx).await?;
    }
    for event in events {
        match &event.msg {
            EventMsg::UserPrompt { text } => {
                let title: String = text.chars().take(200).collect();
                sqlx::query("UPDATE sessions SET title = ? WHERE session_id = ? AND title = ''")
                    .bind(title)
                    .bind(&event.session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            EventMsg::SessionEnded { .. } => {
                sqlx::query("UPDATE sessions SET ended_at = ? WHERE session_id = ?")
                    .bind(event.created_at)
                    .bind(&event.session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
    }
    tx.commit().await?;
    Ok(())
}
