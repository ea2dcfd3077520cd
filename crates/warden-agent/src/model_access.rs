//! The model's credential and headers as the policy allows them: `model.credentials`
//! decides where the credential may come from (`any`: the keyring, then
//! `OPENAI_API_KEY`; `keyring`: never the environment; `oauth`: a sign-in), and
//! `model.headers` go with every request (an admin may lock both). A refusal names the
//! setting's source.

use std::path::PathBuf;
use warden_policy::PolicyError;

use warden_policy::config::{Config, ModelConfig, ModelCredentials};
use warden_policy::layers::EffectivePolicy;
use warden_protocol::{ApiKeySource, PolicySource};

use crate::model::ModelClient;

/// Who set `model.credentials`: the requirement that locks it, or the layer that set it.
fn credentials_source(policy: &EffectivePolicy) -> PolicySource {
    policy
        .values
        .iter()
        .find(|v| v.key == "model.credentials")
        .map(|v| v.locked_by.clone().unwrap_or_else(|| v.source.clone()))
        .unwrap_or(PolicySource::BuiltIn)
}

/// The session model's credential and where it came from. Blocking (the keyring; a
/// token refresh runs on the current runtime).
pub fn session_credential(
    policy: &EffectivePolicy,
    lock_dir: PathBuf,
) -> Result<(Option<String>, ApiKeySource), PolicyError> {
    credential_as(&policy.config.model, lock_dir, || {
        credentials_source(policy)
    })
}

/// The credential `model.credentials` allows; `source` names who chose it, for refusals.
pub(crate) fn credential_as(
    model: &ModelConfig,
    lock_dir: PathBuf,
    source: impl Fn() -> PolicySource,
) -> Result<(Option<String>, ApiKeySource), PolicyError> {
    match model.credentials {
        ModelCredentials::Any => Ok(crate::load_api_key()),
        ModelCredentials::Keyring => match crate::secrets::load_keyring_api_key() {
            Some(key) => Ok((Some(key), ApiKeySource::Keyring)),
            None if std::env::var("OPENAI_API_KEY").is_ok_and(|k| !k.is_empty()) => {
                Err(PolicyError::Refused(format!(
                    "OPENAI_API_KEY is not used: model.credentials = \"keyring\" ({}) takes the \
                     model's key only from the OS keyring; store it in Settings or with `warden \
                     run` once it asks",
                    source()
                )))
            }
            None => Ok((None, ApiKeySource::None)),
        },
        ModelCredentials::Oauth => {
            let Some(issuer) = &model.oauth.issuer else {
                return Err(PolicyError::Refused(format!(
                    "model.credentials = \"oauth\" ({}) needs model.oauth.issuer",
                    source()
                )));
            };
            if let Some(problem) = oauth_endpoint_problem(&model.base_url) {
                return Err(PolicyError::Refused(format!(
                    "model.credentials = \"oauth\" ({}): {problem}",
                    source()
                )));
            }
            match crate::oauth::model_access_token(issuer, lock_dir) {
                Ok(token) => Ok((Some(token), ApiKeySource::Keyring)),
                Err(e) => Err(PolicyError::Refused(format!(
                    "model.credentials = \"oauth\" ({}): {e}; sign in with `warden model login` \
                     or Settings → Sign-ins → Connect",
                    source()
                ))),
            }
        }
    }
}

/// Why the company sign-in's token may not be sent to `base_url`, if it may not: it is a
/// bearer credential, so never over plain http to another machine.
fn oauth_endpoint_problem(base_url: &str) -> Option<String> {
    warden_policy::config::http::https_or_loopback_problem(base_url).map(|problem| {
        format!(
            "the sign-in's token is not sent to {base_url}: the model endpoint {problem} \
             (a bearer token must not cross a network in the clear)"
        )
    })
}

/// The session model's credential as another model's fallback (the reviewer's, the
/// triage model's, when they have no key of their own) for a request to `base_url`, as
/// `model.credentials` allows. Blocking.
pub fn fallback_key(config: &Config, base_url: &str) -> Option<String> {
    match config.model.credentials {
        ModelCredentials::Any => crate::load_api_key().0,
        ModelCredentials::Keyring => crate::secrets::load_keyring_api_key(),
        ModelCredentials::Oauth => {
            if let Some(problem) = oauth_endpoint_problem(base_url) {
                tracing::warn!("{problem}");
                return None;
            }
            let issuer = config.model.oauth.issuer.as_deref()?;
            let locks = warden_policy::config::WardenPaths::discover()
                .ok()?
                .oauth_dir();
            crate::oauth::model_access_token(issuer, locks).ok()
        }
    }
}

/// A model client with the configured headers (an organisation, a project, a gateway's).
pub fn with_headers(client: ModelClient, config: &Config) -> ModelClient {
    client.with_headers(
        config
            .model
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The company sign-in's token goes only to an https endpoint, or plain http on this
    /// machine; the refusal comes before any keyring or network work.
    #[test]
    fn a_sign_in_token_is_never_sent_in_the_clear() {
        let model = |base_url: &str| ModelConfig {
            base_url: base_url.into(),
            credentials: ModelCredentials::Oauth,
            oauth: warden_policy::config::ModelOAuthConfig {
                issuer: Some("https://login.corp.example".into()),
                ..Default::default()
            },
            ..ModelConfig::default()
        };
        let locks = std::env::temp_dir().join("warden-model-access-test");
        for insecure in ["http://10.1.2.3:8000/v1", "http://llm.corp.example/v1"] {
            let error = credential_as(&model(insecure), locks.clone(), || PolicySource::BuiltIn)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(&format!("the sign-in's token is not sent to {insecure}")),
                "{insecure}: {error}"
            );
        }
        for fine in ["https://llm.corp.example/v1", "http://127.0.0.1:8080/v1"] {
            assert_eq!(oauth_endpoint_problem(fine), None, "{fine}");
        }
    }
}
