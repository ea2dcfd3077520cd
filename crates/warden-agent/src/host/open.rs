//! Opening the host: the effective configuration (requirements included) checked at
//! start, the signed requirements bundle refreshed in the background, the audit store
//! opened and trimmed by retention, the exporter started, and the sandbox's shared
//! namespaces (with the egress proxy's listener) made ready.

use tokio::sync::broadcast;
use warden_audit::AuditStore;
use warden_policy::config::{self, WardenPaths};
use warden_policy::layers::{self, EffectivePolicy, PolicyInputs};
use warden_policy::rules::RulesLoader;

use super::{Host, HostError, Registry, telemetry};
use crate::now_ms;

impl Host {
    /// Open the host for this user's profile (`$WARDEN_HOME` or the platform's folders),
    /// as the desktop app and the CLI do. `overrides` are `-c KEY=VALUE` strings applied
    /// on every load; `rules` reads rules files (`warden_rules::load_rules`: the agent
    /// does not link Starlark itself, see `RulesLoader`).
    pub async fn open_default(
        overrides: Vec<String>,
        rules: RulesLoader,
    ) -> Result<Self, HostError> {
        Self::open(WardenPaths::discover()?, overrides, rules).await
    }

    /// Open with these folders (a bad file is reported now, at start).
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
        let telemetry = telemetry::start(&store, &config.telemetry)?;
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
            telemetry,
            inputs,
            rules,
            store,
            events,
            sessions: Registry::default(),
            egress,
            sign_in_failures: Default::default(),
        })
    }
}
