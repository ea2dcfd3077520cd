//! The host: owns the audit store, the settings and the running sessions, and implements
//! the API that the desktop shell and `warden serve` adapt. By concern: opening
//! (open.rs), starting a session (start.rs), the running sessions (registry.rs), the
//! OpenTelemetry exporter (telemetry.rs), settings (settings.rs) and their auto-review
//! section (auto_review.rs), the Policy view (policy_view.rs), triage of endpoint alerts
//! (triage.rs), insights and tuning suggestions (insights.rs), OAuth sign-ins
//! (credentials.rs), its errors (error.rs) and the API's handlers (api.rs).

mod api;
mod auto_review;
mod credentials;
mod error;
mod insights;
mod open;
pub(crate) mod policy_view;
mod registry;
mod settings;
mod start;
mod telemetry;
mod triage;

use std::path::Path;

use tokio::sync::broadcast;
use warden_audit::{AuditStore, SessionRow};
use warden_policy::config::{Config, WardenPaths};
use warden_policy::layers::{self, EffectivePolicy, PolicyInputs, SessionChoices};
use warden_policy::rules::RulesLoader;
use warden_protocol::{Event, Op, SessionSummary};

pub use error::HostError;
use registry::Registry;

/// Writes records apart from any agent session into the audit store, and announces them.
#[derive(Clone)]
pub(crate) struct Recorder {
    store: AuditStore,
    events: broadcast::Sender<Event>,
}

impl Recorder {
    /// See `Host::record_apart`.
    pub(crate) async fn record_apart(
        &self,
        label: &str,
        msgs: Vec<warden_protocol::EventMsg>,
    ) -> Result<String, HostError> {
        let session_id = uuid::Uuid::now_v7().to_string();
        let now = crate::now_ms();
        self.store.create_session(&session_id, label, now).await?;
        let events = msgs
            .into_iter()
            .zip(1..)
            .map(|(msg, seq)| Event {
                session_id: session_id.clone(),
                seq: Some(seq),
                created_at: now,
                turn: None,
                msg,
            })
            .collect();
        for e in self.store.append(events).await? {
            let _ = self.events.send(e);
        }
        Ok(session_id)
    }
}

/// Owns everything a running Warden has. Cheap to share behind an `Arc`.
pub struct Host {
    paths: WardenPaths,
    /// The OpenTelemetry exporter, when a collector is configured.
    telemetry: Option<telemetry::Telemetry>,
    /// What every policy resolution starts from (paths, `-c` overrides, added requirements).
    inputs: PolicyInputs,
    /// The rules language (also in `inputs`), for checking the rules "always" writes.
    rules: RulesLoader,
    store: AuditStore,
    events: broadcast::Sender<Event>,
    sessions: Registry,
    /// The egress proxy every session's commands reach the network through (None where
    /// `network.mode = "deny"` or the sandbox cannot host it).
    egress: Option<&'static crate::egress::EgressHub>,
    /// Why each target's last sign-in from `sign_in` failed (it finishes in the
    /// background), until the next one starts.
    sign_in_failures: credentials::Failures,
}

impl Host {
    pub fn paths(&self) -> &WardenPaths {
        &self.paths
    }

    pub fn store(&self) -> &AuditStore {
        &self.store
    }

    /// Every session's events, live. Subscribe before starting a session.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The effective configuration, read fresh so saved settings apply to new sessions.
    pub fn config(&self) -> Result<Config, HostError> {
        self.policy(None, SessionChoices::default())
            .map(|p| p.config)
    }

    /// The effective policy (config layers, requirements, rules) for a workspace.
    pub fn policy(
        &self,
        workspace: Option<&Path>,
        session: SessionChoices,
    ) -> Result<EffectivePolicy, HostError> {
        let mut inputs = self.inputs.clone();
        inputs.workspace = workspace.map(Path::to_path_buf);
        inputs.session = session;
        Ok(layers::resolve(&inputs)?)
    }

    /// Send an op to a running session.
    pub fn submit(&self, session_id: &str, op: Op) -> Result<(), HostError> {
        self.sessions.submit(session_id, op)
    }

    /// Ask every running session to end.
    pub fn shutdown_all(&self) {
        self.sessions.shutdown_all();
    }

    pub fn is_live(&self, session_id: &str) -> bool {
        self.sessions.is_live(session_id)
    }

    /// Give the exporter up to `timeout` to deliver what is recorded (before exiting).
    /// Anything left is delivered on the next start: the outbox is durable.
    pub async fn flush_telemetry(&self, timeout: std::time::Duration) -> bool {
        if self.telemetry.is_none() {
            return true;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Ask the store, not the exporter's last status: it may predate the newest events.
            if self.store.export_backlog().await.is_ok_and(|n| n == 0) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Record `msgs` as a session of its own, working folder `label` (a triage report, a
    /// rule applied from insights): chained, searched and exported like the rest, without
    /// touching any agent session. Returns its id.
    pub(crate) async fn record_apart(
        &self,
        label: &str,
        msgs: Vec<warden_protocol::EventMsg>,
    ) -> Result<String, HostError> {
        self.recorder().record_apart(label, msgs).await
    }

    /// What `record_apart` needs, for work that outlives the call (a sign-in finishing in
    /// the background).
    pub(crate) fn recorder(&self) -> Recorder {
        Recorder {
            store: self.store.clone(),
            events: self.events.clone(),
        }
    }

    fn summary(&self, row: SessionRow) -> SessionSummary {
        SessionSummary {
            live: self.is_live(&row.session_id),
            session_id: row.session_id,
            cwd: row.cwd,
            title: row.title,
            created_at: row.created_at,
            ended_at: row.ended_at,
            event_count: row.event_count,
        }
    }
}
