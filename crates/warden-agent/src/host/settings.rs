//! Settings: what the Settings view shows (the model endpoint, where the key comes from,
//! the sandbox's status, the exporter's), and saving the model endpoint and key.

use warden_policy::config::{self, ModelConfig};
use warden_protocol::{SaveSettingsParams, SettingsResponse, TestModelResponse};

use super::{Host, HostError, telemetry};
use crate::store_api_key;

impl Host {
    pub(crate) async fn settings(&self) -> Result<SettingsResponse, HostError> {
        let policy = self.policy(None, warden_policy::layers::SessionChoices::default())?;
        let auto_review = self.auto_review_settings(&policy).await?;
        let triage = self.triage_settings(&policy.config).await?;
        let (api_key_source, credential_error) = {
            let policy = policy.clone();
            let locks = self.paths.oauth_dir();
            tokio::task::spawn_blocking(move || {
                match crate::model_access::session_credential(&policy, locks) {
                    Ok((_, source)) => (source, None),
                    Err(e) => (warden_protocol::ApiKeySource::None, Some(e.to_string())),
                }
            })
            .await
            .map_err(HostError::join)?
        };
        let config = policy.config;
        Ok(SettingsResponse {
            base_url: config.model.base_url,
            model: config.model.name,
            wire_api: config.model.wire_api,
            api_key_source,
            credential_error,
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
        let model = checked_model(&params)?;
        let file = self.paths.config_file();
        let before = std::fs::read(&file).ok();
        config::save_model(&file, &model)?;
        // An endpoint the admin's requirements refuse is not kept: the file goes back to
        // what it was, and the refusal (naming the requirement) is the answer.
        if let Err(refused) = self.policy(None, warden_policy::layers::SessionChoices::default()) {
            match before {
                Some(bytes) => std::fs::write(&file, bytes),
                None => std::fs::remove_file(&file),
            }
            .map_err(|error| warden_policy::PolicyError::Write {
                path: file.clone(),
                error,
            })?;
            return Err(refused);
        }
        if let Some(key) = params.api_key.filter(|k| !k.trim().is_empty()) {
            tokio::task::spawn_blocking(move || store_api_key(key.trim()))
                .await
                .map_err(HostError::join)??;
        }
        self.settings().await
    }
}

/// The model settings as typed, checked.
fn checked_model(params: &SaveSettingsParams) -> Result<ModelConfig, HostError> {
    let base_url = params.base_url.trim().to_string();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(HostError::SettingsInvalid(format!(
            "the endpoint {base_url:?} must start with http:// or https://"
        )));
    }
    if params.model.trim().is_empty() {
        return Err(HostError::SettingsInvalid("the model name is empty".into()));
    }
    Ok(ModelConfig {
        base_url,
        name: params.model.trim().to_string(),
        wire_api: params.wire_api,
        ..ModelConfig::default()
    })
}

impl Host {
    /// Try the model settings as typed (before saving them): one short request, with the
    /// key typed or else the stored one. A failure comes back with its code
    /// (`model_unreachable`, `model_unauthorized`, `model_not_found`, …).
    pub(crate) async fn test_model(
        &self,
        params: SaveSettingsParams,
    ) -> Result<TestModelResponse, HostError> {
        let model = checked_model(&params)?;
        // A test carries the stored credential and the locked headers: only to an endpoint
        // the admin allows, as a session would.
        let policy = self.policy(None, warden_policy::layers::SessionChoices::default())?;
        if let Some(list) =
            policy.requirements.model_base_urls.iter().find(|list| {
                !warden_policy::requirements::url_allowed(&list.value, &model.base_url)
            })
        {
            return Err(warden_policy::PolicyError::Refused(format!(
                "the endpoint {} is not an allowed model endpoint: {} allows {}; nothing was sent",
                model.base_url,
                list.source,
                list.value.join(", ")
            ))
            .into());
        }
        let key = match params.api_key.filter(|k| !k.trim().is_empty()) {
            Some(typed) => Some(typed.trim().to_string()),
            None => {
                let config = self.config()?;
                let endpoint = model.base_url.clone();
                tokio::task::spawn_blocking(move || {
                    crate::model_access::fallback_key(&config, &endpoint)
                })
                .await
                .map_err(HostError::join)?
            }
        };
        let client = crate::model_access::with_headers(
            crate::model::ModelClient::new(&model.base_url, &model.name, model.wire_api, key)?,
            &self.config()?,
        )
        .with_retry(crate::model::RetryPolicy {
            max_retries: 0,
            ..Default::default()
        });
        let started = std::time::Instant::now();
        let items = [crate::model::Item::User(
            "Warden is checking the connection: reply with the word ok.".into(),
        )];
        let request = crate::model::TurnRequest {
            instructions: "Reply with one word.",
            items: &items,
            tools: &[],
        };
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            client.stream_turn(&request, |_| {}),
        )
        .await
        .map_err(|_| {
            HostError::Model(crate::model::ModelError::Unreachable {
                url: model.base_url.clone(),
                message: "no answer within 30 s".into(),
            })
        })??;
        let mut reply = output.text.trim().to_string();
        if reply.len() > 200 {
            reply.truncate(reply.floor_char_boundary(200));
            reply.push('…');
        }
        Ok(TestModelResponse {
            model: model.name,
            latency_ms: started.elapsed().as_millis() as u64,
            reply,
        })
    }
}
