//! Enforcing admin requirements on the stacked layers: a user's choice outside them is
//! refused naming the requirement's source; a default outside them yields to the first
//! allowed value; locked values are set. The keys it enforces are named once, in
//! `keys`, and a test holds each to the configuration's schema.

use std::collections::BTreeMap;

use warden_protocol::{ApprovalPolicy, PolicySource, SandboxMode};

use super::keys;
use super::stack::Layers;
use crate::PolicyError;
use crate::requirements::{self, Requirements};

/// Apply requirements to the merged layers: refuse user choices outside them, replace
/// defaults that fall outside them, set locked values.
pub(super) fn enforce(
    layers: &mut Layers,
    req: &Requirements,
    locks: &mut BTreeMap<String, PolicySource>,
) -> Result<(), PolicyError> {
    fn allowed_list<T: Copy + PartialEq>(
        layers: &mut Layers,
        key: &str,
        allowed: Option<&requirements::Sourced<Vec<T>>>,
        name: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
        locks: &mut BTreeMap<String, PolicySource>,
    ) -> Result<(), PolicyError> {
        let Some(allowed) = allowed else {
            return Ok(());
        };
        let current = layers.get(key).and_then(|v| v.as_str()).and_then(parse);
        let source = layers.source(key);
        let listed: Vec<&str> = allowed.value.iter().map(|v| name(*v)).collect();
        match current {
            Some(value) if allowed.value.contains(&value) => {}
            Some(value) if is_user_choice(&source) => {
                return Err(PolicyError::Refused(format!(
                    "{key} = \"{}\" (from {source}) is not allowed by {}; allowed: {}",
                    name(value),
                    allowed.source,
                    listed.join(", ")
                )));
            }
            _ => {
                if let Some(first) = allowed.value.first() {
                    layers.set(key, name(*first).into(), allowed.source.clone());
                }
            }
        }
        if allowed.value.len() == 1 {
            locks.insert(key.to_string(), allowed.source.clone());
        }
        Ok(())
    }
    allowed_list(
        layers,
        keys::SANDBOX,
        req.sandbox_modes.as_ref(),
        SandboxMode::as_str,
        |s| SandboxMode::ALL.into_iter().find(|m| m.as_str() == s),
        locks,
    )?;
    allowed_list(
        layers,
        keys::APPROVAL,
        req.approval_policies.as_ref(),
        ApprovalPolicy::as_str,
        |s| ApprovalPolicy::ALL.into_iter().find(|m| m.as_str() == s),
        locks,
    )?;

    if let Some(source) = &req.auto_review_forbidden {
        let mode = layers
            .get(keys::AUTO_REVIEW)
            .and_then(|v| v.as_str())
            .unwrap_or("off");
        let chosen_by = layers.source(keys::AUTO_REVIEW);
        if mode != "off" && is_user_choice(&chosen_by) {
            return Err(PolicyError::Refused(format!(
                "auto_review = \"{mode}\" (from {chosen_by}) is not allowed by {source}"
            )));
        }
        layers.set(keys::AUTO_REVIEW, "off".into(), source.clone());
        locks.insert(keys::AUTO_REVIEW.into(), source.clone());
    }

    for (key, locked) in &req.locked {
        // A locked key the schema does not have would silently lock nothing: one that is
        // not set yet must at least be a setting the configuration accepts.
        if layers.get(key).is_none() {
            let mut probe = layers.clone_table();
            super::stack::set_in(&mut probe, key, locked.value.clone());
            if let Err(e) = crate::toml_place::deserialize::<crate::config::Config>(probe, "") {
                return Err(PolicyError::Requirements(format!(
                    "{}: `{key}` cannot be locked: {e}",
                    locked.source
                )));
            }
        }
        let current = layers.get(key).cloned();
        let chosen_by = layers.source(key);
        if let Some(current) = &current
            && current != &locked.value
            && is_user_choice(&chosen_by)
        {
            return Err(PolicyError::Refused(format!(
                "{key} = {current} (from {chosen_by}) is refused: {} locks it to {}",
                locked.source, locked.value
            )));
        }
        layers.set(key, locked.value.clone(), locked.source.clone());
        locks.insert(key.clone(), locked.source.clone());
    }

    // Prompts reach the fleet's collector only where an admin chose it: a user or project
    // value, or a session flag, cannot turn their export on.
    let prompts = keys::EXPORT_PROMPTS;
    let chosen_by = layers.source(prompts);
    if layers.get(prompts).and_then(|v| v.as_bool()) == Some(true) && is_user_choice(&chosen_by) {
        return Err(PolicyError::Refused(format!(
            "{prompts} = true (from {chosen_by}) is refused: only an admin can export prompts \
             (in managed_config.toml, an MDM profile or requirements)"
        )));
    }

    let non_empty = |key: &str| {
        layers
            .get(key)
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
    };
    if let Some(source) = &req.credential_exceptions_forbidden
        && non_empty(keys::ALLOW_READ)
    {
        return Err(PolicyError::Refused(format!(
            "boundary.allow_read (from {}) would make credential paths readable, which {source} does not allow",
            layers.source(keys::ALLOW_READ)
        )));
    }
    if let Some(source) = &req.weaker_sandbox_forbidden
        && non_empty(keys::ACCEPT_WEAKER)
    {
        return Err(PolicyError::Refused(format!(
            "boundary.accept_weaker (from {}) would run with a weaker sandbox, which {source} does not allow",
            layers.source(keys::ACCEPT_WEAKER)
        )));
    }
    let servers: Vec<String> = layers
        .get(keys::MCP_SERVERS)
        .and_then(|v| v.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    for name in &servers {
        let key = format!("mcp_servers.{name}");
        if !crate::config::valid_mcp_server_name(name) {
            return Err(PolicyError::Refused(format!(
                "{key} (from {}): an MCP server name uses letters, digits, `-` and single `_` (at most 32)",
                layers.source(&key)
            )));
        }
        if let Some(allowed) = &req.mcp_servers
            && !allowed.value.contains(name)
        {
            let listed = if allowed.value.is_empty() {
                "none".to_string()
            } else {
                allowed.value.join(", ")
            };
            return Err(PolicyError::Refused(format!(
                "MCP server `{name}` ({key} from {}) is not allowed by {}; allowed: {listed}",
                layers.source(&key),
                allowed.source
            )));
        }
    }
    if !req.deny_read.is_empty() {
        let mut list: Vec<toml::Value> = layers
            .get(keys::DENY_READ)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        for path in &req.deny_read {
            list.push(path.value.display().to_string().into());
        }
        let source = req.deny_read[0].source.clone();
        layers.set(keys::DENY_READ, toml::Value::Array(list), source);
    }
    Ok(())
}

pub(super) fn is_user_choice(source: &PolicySource) -> bool {
    matches!(
        source,
        PolicySource::UserConfig { .. }
            | PolicySource::ProjectConfig { .. }
            | PolicySource::SessionFlag
    )
}
