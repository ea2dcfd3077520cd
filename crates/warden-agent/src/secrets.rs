//! The model API keys: stored in the OS keyring (Secret Service on Linux, Keychain on
//! macOS), never in a file. The session model's key falls back to `OPENAI_API_KEY` in
//! the environment; auto-review's reviewer model and the triage model each have their
//! own entry, and use the session model's key when theirs is empty.

use warden_protocol::ApiKeySource;

const SERVICE: &str = "dev.warden.Warden";

/// The keyring entry of a key. Separate profiles (`WARDEN_HOME`) keep separate keys.
pub(crate) fn account(name: &str) -> String {
    match std::env::var("WARDEN_HOME") {
        Ok(home) if !home.is_empty() => format!("{name}:{home}"),
        _ => name.into(),
    }
}

const MODEL_KEY: &str = "model-api-key";
const REVIEWER_KEY: &str = "reviewer-api-key";
const TRIAGE_KEY: &str = "triage-api-key";

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
    if let Some(key) = read_entry(MODEL_KEY) {
        return (Some(key), ApiKeySource::Keyring);
    }
    match std::env::var("OPENAI_API_KEY") {
        Ok(key) if !key.is_empty() => (Some(key), ApiKeySource::Environment),
        _ => (None, ApiKeySource::None),
    }
}

/// The session model's key from the OS keyring only. Blocking.
pub(crate) fn load_keyring_api_key() -> Option<String> {
    read_entry(MODEL_KEY)
}

/// Store the key in the OS keyring. Blocking.
pub fn store_api_key(key: &str) -> Result<(), SecretError> {
    write_entry(MODEL_KEY, key)
}

/// The reviewer model's own key, when one is stored. Blocking.
pub fn load_reviewer_key() -> Option<String> {
    read_entry(REVIEWER_KEY)
}

/// Store the reviewer model's own key in the OS keyring. Blocking.
pub fn store_reviewer_key(key: &str) -> Result<(), SecretError> {
    write_entry(REVIEWER_KEY, key)
}

/// The triage model's own key, when one is stored. Blocking.
pub fn load_triage_key() -> Option<String> {
    read_entry(TRIAGE_KEY)
}

/// Store the triage model's own key in the OS keyring. Blocking.
pub fn store_triage_key(key: &str) -> Result<(), SecretError> {
    write_entry(TRIAGE_KEY, key)
}

/// A keyring failure, with what to check when there is no keyring to talk to at all.
fn keyring_error(e: keyring::Error) -> SecretError {
    let hint = match &e {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_)
            if cfg!(target_os = "linux") =>
        {
            " (is a Secret Service such as gnome-keyring or KeePassXC running and unlocked in \
             this desktop session?)"
        }
        _ => "",
    };
    SecretError::Keyring(format!("{e}{hint}"))
}

pub(crate) fn read_entry(name: &str) -> Option<String> {
    match keyring::Entry::new(SERVICE, &account(name)).and_then(|e| e.get_password()) {
        Ok(key) if !key.is_empty() => Some(key),
        Ok(_) | Err(keyring::Error::NoEntry) => None,
        // On a first launch the keyring may have no collection yet: that is "no key yet",
        // not a fault (the Settings view says where the key comes from).
        Err(e) => {
            tracing::info!(entry = name, "no key stored yet in the OS keyring ({e})");
            None
        }
    }
}

pub(crate) fn write_entry(name: &str, key: &str) -> Result<(), SecretError> {
    keyring::Entry::new(SERVICE, &account(name))
        .and_then(|e| e.set_password(key))
        .map_err(keyring_error)
}

/// Remove an entry; true when there was one. Blocking.
pub(crate) fn delete_entry(name: &str) -> Result<bool, SecretError> {
    match keyring::Entry::new(SERVICE, &account(name)).and_then(|e| e.delete_credential()) {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(e)),
    }
}

/// An entry, telling "none stored" apart from a keyring that cannot be read. Blocking.
pub(crate) fn try_read_entry(name: &str) -> Result<Option<String>, SecretError> {
    match keyring::Entry::new(SERVICE, &account(name)).and_then(|e| e.get_password()) {
        Ok(value) if !value.is_empty() => Ok(Some(value)),
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}
