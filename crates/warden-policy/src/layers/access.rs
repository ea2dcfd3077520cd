//! Requirements on what Warden connects to and how: the model endpoints an admin allows,
//! the remote MCP servers (by URL), and MCP tool approvals an admin pins. A user's,
//! project's or flag's choice outside them is refused, naming both sources.

use std::collections::BTreeMap;

use warden_protocol::PolicySource;

use super::enforce::is_user_choice;
use super::stack::Layers;
use crate::PolicyError;
use crate::requirements::{Requirements, url_allowed};

/// The settings that name a model endpoint: the session model's, and the reviewer's and
/// triage model's own (unset: the session model's).
const MODEL_ENDPOINTS: &[&str] = &[
    "model.base_url",
    "auto_review.model.base_url",
    "triage.model.base_url",
];

pub(super) fn enforce_access(
    layers: &mut Layers,
    req: &Requirements,
    locks: &mut BTreeMap<String, PolicySource>,
) -> Result<(), PolicyError> {
    for key in MODEL_ENDPOINTS {
        let Some(url) = layers.get(key).and_then(|v| v.as_str()).map(str::to_string) else {
            continue;
        };
        for allowed in &req.model_base_urls {
            if url_allowed(&allowed.value, &url) {
                continue;
            }
            let chosen_by = layers.source(key);
            if is_user_choice(&chosen_by) || *key != "model.base_url" {
                return Err(PolicyError::Refused(format!(
                    "{key} = \"{url}\" (from {chosen_by}) is not an allowed model endpoint: \
                     {} allows {}",
                    allowed.source,
                    allowed.value.join(", ")
                )));
            }
            // The built-in default yields to the admin's first endpoint.
            if let Some(first) = allowed.value.first() {
                layers.set(
                    key,
                    first.trim_end_matches('*').to_string().into(),
                    allowed.source.clone(),
                );
            }
        }
        if let Some(only) = req.model_base_urls.iter().find(|a| a.value.len() == 1) {
            locks.insert((*key).to_string(), only.source.clone());
        }
    }

    let servers: Vec<String> = layers
        .get(super::keys::MCP_SERVERS)
        .and_then(|v| v.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    for name in &servers {
        let key = format!("mcp_servers.{name}");
        let from = layers.source(&key);
        let command = layers.get(&format!("{key}.command")).is_some();
        let url = layers
            .get(&format!("{key}.url"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        match (command, &url) {
            (true, Some(_)) => {
                return Err(PolicyError::Refused(format!(
                    "{key} (from {from}): set `command` (a local server) or `url` (a remote one), not both"
                )));
            }
            (false, None) => {
                return Err(PolicyError::Refused(format!(
                    "{key} (from {from}): needs `command` (a local server) or `url` (a remote one)"
                )));
            }
            _ => {}
        }
        if let Some(url) = url {
            check_remote_url(&key, &from, &url)?;
            if let Some(list) = req.mcp_urls.iter().find(|l| !url_allowed(&l.value, &url)) {
                return Err(PolicyError::Refused(format!(
                    "MCP server `{name}` at {url} ({key} from {from}) is not allowed by {}; allowed: {}",
                    list.source,
                    if list.value.is_empty() {
                        "none".to_string()
                    } else {
                        list.value.join(", ")
                    }
                )));
            }
        }
    }

    for (pin_key, pin) in &req.mcp_tool_pins {
        // `mcp_servers.NAME.tools.TOOL.approval`: pinned where the server is configured.
        let server_key = pin_key.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        if layers.get(&server_key).is_none() {
            continue;
        }
        let pinned = pin.value.as_str();
        if let Some(current) = layers.get(pin_key).and_then(|v| v.as_str())
            && current != pinned
        {
            // Inside the server's table: its own layer, or the layer that set the table.
            let chosen_by = layers.source(pin_key);
            if is_user_choice(&chosen_by) {
                return Err(PolicyError::Refused(format!(
                    "{pin_key} = \"{current}\" (from {chosen_by}) is refused: {} pins it to \"{pinned}\"",
                    pin.source
                )));
            }
        }
        layers.set(pin_key, pinned.into(), pin.source.clone());
        locks.insert(pin_key.clone(), pin.source.clone());
    }
    Ok(())
}

/// A remote server's URL: `https://`, or `http://` to this machine only (tokens must not
/// cross a network in the clear).
fn check_remote_url(key: &str, from: &PolicySource, url: &str) -> Result<(), PolicyError> {
    match crate::config::http::token_url_problem(url) {
        None => Ok(()),
        Some(problem) => Err(PolicyError::Refused(format!(
            "{key}.url = \"{url}\" (from {from}): {problem}"
        ))),
    }
}
