//! Setting up auto-review's reviewer model for a session, `warden review eval` or the
//! Settings view's "try it": its endpoint, model and wire API from `auto_review.model`
//! (each unset field the session model's), its key from its own keyring entry (else the
//! session model's key), and its limits from `auto_review`.

use std::sync::Arc;

use warden_policy::config::Config;
use warden_policy::router::ReviewMode;
use warden_review::{Limits, Reviewer};

use crate::model::ModelClient;

/// A reviewer for `config`, or why there is none (auto-review is not in `model` mode, or
/// its client cannot be built). Blocking: reads the keyring.
pub fn reviewer_for(config: &Config) -> Result<Arc<Reviewer>, String> {
    let auto = &config.auto_review;
    if auto.mode != ReviewMode::Model {
        return Err(format!(
            "auto_review is `{}`, so no reviewer model is asked",
            auto.mode.as_str()
        ));
    }
    let endpoint = auto.model.base_url_or(&config.model);
    let key =
        crate::load_reviewer_key().or_else(|| crate::model_access::fallback_key(config, endpoint));
    build(config, key)
}

/// A reviewer for `config` with `key`, whatever the mode.
pub fn build(config: &Config, key: Option<String>) -> Result<Arc<Reviewer>, String> {
    let auto = &config.auto_review;
    let base_url = auto.model.base_url_or(&config.model);
    let name = auto
        .model
        .name
        .clone()
        .unwrap_or_else(|| config.model.name.clone());
    let wire_api = auto.model.wire_api.unwrap_or(config.model.wire_api);
    let client = ModelClient::new(base_url, &name, wire_api, key)
        .map_err(|e| format!("cannot set up the reviewer model: {e}"))?;
    let client = crate::model_access::with_headers(client, config);
    Ok(Arc::new(Reviewer::new(client, Limits::from(auto))))
}
