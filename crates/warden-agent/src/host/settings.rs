//! Settings: what the Settings view shows (the model endpoint, where the key comes from,
//! the sandbox's status, the exporter's), and saving the model endpoint and key.

use warden_policy::config::{self, ModelConfig};
use warden_protocol::{SaveSettingsParams, SettingsResponse};

use super::{Host, HostError, telemetry};
use crate::{load_api_key, store_api_key};

impl Host {
    pub(crate) async fn settings(&self) -> Result<SettingsResponse, HostError> {
        let policy = self.policy(None, warden_policy::layers::SessionChoices::default())?;
        let auto_review = self.auto_review_settings(&policy).await?;
        let triage = self.triage_settings(&policy.config).await?;
        let config = policy.config;
        let (_, api_key_source) = tokio::task::spawn_blocking(load_api_key)
            .await
            .map_err(HostError::join)?;
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
            telemetry: telemetry::status(self.telemetry.as_ref()),
            auto_review,
            triage,
        })
    }

    /// Save the model endpoint (in the user's config file) and key (in the keyring).
    pub(crate) async fn save_settings(
        &self,
        params: SaveSettingsParams,
    ) -> Result<SettingsResponse, HostError> {
        if let Some(raw) = self
            .inputs
            .overrides
            .iter()
            .find(|o| o.trim_start().starts_with("model."))
        {
            return Err(HostError::SettingsOverridden(raw.clone()));
        }
        let base_url = params.base_url.trim().to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(HostError::SettingsInvalid(format!(
                "the endpoint {base_url:?} must start with http:// or https://"
            )));
        }
        if params.model.trim().is_empty() {
            return Err(HostError::SettingsInvalid("the model name is empty".into()));
        }
        let model = ModelConfig {
            base_url,
            name: params.model.trim().to_string(),
            wire_api: params.wire_api,
        };
        config::save_model(&self.paths.config_file(), &model)?;
        if let Some(key) = params.api_key.filter(|k| !k.trim().is_empty()) {
            tokio::task::spawn_blocking(move || store_api_key(key.trim()))
                .await
                .map_err(HostError::join)??;
        }
        self.settings().await
    }
}
