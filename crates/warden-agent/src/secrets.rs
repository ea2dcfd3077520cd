//! The model API key: stored in the OS keyring (Secret Service on Linux, Keychain on
//! macOS), never in a file. `OPENAI_API_KEY` in the environment is the fallback.

use warden_protocol::ApiKeySource;

const SERVICE: &str = "dev.warden.Warden";

/// Separate profiles (`WARDEN_HOME`) keep separate keys.
fn account() -> String {
    match std::env::var("WARDEN_HOME") {
        Ok(home) if !home.is_empty() => format!("model-api-key:{home}"),
        _ => "model-api-key".into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot use the OS keyring: {0}")]
    Keyring(String),
}

impl SecretError {
    pub fn code(&self) -> warden_protocol::ErrorCode {
        warden_protocol::ErrorCode::Keyring
    }
}

impl warden_protocol::Coded for SecretError {
    fn code(&self) -> warden_protocol::ErrorCode {
        SecretError::code(self)
    }
}

/// The key and where it came from: the keyring first, then `OPENAI_API_KEY`.
/// Blocking (talks to the keyring daemon).
pub fn load_api_key() -> (Option<String>, ApiKeySource) {
    match keyring::Entry::new(SERVICE, &account()).and_then(|e| e.get_password()) {
        Ok(key) if !key.is_empty() => return (Some(key), ApiKeySource::Keyring),
        Ok(_) | Err(keyring::Error::NoEntry) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the API key from the OS keyring"),
    }
    match std::env::var("OPENAI_API_KEY") {
        Ok(key) if !key.is_empty() => (Some(key), ApiKeySource::Environment),
        _ => (None, ApiKeySource::None),
    }
}

/// Store the key in the OS keyring. Blocking.
pub fn store_api_key(key: &str) -> Result<(), SecretError> {
    keyring::Entry::new(SERVICE, &account())
        .and_then(|e| e.set_password(key))
        .map_err(|e| SecretError::Keyring(e.to_string()))
}
