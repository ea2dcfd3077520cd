//! Fetch the admin's signed requirements bundle and keep the last good copy. A bundle
//! whose signature does not verify is never written, so it never applies.

use std::path::Path;

use warden_policy::requirements::{BundleConfig, verify_bundle};

/// Download, verify, and replace the cache atomically. Errors leave the cache as it was.
pub async fn refresh(config: &BundleConfig, cache: &Path) -> Result<(), String> {
    config.check_url().map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(&config.url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| {
            let why = warden_protocol::error_with_causes(&e);
            format!("cannot fetch {}: {why}", config.url)
        })?;
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("cannot read {}: {e}", config.url))?;
    verify_bundle(config, &body).map_err(|e| e.to_string())?;
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let partial = cache.with_extension("json.partial");
    std::fs::write(&partial, &body).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, cache).map_err(|e| e.to_string())?;
    tracing::info!(url = %config.url, "requirements bundle refreshed");
    Ok(())
}
