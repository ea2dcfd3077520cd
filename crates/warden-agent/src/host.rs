//! The host: owns the audit store, the settings and the running sessions, and
//! implements the API that the desktop shell and `warden serve` adapt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};
use warden_audit::{AuditError, AuditStore, ExporterConfig, OtlpProtocol, SearchQuery, SessionRow};
use warden_policy::PolicyError;
use warden_policy::config::{self, Config, ModelConfig, TelemetryConfig, WardenPaths};
use warden_policy::layers::{self, EffectivePolicy, PolicyInputs, SessionChoices};
use warden_policy::rules::RulesLoader;
use warden_protocol::*;

use crate::model::ModelClient;
use crate::session::{self, SessionSetup};
use crate::{load_api_key, now_ms, store_api_key};

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] PolicyError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl HostError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(e) => e.code(),
            Self::Audit(e) => e.code(),
        }
    }
}

fn api_error(code: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(code, e.to_string())
}

fn audit_error(e: AuditError) -> ApiError {
    api_error(e.code(), e)
}

/// Start the OpenTelemetry exporter if a collector endpoint is configured.
fn start_exporter(
    store: &AuditStore,
    t: &TelemetryConfig,
) -> Result<Option<(warden_audit::Exporter, TelemetryConfig)>, HostError> {
    let Some(endpoint) = &t.otlp_endpoint else {
        return Ok(None);
    };
    let invalid = |m: String| HostError::Config(PolicyError::Invalid(m));
    let protocol = match t.otlp_protocol.as_str() {
        "http" => OtlpProtocol::HttpProtobuf,
        "grpc" => OtlpProtocol::Grpc,
        other => {
            return Err(invalid(format!(
                "telemetry.otlp_protocol is {other:?}; expected \"http\" or \"grpc\""
            )));
        }
    };
    let exporter = store
        .start_export(ExporterConfig {
            protocol,
            endpoint: endpoint.clone(),
            headers: t
                .otlp_headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            export_prompts: t.export_prompts,
            batch_size: 2000,
            backlog_warning: t.backlog_warning,
            backlog_cap: t.backlog_cap,
            timeout: std::time::Duration::from_secs(10),
            tls: tls_settings(t).map_err(invalid)?,
        })
        .map_err(|e| invalid(format!("telemetry: {e}")))?;
    Ok(Some((exporter, t.clone())))
}

/// The collector TLS files named by `telemetry.otlp_ca_file`, `otlp_client_cert` and
/// `otlp_client_key`, read now so a missing or unreadable file is a clear error.
fn tls_settings(t: &TelemetryConfig) -> Result<warden_audit::TlsSettings, String> {
    let read = |key: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| format!("telemetry.{key}: cannot read {}: {e}", path.display()))
    };
    let ca_pem = match &t.otlp_ca_file {
        Some(path) => Some(read("otlp_ca_file", path)?),
        None => None,
    };
    let client_identity = match (&t.otlp_client_cert, &t.otlp_client_key) {
        (Some(cert), Some(key)) => Some((
            read("otlp_client_cert", cert)?,
            read("otlp_client_key", key)?,
        )),
        (None, None) => None,
        (Some(_), None) => {
            return Err("telemetry.otlp_client_cert is set without otlp_client_key".into());
        }
        (None, Some(_)) => {
            return Err("telemetry.otlp_client_key is set without otlp_client_cert".into());
        }
    };
    Ok(warden_audit::TlsSettings {
        ca_pem,
        client_identity,
    })
}

/// Owns everything a running Warden has. Cheap to share behind an `Arc`.
pub struct Host {
    paths: WardenPaths,
    /// The OpenTelemetry exporter, when a collector is configured.
    exporter: Option<(
        warden_audit::Exporter,
        warden_policy::config::TelemetryConfig,
    )>,
    /// What every policy resolution starts from (paths, `-c` overrides, added requirements).
    inputs: PolicyInputs,
    /// The rules language (also in `inputs`), for checking the rules "always" writes.
    rules: RulesLoader,
    store: AuditStore,
    events: broadcast::Sender<Event>,
    sessions: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Op>>>>,
    /// The egress proxy every session's commands reach the network through (None where
    /// `network.mode = "deny"` or the sandbox cannot host it).
    egress: Option<&'static crate::egress::EgressHub>,
}

impl Host {
    /// Open the audit store and check the configuration (so a bad file is reported at
    /// start). `overrides` are `-c KEY=VALUE` strings applied on every load. `rules`
    /// reads rules files (`warden_rules::load_rules`: the agent does not link Starlark
    /// itself, see `RulesLoader`).
    pub async fn open(
        paths: WardenPaths,
        overrides: Vec<String>,
        rules: RulesLoader,
    ) -> Result<Self, HostError> {
        let mut inputs = PolicyInputs::new(paths)?;
        inputs.overrides = overrides;
        Self::open_with(inputs, rules).await
    }

    /// Open with explicit policy inputs (tests, `--requirements` flags).
    pub async fn open_with(
        mut inputs: PolicyInputs,
        rules: RulesLoader,
    ) -> Result<Self, HostError> {
        inputs.rules = Some(rules);
        let paths = inputs.paths.clone();
        let effective = layers::resolve(&inputs)?;
        for warning in &effective.warnings {
            tracing::error!("{warning}");
        }
        if let Some(bundle) = effective.bundle.clone() {
            let cache = EffectivePolicy::bundle_cache(&paths);
            tokio::spawn(async move {
                if let Err(e) = crate::bundle::refresh(&bundle, &cache).await {
                    tracing::error!("requirements bundle not refreshed: {e}");
                }
            });
        }
        let config = effective.config;
        let store = AuditStore::open(&paths.audit_db()).await?;
        if let Some(days) = config.audit.retention_days {
            let now = now_ms();
            let report = store
                .apply_retention(now - i64::from(days) * 86_400_000, now)
                .await?;
            tracing::info!(
                days,
                deleted = report.events_deleted,
                "audit retention applied"
            );
        }
        let exporter = start_exporter(&store, &config.telemetry)?;
        // Commands start faster once the sandbox's shared namespaces exist (the proxy's
        // listener lives in them too).
        let egress = if config.network.mode == config::NetworkMode::Proxy {
            let started = tokio::task::spawn_blocking(crate::egress::EgressHub::shared)
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            match started {
                Ok(hub) => Some(hub),
                Err(e) => {
                    tracing::error!("no egress proxy, so sandboxed commands have no network: {e}");
                    None
                }
            }
        } else {
            tokio::task::spawn_blocking(warden_sandbox::warm_up);
            None
        };
        let (events, _) = broadcast::channel(4096);
        Ok(Self {
            paths,
            exporter,
            inputs,
            rules,
            store,
            events,
            sessions: Default::default(),
            egress,
        })
    }

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
    pub fn config(&self) -> Result<Config, ApiError> {
        self.policy(None, SessionChoices::default())
            .map(|p| p.config)
    }

    /// The effective policy (config layers, requirements, rules) for a workspace.
    pub fn policy(
        &self,
        workspace: Option<&Path>,
        session: SessionChoices,
    ) -> Result<EffectivePolicy, ApiError> {
        let mut inputs = self.inputs.clone();
        inputs.workspace = workspace.map(Path::to_path_buf);
        inputs.session = session;
        layers::resolve(&inputs).map_err(|e| api_error(e.code(), e))
    }

    /// Start a session. `interactive` says whether anyone can answer approvals.
    pub async fn start(
        &self,
        params: StartSessionParams,
        interactive: bool,
    ) -> Result<String, ApiError> {
        let cwd = PathBuf::from(&params.cwd);
        if params.cwd.trim().is_empty() {
            return Err(ApiError::new(
                "workspace_missing",
                "choose a workspace folder first",
            ));
        }
        let cwd = cwd
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| {
                ApiError::new(
                    "workspace_missing",
                    format!("the workspace folder {} does not exist", params.cwd),
                )
            })?;
        let effective = self.policy(
            Some(&cwd),
            SessionChoices {
                sandbox: params.sandbox,
                approval: params.approval,
            },
        )?;
        let config = effective.config.clone();
        let sandbox = config.sandbox;
        let sandbox_policy = crate::boundary::sandbox_policy(
            sandbox,
            &cwd,
            &config.writable_roots,
            &config.boundary,
            Some(&self.paths),
        )
        .map_err(|message| ApiError::new("config_invalid", message))?;
        let (api_key, _) = tokio::task::spawn_blocking(load_api_key)
            .await
            .map_err(|e| api_error("internal", e))?;
        let client = ModelClient::new(
            &config.model.base_url,
            &config.model.name,
            config.model.wire_api,
            api_key,
        )
        .map_err(|e| api_error(e.code(), e))?;
        let session_id = uuid::Uuid::now_v7().to_string();
        let egress = match &self.egress {
            Some(hub)
                if config.network.mode == config::NetworkMode::Proxy
                    && sandbox != SandboxMode::FullAccess =>
            {
                let scope = warden_proxy::NetworkScope::from_effective(&effective)
                    .map_err(|message| ApiError::new("config_invalid", message))?;
                Some(hub.join(&session_id, scope))
            }
            _ => None,
        };
        self.store
            .create_session(&session_id, &cwd.display().to_string(), now_ms())
            .await
            .map_err(audit_error)?;
        let policy = crate::policy_view::session_policy(&effective);
        let setup = SessionSetup {
            session_id: session_id.clone(),
            cwd,
            sandbox,
            sandbox_policy,
            approval: config.approval,
            interactive,
            rules: effective.rules,
            auto_review: config.auto_review,
            user_rules_file: effective
                .requirements
                .user_rules_forbidden
                .is_none()
                .then(|| layers::user_rules_dir(&self.paths).join("default.rules")),
            rules_language: self.rules,
            config,
            client,
            store: self.store.clone(),
            events: self.events.clone(),
            support: warden_sandbox::support(),
            egress,
            policy,
        };
        let (ops, actor) = session::spawn(setup);
        self.lock_sessions().insert(session_id.clone(), ops);
        let sessions = self.sessions.clone();
        let id = session_id.clone();
        tokio::spawn(async move {
            actor.await;
            if let Ok(mut map) = sessions.lock() {
                map.remove(&id);
            }
        });
        Ok(session_id)
    }

    /// Send an op to a running session.
    pub fn submit(&self, session_id: &str, op: Op) -> Result<(), ApiError> {
        let sessions = self.lock_sessions();
        let sender = sessions.get(session_id).ok_or_else(|| {
            ApiError::new(
                "session_not_running",
                format!("session {session_id} is not running"),
            )
        })?;
        sender.send(op).map_err(|_| {
            ApiError::new(
                "session_not_running",
                format!("session {session_id} has ended"),
            )
        })
    }

    /// Give the exporter up to `timeout` to deliver what is recorded (before exiting).
    /// Anything left is delivered on the next start: the outbox is durable.
    pub async fn flush_telemetry(&self, timeout: std::time::Duration) -> bool {
        if self.exporter.is_none() {
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

    /// Ask every running session to end.
    pub fn shutdown_all(&self) {
        for sender in self.lock_sessions().values() {
            let _ = sender.send(Op::Shutdown);
        }
    }

    pub fn is_live(&self, session_id: &str) -> bool {
        self.lock_sessions().contains_key(session_id)
    }

    fn lock_sessions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Op>>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    fn telemetry_status(&self) -> TelemetryStatus {
        match &self.exporter {
            Some((exporter, config)) => {
                let s = exporter.status();
                TelemetryStatus {
                    enabled: true,
                    endpoint: config.otlp_endpoint.clone().unwrap_or_default(),
                    protocol: config.otlp_protocol.clone(),
                    state: s.state,
                    backlog: s.backlog,
                    exported: s.exported,
                    last_error: s.last_error,
                    backlog_warning: s.backlog_warning,
                    backlog_cap: config.backlog_cap,
                    skipped: s.skipped,
                }
            }
            None => TelemetryStatus {
                enabled: false,
                endpoint: String::new(),
                protocol: String::new(),
                state: "off".into(),
                backlog: 0,
                exported: 0,
                last_error: None,
                backlog_warning: false,
                backlog_cap: 0,
                skipped: 0,
            },
        }
    }

    async fn settings(&self) -> Result<SettingsResponse, ApiError> {
        let config = self.config()?;
        let (_, api_key_source) = tokio::task::spawn_blocking(load_api_key)
            .await
            .map_err(|e| api_error("internal", e))?;
        Ok(SettingsResponse {
            base_url: config.model.base_url,
            model: config.model.name,
            wire_api: config.model.wire_api,
            api_key_source,
            sandbox: config.sandbox,
            approval: config.approval,
            config_path: self.paths.config_file().display().to_string(),
            audit_db_path: self.store.path().display().to_string(),
            sandbox_status: warden_sandbox::support().summary,
            telemetry: self.telemetry_status(),
        })
    }
}

impl WardenApi for Host {
    async fn start_session(
        &self,
        params: StartSessionParams,
    ) -> Result<StartSessionResponse, ApiError> {
        let session_id = self.start(params, true).await?;
        Ok(StartSessionResponse { session_id })
    }

    async fn submit_op(&self, params: SubmitOpParams) -> Result<OkResponse, ApiError> {
        self.submit(&params.session_id, params.op)?;
        Ok(OkResponse {})
    }

    async fn list_sessions(
        &self,
        params: ListSessionsParams,
    ) -> Result<ListSessionsResponse, ApiError> {
        let (rows, next_cursor) = self
            .store
            .list_sessions(params.cursor.as_deref(), params.limit.unwrap_or(50))
            .await
            .map_err(audit_error)?;
        let sessions = rows.into_iter().map(|row| self.summary(row)).collect();
        Ok(ListSessionsResponse {
            sessions,
            next_cursor,
        })
    }

    async fn get_timeline(
        &self,
        params: GetTimelineParams,
    ) -> Result<GetTimelineResponse, ApiError> {
        let (events, next_cursor) = self
            .store
            .timeline(
                &params.session_id,
                params.after_seq.unwrap_or(0),
                params.limit.unwrap_or(500),
            )
            .await
            .map_err(audit_error)?;
        Ok(GetTimelineResponse {
            events,
            next_cursor,
        })
    }

    async fn get_settings(&self, _params: GetSettingsParams) -> Result<SettingsResponse, ApiError> {
        self.settings().await
    }

    async fn get_policy(&self, params: GetPolicyParams) -> Result<GetPolicyResponse, ApiError> {
        self.policy_view(params)
    }

    async fn check_command(
        &self,
        params: CheckCommandParams,
    ) -> Result<CheckCommandResponse, ApiError> {
        Host::check_command(self, params)
    }

    async fn trust_project_policy(
        &self,
        params: TrustProjectPolicyParams,
    ) -> Result<GetPolicyResponse, ApiError> {
        Host::trust_project_policy(self, params)
    }

    async fn save_settings(
        &self,
        params: SaveSettingsParams,
    ) -> Result<SettingsResponse, ApiError> {
        if let Some(raw) = self
            .inputs
            .overrides
            .iter()
            .find(|o| o.trim_start().starts_with("model."))
        {
            return Err(ApiError::new(
                "settings_overridden",
                format!(
                    "the model settings are set on the command line (-c {raw}); remove that override to change them here"
                ),
            ));
        }
        let base_url = params.base_url.trim().to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ApiError::new(
                "settings_invalid",
                format!("the endpoint {base_url:?} must start with http:// or https://"),
            ));
        }
        if params.model.trim().is_empty() {
            return Err(ApiError::new("settings_invalid", "the model name is empty"));
        }
        let model = ModelConfig {
            base_url,
            name: params.model.trim().to_string(),
            wire_api: params.wire_api,
        };
        config::save_model(&self.paths.config_file(), &model)
            .map_err(|e| api_error(e.code(), e))?;
        if let Some(key) = params.api_key.filter(|k| !k.trim().is_empty()) {
            tokio::task::spawn_blocking(move || store_api_key(key.trim()))
                .await
                .map_err(|e| api_error("internal", e))?
                .map_err(|e| api_error(e.code(), e))?;
        }
        self.settings().await
    }

    async fn search_events(
        &self,
        params: SearchEventsParams,
    ) -> Result<SearchEventsResponse, ApiError> {
        let query = SearchQuery {
            text: params.text.filter(|t| !t.trim().is_empty()),
            session_id: params.session_id.filter(|s| !s.is_empty()),
            kinds: params.kinds,
            actor: params.actor.filter(|a| !a.is_empty()),
            decision: params.decision,
            since: params.since,
            until: params.until,
            before_id: params.cursor,
            limit: params.limit.unwrap_or(200),
        };
        let (hits, next_cursor) = self.store.search(&query).await.map_err(audit_error)?;
        let hits = hits
            .into_iter()
            .map(|h| AuditHit {
                id: h.id,
                event: h.event,
            })
            .collect();
        Ok(SearchEventsResponse { hits, next_cursor })
    }

    async fn verify_audit(
        &self,
        _params: VerifyAuditParams,
    ) -> Result<VerifyAuditResponse, ApiError> {
        let report = self.store.verify().await.map_err(audit_error)?;
        Ok(VerifyAuditResponse {
            intact: report.broken.is_none(),
            sessions: report.sessions,
            events: report.events,
            unchained: report.unchained,
            summary: report.to_string(),
            notes: report.notes.clone(),
            broken_at: report.broken.map(|b| ChainBreak {
                session_id: b.session_id,
                seq: b.seq,
                reason: b.reason,
            }),
        })
    }

    async fn export_session(
        &self,
        params: ExportSessionParams,
    ) -> Result<ExportSessionResponse, ApiError> {
        let dir = self.paths.data_dir.join("exports");
        let io = |e: std::io::Error| api_error("export_failed", e);
        std::fs::create_dir_all(&dir).map_err(io)?;
        let safe: String = params
            .session_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let path = dir.join(format!("{safe}-{}.jsonl", now_ms()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
        let events = self
            .store
            .export_session(&params.session_id, &mut out)
            .await
            .map_err(audit_error)?;
        Ok(ExportSessionResponse {
            path: path.display().to_string(),
            events,
        })
    }
}
