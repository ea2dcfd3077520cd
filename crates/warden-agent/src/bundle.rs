//! Fetch the admin's signed requirements bundle and keep the last good copy. A bundle
//! whose signature does not verify is never written, so it never applies.

use std::path::Path;

use warden_policy::PolicyError;
use warden_policy::requirements::{BundleConfig, verify_bundle};

/// Download, verify, and replace the cache atomically. Errors leave the cache as it was.
pub async fn refresh(config: &BundleConfig, cache: &Path) -> Result<(), PolicyError> {
    config.check_url()?;
    let failed = |message: String| PolicyError::Bundle {
        url: config.url.clone(),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .get(&config.url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| {
            let why = warden_protocol::error_with_causes(&e);
            failed(format!("cannot fetch it: {why}"))
        })?;
    let body = response
        .bytes()
        .await
        .map_err(|e| failed(format!("cannot read it: {e}")))?;
    verify_bundle(config, &body)?;
    let write = |path: &Path, error| PolicyError::Write {
        path: path.to_path_buf(),
        error,
    };
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir).map_err(|e| write(dir, e))?;
    }
    let partial = cache.with_extension("json.partial");
    std::fs::write(&partial, &body).map_err(|e| write(&partial, e))?;
    std::fs::rename(&partial, cache).map_err(|e| write(cache, e))?;
    tracing::info!(url = %config.url, "requirements bundle refreshed");
    Ok(())
}
