//! Assigns sequence numbers, records events in the audit store, then publishes them.
//! An event reaches live viewers only after it is committed, so what the UI shows is
//! exactly what was recorded.

use tokio::sync::broadcast;
use warden_audit::{AuditError, AuditStore};
use warden_protocol::{Event, EventMsg};

use crate::now_ms;

pub(crate) struct Recorder {
    session_id: String,
    next_seq: u64,
    store: AuditStore,
    tx: broadcast::Sender<Event>,
}

impl Recorder {
    pub(crate) fn new(session_id: String, store: AuditStore, tx: broadcast::Sender<Event>) -> Self {
        Self {
            session_id,
            next_seq: 1,
            store,
            tx,
        }
    }

    /// Record one event, then publish it as stored (redacted).
    pub(crate) async fn record(&mut self, msg: EventMsg) -> Result<(), AuditError> {
        let event = Event {
            session_id: self.session_id.clone(),
            seq: Some(self.next_seq),
            created_at: now_ms(),
            turn: None,
            msg,
        };
        let stored = self.store.append(vec![event]).await?;
        self.next_seq += 1;
        for event in stored {
            let _ = self.tx.send(event);
        }
        Ok(())
    }

    /// A publisher for transient events, usable while the session is busy elsewhere.
    pub(crate) fn streamer(&self) -> Streamer {
        Streamer {
            session_id: self.session_id.clone(),
            tx: self.tx.clone(),
        }
    }
}

/// Publishes transient (unrecorded) events such as streaming deltas.
#[derive(Clone)]
pub(crate) struct Streamer {
    session_id: String,
    tx: broadcast::Sender<Event>,
}

impl Streamer {
    /// Publish without recording: streaming deltas, or an error the store itself failed on.
    pub(crate) fn send(&self, msg: EventMsg) {
        let _ = self.tx.send(Event {
            session_id: self.session_id.clone(),
            seq: None,
            created_at: now_ms(),
            turn: None,
            msg,
        });
    }
}
