//! The running sessions of this process: their op senders by session id. A session
//! leaves the registry when its actor ends.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;
use warden_protocol::Op;

use super::HostError;

#[derive(Clone, Default)]
pub(crate) struct Registry {
    sessions: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Op>>>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Op>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keep `ops` for `session_id` while `actor` runs (spawned here).
    pub(crate) fn run(
        &self,
        session_id: String,
        ops: mpsc::UnboundedSender<Op>,
        actor: impl Future<Output = ()> + Send + 'static,
    ) {
        self.lock().insert(session_id.clone(), ops);
        let registry = self.clone();
        tokio::spawn(async move {
            actor.await;
            registry.lock().remove(&session_id);
        });
    }

    /// Send an op to a running session.
    pub(crate) fn submit(&self, session_id: &str, op: Op) -> Result<(), HostError> {
        let sessions = self.lock();
        let sender = sessions.get(session_id).ok_or_else(|| {
            HostError::SessionNotRunning(format!("session {session_id} is not running"))
        })?;
        sender
            .send(op)
            .map_err(|_| HostError::SessionNotRunning(format!("session {session_id} has ended")))
    }

    /// Ask every running session to end.
    pub(crate) fn shutdown_all(&self) {
        for sender in self.lock().values() {
            let _ = sender.send(Op::Shutdown);
        }
    }

    pub(crate) fn is_live(&self, session_id: &str) -> bool {
        self.lock().contains_key(session_id)
    }
}
