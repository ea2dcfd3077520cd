//! OAuth grants in the OS keyring, one entry per signed-in target, written through on
//! every refresh (a rotated refresh token is saved before it is used). Refreshes are
//! serialised across Warden processes with a lock file, and each refresh reads the grant
//! back from the keyring under that lock, so one process never refreshes with a token
//! another has already rotated away.

use std::path::PathBuf;

use rmcp::transport::{AuthError, CredentialRefreshGuard, CredentialStore, StoredCredentials};

use crate::secrets::{delete_entry, try_read_entry, write_entry};

/// The keyring-backed store for one target (`entry` is its keyring name).
#[derive(Clone, Debug)]
pub(crate) struct KeyringStore {
    entry: String,
    lock_file: PathBuf,
}

impl KeyringStore {
    pub fn new(entry: String, lock_dir: PathBuf) -> Self {
        let lock_file = lock_dir.join(format!("{}.lock", lock_name(&entry)));
        Self { entry, lock_file }
    }

    /// The stored grant, if any (the keyring is read on a blocking thread).
    pub async fn read(&self) -> Result<Option<StoredCredentials>, String> {
        let entry = self.entry.clone();
        let text = blocking(move || try_read_entry(&entry).map_err(|e| e.to_string())).await?;
        match text {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("the stored sign-in for {} is unreadable: {e}", self.entry)),
        }
    }

    /// Forget the grant. True when there was one.
    pub async fn remove(&self) -> Result<bool, String> {
        let entry = self.entry.clone();
        blocking(move || delete_entry(&entry).map_err(|e| e.to_string())).await
    }
}

/// Run keyring work (blocking D-Bus calls) off the runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| e.to_string())?
}

/// A file name for an entry: its readable part, then a short hash of the whole.
fn lock_name(entry: &str) -> String {
    use sha2::{Digest, Sha256};
    let readable: String = entry
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let hash = Sha256::digest(entry.as_bytes());
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("oauth-{readable}-{short}")
}

fn store_error(e: impl std::fmt::Display) -> AuthError {
    AuthError::CredentialStoreError(e.to_string())
}

#[async_trait::async_trait]
impl CredentialStore for KeyringStore {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        self.read().await.map_err(store_error)
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        let text = serde_json::to_string(&credentials).map_err(store_error)?;
        let entry = self.entry.clone();
        blocking(move || write_entry(&entry, &text).map_err(|e| e.to_string()))
            .await
            .map_err(store_error)
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.remove().await.map(|_| ()).map_err(store_error)
    }

    async fn acquire_refresh_guard(&self) -> Result<Option<CredentialRefreshGuard>, AuthError> {
        let path = self.lock_file.clone();
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            // Held until the guard drops: the refresh's load, exchange and save.
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(store_error)?
        .map_err(|e| store_error(format!("cannot lock {}: {e}", self.lock_file.display())))?;
        Ok(Some(CredentialRefreshGuard::new(file)))
    }
}

#[cfg(test)]
mod tests {
    use super::lock_name;

    #[test]
    fn lock_names_are_file_safe_and_distinct() {
        let a = lock_name("oauth:mcp:docs:https://mcp.example.com/mcp");
        let b = lock_name("oauth:mcp:docs:https://mcp.example.com/mcp2");
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }
}
