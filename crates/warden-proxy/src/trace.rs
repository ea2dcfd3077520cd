//! What one connection comes to: the event being built as it passes the gate (host,
//! decision, who decided, address, program, bytes), or why it was refused.

use std::time::Instant;

use warden_protocol::{Actor, NetworkAccess, PolicySource};

use crate::{Attribution, BlockReason, NetworkEvent, OpenConnection, Shared};

/// Why no upstream connection was opened.
pub(crate) struct Refusal {
    /// None: not a policy block but a failure (resolution, connect).
    pub block: Option<BlockReason>,
    pub message: String,
}

impl Refusal {
    pub(crate) fn block(block: BlockReason, message: impl Into<String>) -> Self {
        Self {
            block: Some(block),
            message: message.into(),
        }
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self {
            block: None,
            message: message.into(),
        }
    }
}

/// The event being built for one connection.
pub(crate) struct Trace {
    started: Instant,
    pub protocol: &'static str,
    session_id: Option<String>,
    call_id: Option<String>,
    pid: Option<u32>,
    /// Held until the event is recorded, so the command's end can wait for it.
    open: Option<OpenConnection>,
    pub access: NetworkAccess,
}

impl Trace {
    pub(crate) fn new(protocol: &'static str, host: &str, port: u16) -> Self {
        Self {
            started: Instant::now(),
            protocol,
            session_id: None,
            call_id: None,
            pid: None,
            open: None,
            access: NetworkAccess {
                host: host.to_string(),
                port,
                protocol: protocol.to_string(),
                decision: "deny".into(),
                reason: String::new(),
                source: None,
                actor: Actor::Rule,
                address: None,
                program: None,
                command: None,
                error: None,
                bytes_up: 0,
                bytes_down: 0,
                duration_ms: 0,
            },
        }
    }

    pub(crate) fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    pub(crate) fn attribute(&mut self, who: &Attribution, open: OpenConnection) {
        self.open = Some(open);
        self.session_id = who.session_id.clone();
        self.call_id = who.call_id.clone();
        self.pid = who.pid;
        self.access.command = Some(who.command.clone()).filter(|c| !c.is_empty());
    }

    pub(crate) fn decided(
        &mut self,
        decision: &str,
        reason: &str,
        source: Option<&PolicySource>,
        actor: Actor,
    ) {
        self.access.decision = decision.into();
        self.access.reason = reason.into();
        self.access.source = source.map(ToString::to_string);
        self.access.actor = actor;
    }

    pub(crate) fn refused(&mut self, refusal: &Refusal) {
        if let Some(block) = refusal.block {
            self.access.decision = "deny".into();
            self.access.reason = block.as_str().into();
        }
        self.access.error = Some(refusal.message.clone());
    }

    pub(crate) fn emit(mut self, shared: &Shared) {
        self.access.duration_ms = self.started.elapsed().as_millis() as u64;
        tracing::debug!(host = %self.access.host, port = self.access.port,
            decision = %self.access.decision, reason = %self.access.reason, "proxy decision");
        (shared.sink)(NetworkEvent {
            session_id: self.session_id,
            call_id: self.call_id,
            access: self.access,
        });
    }
}
