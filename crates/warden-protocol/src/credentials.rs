//! Sign-ins as the UI and the CLI see them: whether one is stored, for whom, until when,
//! and where it is kept. Never the secret.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One OAuth sign-in (a remote MCP server's, or the model's identity provider's).
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialState {
    /// What it signs in to: `mcp:NAME` or `model`.
    pub target: String,
    /// The server or identity provider's URL.
    pub url: String,
    pub signed_in: bool,
    /// Who signed in, when the identity provider said (an OpenID Connect ID token's
    /// email, preferred username, name or subject; shown, never trusted for a decision).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The authorization server that issued it.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The OAuth client Warden signed in as (pre-registered or registered for it).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    /// When the access token expires (ms since the Unix epoch), if the server said.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Whether it can be renewed without a new sign-in (a refresh token is stored).
    pub refreshable: bool,
    /// Where it is kept: always the OS keyring.
    pub store: String,
    /// Why the last sign-in started here (Connect) did not complete, until the next one
    /// starts: refused by the identity provider, the code not exchanged, nobody back in
    /// time.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_error: Option<String>,
}

/// What happened to a sign-in, as the audit trail records it.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum CredentialChange {
    SignedIn,
    SignedOut,
    SignInFailed,
}

impl CredentialChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed in",
            Self::SignedOut => "signed out",
            Self::SignInFailed => "sign-in failed",
        }
    }
}

/// `list_credentials`: every remote MCP server's sign-in and the model's.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListCredentialsParams {}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListCredentialsResponse {
    pub credentials: Vec<CredentialState>,
}

/// `sign_in` / `sign_out`: `mcp:NAME` or `model`.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialParams {
    pub target: String,
}

/// `sign_in` starts a sign-in: the page to open (the app opens it in the system browser);
/// the result comes as `list_credentials` changes once the browser returns.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SignInResponse {
    pub authorization_url: String,
}
