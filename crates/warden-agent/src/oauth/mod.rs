//! OAuth 2.1 sign-in, as the MCP authorization spec describes it, through the official
//! SDK (`rmcp`): protected-resource and authorization-server metadata discovery, a
//! pre-registered client or dynamic registration, the authorization code with PKCE S256
//! through the system browser and a loopback redirect, resource indicators, refresh.
//! Grants live only in the OS keyring (`store.rs`), keyed by what they sign in to and its
//! URL; the SDK drops a grant whose authorization server changed.

mod loopback;
mod step_up;
mod store;

use std::path::PathBuf;
use std::time::Duration;

use rmcp::transport::auth::OAuthState;
use rmcp::transport::{AuthClient, AuthError, AuthorizationManager, AuthorizationRequest};
use warden_protocol::CredentialState;

pub(crate) use loopback::Loopback;
use store::KeyringStore;

/// `filter` (from `WARDEN_LOG`) limited so that no level of logging can print a sign-in
/// secret: the SDK's OAuth module logs the authorization code, and the token response with
/// its OpenID Connect ID token unredacted, at debug level. The limit replaces a directive
/// for the same target.
pub fn limit_log(filter: tracing_subscriber::EnvFilter) -> tracing_subscriber::EnvFilter {
    match LOG_LIMIT.parse() {
        Ok(directive) => filter.add_directive(directive),
        // A constant; the tests parse it.
        Err(_) => filter,
    }
}

const LOG_LIMIT: &str = "rmcp::transport::auth=info";

/// How long a sign-in waits for the browser to come back.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// What a sign-in is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A remote MCP server (its name in `mcp_servers` and its URL).
    Mcp { server: String, url: String },
    /// The model's identity provider (an LLM gateway's), by its issuer URL.
    Model { issuer: String },
}

impl Target {
    /// `mcp:NAME` or `model`, as the API and the CLI name it.
    pub fn name(&self) -> String {
        match self {
            Self::Mcp { server, .. } => format!("mcp:{server}"),
            Self::Model { .. } => "model".into(),
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Mcp { url, .. } => url,
            Self::Model { issuer } => issuer,
        }
    }

    /// The keyring entry's name.
    fn entry(&self) -> String {
        match self {
            Self::Mcp { server, url } => format!("oauth:mcp:{server}:{url}"),
            Self::Model { issuer } => format!("oauth:model:{issuer}"),
        }
    }

    fn store(&self, lock_dir: &std::path::Path) -> KeyringStore {
        KeyringStore::new(self.entry(), lock_dir.to_path_buf())
    }
}

/// The OAuth client Warden signs in as.
#[derive(Clone, Debug, Default)]
pub struct ClientSettings {
    /// Pre-registered; without one Warden registers itself (dynamic registration).
    pub client_id: Option<String>,
    /// Scopes to ask for; empty: what the server advertises.
    pub scopes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No usable grant: never signed in, signed out, or revoked and not renewable.
    #[error("not signed in to {0}")]
    NotSignedIn(String),
    #[error("{0}")]
    Failed(String),
}

fn failed(what: &str) -> impl Fn(AuthError) -> OAuthError + '_ {
    move |e| {
        OAuthError::Failed(format!(
            "{what}: {}",
            warden_protocol::error_with_causes(&e)
        ))
    }
}

/// Sign in: discover, register if needed, send the person to the authorization page
/// (`open` is given its URL), wait for the loopback redirect, exchange the code. The
/// grant is written to the keyring as it arrives.
pub async fn login(
    target: &Target,
    client: &ClientSettings,
    lock_dir: PathBuf,
    open: impl FnOnce(&str) -> Result<(), String>,
    timeout: Duration,
) -> Result<CredentialState, OAuthError> {
    let loopback = Loopback::bind().await.map_err(OAuthError::Failed)?;
    // The configured scopes, and any a server asked for beyond the last sign-in.
    let mut scopes = client.scopes.clone();
    for scope in step_up::needed(&lock_dir, &target.entry()) {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let mut manager = AuthorizationManager::new(target.url())
        .await
        .map_err(failed("cannot reach the server"))?;
    manager.set_credential_store(target.store(&lock_dir));
    let mut state = OAuthState::Unauthorized(manager);
    let mut request = AuthorizationRequest::new(loopback.redirect_uri()).with_client_name("Warden");
    if let Some(id) = &client.client_id {
        request = request.with_preregistered_client(id.clone());
    }
    request = if scopes.is_empty() {
        request.with_initial_scope_selection()
    } else {
        request.with_scopes(scopes)
    };
    state
        .start_authorization(request)
        .await
        .map_err(failed("cannot start the sign-in"))?;
    let page = state
        .get_authorization_url()
        .await
        .map_err(failed("no sign-in page"))?;
    // Only the redirect that carries this page's `state` is this sign-in's.
    let expected = loopback::query_param(&page, "state")
        .ok_or_else(|| OAuthError::Failed(format!("the sign-in page has no state: {page}")))?;
    open(&page).map_err(OAuthError::Failed)?;
    let mut callback = loopback
        .wait(&expected, timeout)
        .await
        .map_err(OAuthError::Failed)?;
    let finished = async {
        state
            .handle_callback_url(callback.url())
            .await
            .map_err(failed("the sign-in did not complete"))?;
        step_up::clear(&lock_dir, &target.entry()).map_err(OAuthError::Failed)?;
        status(target, lock_dir.clone()).await
    }
    .await;
    // The browser's page says how it ended.
    match &finished {
        Ok(signed_in) => {
            let who = signed_in
                .account
                .as_ref()
                .map(|account| format!(" as {account}"))
                .unwrap_or_default();
            callback.answer(Ok(&who)).await;
        }
        Err(e) => callback.answer(Err(&e.to_string())).await,
    }
    finished
}

/// Forget the grant (the keyring entry). True when there was one.
pub async fn logout(target: &Target, lock_dir: PathBuf) -> Result<bool, OAuthError> {
    target
        .store(&lock_dir)
        .remove()
        .await
        .map_err(OAuthError::Failed)
}

/// What is stored for `target`, without the secrets.
pub async fn status(target: &Target, lock_dir: PathBuf) -> Result<CredentialState, OAuthError> {
    let stored = target
        .store(&lock_dir)
        .read()
        .await
        .map_err(OAuthError::Failed)?;
    let mut state = not_signed_in(target);
    let Some(stored) = stored else {
        return Ok(state);
    };
    // The token response's fields, read as the JSON they are stored as.
    let token = serde_json::to_value(&stored.token_response).unwrap_or_default();
    state.signed_in = token.get("access_token").is_some_and(|t| t.is_string());
    state.account = token
        .get("id_token")
        .and_then(|t| t.as_str())
        .and_then(account_in_id_token);
    state.issuer = stored.issuer.clone();
    state.client_id = Some(stored.client_id.clone());
    state.scopes = stored.granted_scopes.clone();
    state.refreshable = token.get("refresh_token").is_some_and(|t| t.is_string());
    if let (Some(received), Some(lasts)) = (
        stored.token_received_at,
        token.get("expires_in").and_then(|v| v.as_u64()),
    ) {
        state.expires_at = Some(((received + lasts) * 1000) as i64);
    }
    Ok(state)
}

/// `target` with nothing stored.
pub fn not_signed_in(target: &Target) -> CredentialState {
    CredentialState {
        target: target.name(),
        url: target.url().to_string(),
        signed_in: false,
        account: None,
        issuer: None,
        client_id: None,
        scopes: Vec::new(),
        expires_at: None,
        refreshable: false,
        store: "OS keyring".into(),
        sign_in_error: None,
    }
}

/// Who an OpenID Connect ID token names: its email, preferred username, name or subject.
/// Its signature is not checked: it is shown, never used to decide anything.
fn account_in_id_token(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["email", "preferred_username", "name", "sub"]
        .iter()
        .find_map(|claim| claims.get(*claim)?.as_str().map(str::to_string))
}

/// An HTTP client that carries `target`'s grant (refreshed when it expires, the rotated
/// refresh token written back at once), or `NotSignedIn`.
pub async fn authorized_client(
    target: &Target,
    lock_dir: PathBuf,
    http: reqwest::Client,
) -> Result<AuthClient<reqwest::Client>, OAuthError> {
    let manager = authorized_manager(target, lock_dir).await?;
    Ok(AuthClient::new(http, manager))
}

/// A current access token for `target` (refreshed if needed), or `NotSignedIn`.
pub async fn access_token(target: &Target, lock_dir: PathBuf) -> Result<String, OAuthError> {
    let manager = authorized_manager(target, lock_dir).await?;
    manager.get_access_token().await.map_err(|e| match e {
        AuthError::AuthorizationRequired => OAuthError::NotSignedIn(target.name()),
        other => failed("cannot renew the sign-in")(other),
    })
}

async fn authorized_manager(
    target: &Target,
    lock_dir: PathBuf,
) -> Result<AuthorizationManager, OAuthError> {
    let store = target.store(&lock_dir);
    let stored = store.read().await.map_err(OAuthError::Failed)?;
    if stored.is_none() {
        return Err(OAuthError::NotSignedIn(target.name()));
    }
    let mut manager = AuthorizationManager::new(target.url())
        .await
        .map_err(failed("cannot reach the server"))?;
    manager.set_credential_store(store);
    let usable = manager
        .initialize_from_store()
        .await
        .map_err(failed("cannot read the sign-in"))?;
    if !usable {
        return Err(OAuthError::NotSignedIn(target.name()));
    }
    Ok(manager)
}

/// The model's access token for `issuer` (refreshed if needed), when signed in.
/// Blocking: call from a blocking task inside the runtime.
pub fn model_access_token(issuer: &str, lock_dir: PathBuf) -> Result<String, OAuthError> {
    let target = Target::Model {
        issuer: issuer.to_string(),
    };
    tokio::runtime::Handle::current().block_on(access_token(&target, lock_dir))
}

/// A server answered `target`'s stored sign-in with `insufficient_scope` (`challenge` is
/// the error as received): remember the scopes it named and those its metadata
/// advertises, for the next sign-in. The scopes, for the message.
pub async fn needs_wider_sign_in(
    target: &Target,
    lock_dir: PathBuf,
    challenge: &str,
) -> Vec<String> {
    let mut scopes = step_up::scopes_in(challenge);
    if let Ok(manager) = AuthorizationManager::new(target.url()).await
        && let Ok(resolution) = manager.resolve_metadata().await
    {
        let advertised = resolution.metadata.scopes_supported.unwrap_or_default();
        for scope in advertised {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }
    if let Err(e) = step_up::record(&lock_dir, &target.entry(), &scopes) {
        tracing::warn!(error = %e, "cannot remember the scopes a server asked for");
    }
    scopes
}

/// Open `url` in the person's browser: `WARDEN_BROWSER` (a program given the URL) when
/// set, else the desktop's opener. The URL is printed too by callers, for a browser on
/// another screen.
pub fn open_in_browser(url: &str) -> Result<(), String> {
    let program = std::env::var("WARDEN_BROWSER")
        .ok()
        .filter(|p| !p.is_empty());
    let program = program.unwrap_or_else(|| {
        if cfg!(target_os = "macos") {
            "open".into()
        } else {
            "xdg-open".into()
        }
    });
    std::process::Command::new(&program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|mut child| {
            // Reaped when the opener ends (it usually hands over and exits).
            std::thread::spawn(move || child.wait());
        })
        .map_err(|e| format!("cannot open the browser with `{program}`: {e}"))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::{LOG_LIMIT, account_in_id_token};

    #[test]
    fn the_log_limit_parses_and_wins_over_any_level_asked_for() {
        let limit: tracing_subscriber::filter::Directive = LOG_LIMIT.parse().unwrap();
        assert_eq!(limit.to_string(), LOG_LIMIT);
        for asked in ["trace", "rmcp=trace", "rmcp::transport::auth=trace,debug"] {
            let filter = super::limit_log(tracing_subscriber::EnvFilter::new(asked));
            // The limit replaces a directive for the same target and outranks broader ones.
            assert!(filter.to_string().contains(LOG_LIMIT), "{asked}: {filter}");
            assert!(
                !filter.to_string().contains("rmcp::transport::auth=trace"),
                "{filter}"
            );
        }
    }

    fn token(claims: serde_json::Value) -> String {
        let part = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            part(&serde_json::json!({"alg": "RS256"})),
            part(&claims)
        )
    }

    #[test]
    fn the_account_is_the_most_readable_claim_present() {
        let t = |c| account_in_id_token(&token(c));
        assert_eq!(
            t(serde_json::json!({"sub": "u1", "email": "a@b.c"})).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(
            t(serde_json::json!({"sub": "u1", "preferred_username": "alice"})).as_deref(),
            Some("alice")
        );
        assert_eq!(t(serde_json::json!({"sub": "u1"})).as_deref(), Some("u1"));
        assert_eq!(t(serde_json::json!({"aud": "x"})), None);
        assert_eq!(account_in_id_token("not a jwt"), None);
        assert_eq!(account_in_id_token("a.!!!.c"), None);
    }
}
