//! Sign-ins: every remote MCP server's and the model identity provider's state (never the
//! secret), signing in (the page opens in the system browser; the grant arrives through
//! the loopback redirect and goes to the keyring) and out.

use warden_policy::config::{Config, ModelCredentials};
use warden_protocol::{
    CredentialChange, CredentialState, EventMsg, ListCredentialsResponse, SignInResponse,
};

use super::{Host, HostError, Recorder};
use crate::oauth::{self, ClientSettings, OAuthError, Target};

impl From<OAuthError> for HostError {
    fn from(e: OAuthError) -> Self {
        HostError::SignIn(e.to_string())
    }
}

/// Why a target's last sign-in failed, by target name.
pub(super) type Failures =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>;

/// The targets the configuration names: each remote MCP server, and the model's identity
/// provider when the model signs in with OAuth.
fn targets(config: &Config) -> Vec<(Target, ClientSettings)> {
    let mut out: Vec<(Target, ClientSettings)> = config
        .mcp_servers
        .iter()
        .filter_map(|(name, server)| {
            let url = server.url.clone()?;
            Some((
                Target::Mcp {
                    server: name.clone(),
                    url,
                },
                ClientSettings {
                    client_id: server.oauth.client_id.clone(),
                    scopes: server.oauth.scopes.clone(),
                },
            ))
        })
        .collect();
    let model = &config.model;
    if let Some(issuer) = &model.oauth.issuer
        && model.credentials == ModelCredentials::Oauth
    {
        out.push((
            Target::Model {
                issuer: issuer.clone(),
            },
            ClientSettings {
                client_id: model.oauth.client_id.clone(),
                scopes: model.oauth.scopes.clone(),
            },
        ));
    }
    out
}

/// Why nothing named `name` (`mcp:NAME` or `model`) can be signed in to, in the words of
/// the settings that would make it one.
fn no_target(config: &Config, name: &str) -> String {
    let remote: Vec<&str> = config
        .mcp_servers
        .iter()
        .filter(|(_, server)| server.url.is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    let remote = if remote.is_empty() {
        "none is configured (a remote server has `url`)".to_string()
    } else {
        format!("remote servers: {}", remote.join(", "))
    };
    if let Some(server) = name.strip_prefix("mcp:") {
        return match config.mcp_servers.get(server) {
            Some(_) => format!(
                "MCP server `{server}` is a local server (`command`): it needs no sign-in; {remote}"
            ),
            None => format!("no MCP server named `{server}` is configured; {remote}"),
        };
    }
    if name == "model" {
        let model = &config.model;
        return if model.credentials != ModelCredentials::Oauth {
            format!(
                "the model signs in only with model.credentials = \"oauth\" (it is \"{}\": \
                 the key comes from the keyring{})",
                model.credentials.as_str(),
                if model.credentials == ModelCredentials::Any {
                    " or OPENAI_API_KEY"
                } else {
                    ""
                }
            )
        } else {
            "model.credentials = \"oauth\" needs model.oauth.issuer (the identity provider's URL)"
                .to_string()
        };
    }
    format!("nothing to sign in to named {name:?} (use mcp:NAME or model)")
}

impl Host {
    /// The target named `mcp:NAME` or `model`, as configured.
    pub fn sign_in_target(&self, name: &str) -> Result<(Target, ClientSettings), HostError> {
        let config = self.config()?;
        targets(&config)
            .into_iter()
            .find(|(target, _)| target.name() == name)
            .ok_or_else(|| HostError::SignIn(no_target(&config, name)))
    }

    /// Every sign-in's state.
    pub async fn credentials(&self) -> Result<ListCredentialsResponse, HostError> {
        let config = self.config()?;
        let mut credentials = Vec::new();
        for (target, _) in targets(&config) {
            let mut state = oauth::status(&target, self.paths.oauth_dir()).await?;
            state.sign_in_error = self.failures().get(&state.target).cloned();
            credentials.push(state);
        }
        Ok(ListCredentialsResponse { credentials })
    }

    /// Sign in to `name`, calling `open` with the authorization page, and wait for the
    /// browser to come back (the CLI).
    pub async fn sign_in_and_wait(
        &self,
        name: &str,
        open: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<CredentialState, HostError> {
        let (target, client) = self.sign_in_target(name)?;
        let result = oauth::login(
            &target,
            &client,
            self.paths.oauth_dir(),
            open,
            oauth::SIGN_IN_TIMEOUT,
        )
        .await;
        record_outcome(&self.recorder(), &target, &result).await;
        Ok(result?)
    }

    /// Start signing in to `name` (the app): the page opens in the system browser and its
    /// URL comes back at once; the sign-in completes in the background when the browser
    /// returns (`list_credentials` then shows it).
    pub async fn sign_in(&self, name: &str) -> Result<SignInResponse, HostError> {
        let (target, client) = self.sign_in_target(name)?;
        self.failures().remove(&target.name());
        let (page_tx, page_rx) = tokio::sync::oneshot::channel::<String>();
        let locks = self.paths.oauth_dir();
        let failures = self.sign_in_failures.clone();
        let recorder = self.recorder();
        let finished = tokio::spawn(async move {
            let open = move |page: &str| {
                let _ = page_tx.send(page.to_string());
                oauth::open_in_browser(page)
            };
            let result = oauth::login(&target, &client, locks, open, oauth::SIGN_IN_TIMEOUT).await;
            record_outcome(&recorder, &target, &result).await;
            if let Err(e) = &result {
                tracing::warn!(target = target.name(), error = %e, "sign-in did not complete");
                lock(&failures).insert(target.name(), e.to_string());
            }
            result
        });
        match page_rx.await {
            Ok(authorization_url) => Ok(SignInResponse { authorization_url }),
            // The sign-in failed before it had a page (discovery, registration): say why.
            Err(_) => match finished.await {
                Ok(Err(e)) => Err(e.into()),
                Ok(Ok(_)) => Err(HostError::SignIn("the sign-in ended without a page".into())),
                Err(e) => Err(HostError::join(e)),
            },
        }
    }

    /// Connect to remote MCP server `server` with its sign-in (renewing it if needed) and
    /// list its tools: does the sign-in work?
    pub async fn check_remote(&self, server: &str) -> Result<Vec<String>, HostError> {
        let config = self.config()?;
        let settings = config.mcp_servers.get(server).ok_or_else(|| {
            HostError::SignIn(format!("no MCP server named {server:?} is configured"))
        })?;
        let url = settings.url.as_deref().ok_or_else(|| {
            HostError::SignIn(format!(
                "MCP server {server:?} is a local program, not a remote server"
            ))
        })?;
        let timeout = std::time::Duration::from_secs(settings.startup_timeout_secs);
        let client =
            crate::mcp::RemoteClient::connect(server, url, self.paths.oauth_dir(), timeout)
                .await
                .map_err(|e| HostError::SignIn(e.to_string()))?;
        let tools = client
            .list_tools(timeout)
            .await
            .map_err(HostError::SignIn)?;
        Ok(tools.into_iter().map(|t| t.name).collect())
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        lock(&self.sign_in_failures)
    }

    /// Forget `name`'s grant.
    pub async fn sign_out(&self, name: &str) -> Result<CredentialState, HostError> {
        let (target, _) = self.sign_in_target(name)?;
        let before = oauth::status(&target, self.paths.oauth_dir()).await?;
        if oauth::logout(&target, self.paths.oauth_dir()).await? {
            record(&self.recorder(), CredentialChange::SignedOut, before).await;
        }
        Ok(oauth::status(&target, self.paths.oauth_dir()).await?)
    }
}

/// Record how a sign-in ended in the audit trail.
async fn record_outcome(
    recorder: &Recorder,
    target: &Target,
    result: &Result<CredentialState, OAuthError>,
) {
    match result {
        Ok(state) => record(recorder, CredentialChange::SignedIn, state.clone()).await,
        Err(e) => {
            let mut state = oauth::not_signed_in(target);
            state.sign_in_error = Some(e.to_string());
            record(recorder, CredentialChange::SignInFailed, state).await;
        }
    }
}

/// A sign-in's change as a record of its own (never a token: `CredentialState` holds
/// none). A record that cannot be written is logged; the sign-in stands either way.
async fn record(recorder: &Recorder, change: CredentialChange, credential: CredentialState) {
    let target = credential.target.clone();
    let msgs = vec![
        EventMsg::CredentialChanged { change, credential },
        EventMsg::SessionEnded {
            reason: format!("sign-in record: {target} {}", change.as_str()),
        },
    ];
    if let Err(e) = recorder.record_apart("sign-in", msgs).await {
        tracing::error!(target, error = %e, "the sign-in's change could not be recorded in the audit trail");
    }
}

/// The map, even if a thread panicked holding it (it holds only messages).
fn lock(
    failures: &Failures,
) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
    failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use warden_policy::config::McpServerConfig;

    use super::*;

    /// Each way of naming nothing signable says which setting would make it signable.
    #[test]
    fn naming_nothing_signable_says_why() {
        let mut config = Config::default();
        let cases = [
            (
                "mcp:docs",
                "no MCP server named `docs` is configured; none is configured",
            ),
            (
                "model",
                "it is \"any\": the key comes from the keyring or OPENAI_API_KEY",
            ),
            ("github", "use mcp:NAME or model"),
        ];
        for (name, said) in cases {
            assert!(
                no_target(&config, name).contains(said),
                "{name}: {}",
                no_target(&config, name)
            );
        }
        config
            .mcp_servers
            .insert("local".into(), McpServerConfig::local("docs-server"));
        let mut remote = McpServerConfig::local("");
        remote.command = None;
        remote.url = Some("https://mcp.example/mcp".into());
        config.mcp_servers.insert("docs".into(), remote);
        let message = no_target(&config, "mcp:local");
        assert!(
            message.contains("`local` is a local server")
                && message.contains("remote servers: docs"),
            "{message}"
        );
        config.model.credentials = ModelCredentials::Oauth;
        assert!(no_target(&config, "model").contains("needs model.oauth.issuer"));
        config.model.oauth.issuer = Some("https://login.example".into());
        // Now both are targets: found, so nothing to explain.
        let names: Vec<String> = targets(&config).iter().map(|(t, _)| t.name()).collect();
        assert_eq!(names, ["mcp:docs", "model"]);
    }
}
