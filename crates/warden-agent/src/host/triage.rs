//! Triage through the host (`warden triage`, `POST /api/triage`, the Triage view): the
//! alert correlated with this profile's audit store, analysed by the triage model (from
//! `[triage]`, its key from its own keyring entry, else the session model's) or the
//! rules, and the report recorded as a session of its own, so it is exported with the
//! rest and cites the events it matched.

use std::time::Duration;

use warden_policy::config::{Config, TriageAnalysisMode};
use warden_protocol::{
    EventMsg, SaveTriageParams, SettingsResponse, TriageParams, TriageResponse, TriageSettings,
};

use super::{Host, HostError};
use crate::model::ModelClient;

impl Host {
    pub(crate) async fn triage(&self, params: TriageParams) -> Result<TriageResponse, HostError> {
        let config = self.config()?;
        let client = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || triage_client(&config))
                .await
                .map_err(HostError::join)?
        };
        let minutes = params
            .window_minutes
            .unwrap_or(config.triage.window_minutes)
            .max(1);
        let options = warden_triage::Options {
            window: Duration::from_secs(u64::from(minutes) * 60),
            model: client.as_ref().map_err(Clone::clone),
            timeout: Duration::from_secs(config.triage.timeout_secs.max(1)),
        };
        let report = warden_triage::triage(&self.store, &params.alert, &options).await?;
        let report_session_id = self
            .record_apart(
                "triage",
                vec![
                    EventMsg::TriageReport {
                        report: report.clone(),
                    },
                    EventMsg::SessionEnded {
                        reason: "triage report".into(),
                    },
                ],
            )
            .await?;
        Ok(TriageResponse {
            markdown: warden_triage::report::markdown(&report),
            report,
            report_session_id,
        })
    }
}

impl Host {
    /// The Settings view's triage section.
    pub(crate) async fn triage_settings(
        &self,
        config: &Config,
    ) -> Result<TriageSettings, HostError> {
        let own_key = tokio::task::spawn_blocking(crate::load_triage_key)
            .await
            .map_err(HostError::join)?
            .is_some();
        let t = &config.triage;
        Ok(TriageSettings {
            analysis: match t.analysis {
                TriageAnalysisMode::Model => "model".into(),
                TriageAnalysisMode::Rules => "rules".into(),
            },
            base_url: t.model.base_url.clone(),
            model: t.model.name.clone(),
            wire_api: t.model.wire_api,
            own_key,
            timeout_secs: t.timeout_secs,
            window_minutes: t.window_minutes,
        })
    }

    /// Save the triage section (the user's file; the key in its own keyring entry).
    pub(crate) async fn save_triage(
        &self,
        params: SaveTriageParams,
    ) -> Result<SettingsResponse, HostError> {
        let invalid = |m: String| Err(HostError::SettingsInvalid(m));
        let text = |v: &str| Some(toml::Value::String(v.to_string()));
        let mut changes: Vec<(&str, Option<toml::Value>)> = Vec::new();
        if let Some(analysis) = &params.analysis {
            if !matches!(analysis.as_str(), "model" | "rules") {
                return invalid(format!(
                    "triage.analysis must be `model` or `rules`, not {analysis:?}"
                ));
            }
            changes.push(("analysis", text(analysis)));
        }
        if let Some(url) = &params.base_url {
            let url = url.trim();
            if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
                return invalid(format!(
                    "the triage endpoint {url:?} must start with http:// or https://"
                ));
            }
            changes.push((
                "model.base_url",
                Some(url).filter(|u| !u.is_empty()).and_then(text),
            ));
        }
        if let Some(name) = &params.model {
            let name = name.trim();
            changes.push((
                "model.name",
                Some(name).filter(|n| !n.is_empty()).and_then(text),
            ));
        }
        if let Some(wire) = params.wire_api {
            changes.push(("model.wire_api", text(wire.as_str())));
        }
        if let Some(secs) = params.timeout_secs {
            if secs == 0 {
                return invalid("triage.timeout_secs must be at least 1".into());
            }
            changes.push((
                "timeout_secs",
                Some(toml::Value::Integer(secs.min(86_400) as i64)),
            ));
        }
        if let Some(minutes) = params.window_minutes {
            if minutes == 0 {
                return invalid("triage.window_minutes must be at least 1".into());
            }
            changes.push((
                "window_minutes",
                Some(toml::Value::Integer(i64::from(minutes))),
            ));
        }
        if !changes.is_empty() {
            warden_policy::config::save_section(&self.paths.config_file(), "triage", &changes)?;
        }
        if let Some(key) = params.api_key.filter(|k| !k.trim().is_empty()) {
            tokio::task::spawn_blocking(move || crate::store_triage_key(key.trim()))
                .await
                .map_err(HostError::join)??;
        }
        self.settings().await
    }
}

/// The triage model for `config`, or why the rules decide. Blocking: reads the keyring.
fn triage_client(config: &Config) -> Result<ModelClient, String> {
    let triage = &config.triage;
    if triage.analysis == TriageAnalysisMode::Rules {
        return Err("triage.analysis is `rules`".into());
    }
    let endpoint = triage.model.base_url_or(&config.model);
    let key =
        crate::load_triage_key().or_else(|| crate::model_access::fallback_key(config, endpoint));
    ModelClient::new(
        endpoint,
        triage.model.name.as_deref().unwrap_or(&config.model.name),
        triage.model.wire_api.unwrap_or(config.model.wire_api),
        key,
    )
    .map(|client| crate::model_access::with_headers(client, config))
    .map_err(|e| format!("cannot set up the triage model: {e}"))
}
