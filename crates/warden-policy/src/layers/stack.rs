//! Stacking configuration layers: built-in defaults first, each later layer's values
//! over the earlier ones, every leaf remembering which layer set it.

use std::collections::BTreeMap;

use warden_protocol::PolicySource;

use super::{EffectiveValue, SessionChoices, keys};
use crate::PolicyError;
use crate::config::{Config, apply_override, merge, to_table};

/// Merge layers and remember who set each leaf.
pub(super) struct Layers {
    pub(super) table: toml::Table,
    pub(super) sources: BTreeMap<String, PolicySource>,
}

impl Layers {
    pub(super) fn new() -> Result<Self, PolicyError> {
        let table = to_table(&Config::default())?;
        let mut sources = BTreeMap::new();
        record(&table, "", &PolicySource::BuiltIn, &mut sources);
        Ok(Self { table, sources })
    }

    pub(super) fn add(&mut self, layer: toml::Table, source: PolicySource) {
        record(&layer, "", &source, &mut self.sources);
        merge(&mut self.table, layer);
    }

    pub(super) fn get(&self, key: &str) -> Option<&toml::Value> {
        let mut parts = key.split('.');
        let mut value = self.table.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(value)
    }

    pub(super) fn set(&mut self, key: &str, value: toml::Value, source: PolicySource) {
        let mut parts: Vec<&str> = key.split('.').collect();
        let Some(last) = parts.pop() else { return };
        let mut table = &mut self.table;
        for part in parts {
            let entry = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(inner) = entry.as_table_mut() else {
                return;
            };
            table = inner;
        }
        table.insert(last.to_string(), value);
        self.sources.insert(key.to_string(), source);
    }

    /// Session flags, highest: `-c KEY=VALUE` (each checked as it is applied), then the
    /// session's sandbox and approval choices.
    pub(super) fn apply_session(
        &mut self,
        overrides: &[String],
        session: &SessionChoices,
    ) -> Result<(), PolicyError> {
        for raw in overrides {
            let mut probe = self.table.clone();
            apply_override(&mut probe, raw)?;
            let key = raw.split_once('=').map_or(raw.as_str(), |(k, _)| k.trim());
            let merged = Layers {
                table: probe,
                sources: BTreeMap::new(),
            };
            if let Some(value) = merged.get(key).cloned() {
                self.set(key, value, PolicySource::SessionFlag);
            }
        }
        if let Some(sandbox) = session.sandbox {
            self.set(
                keys::SANDBOX,
                sandbox.as_str().into(),
                PolicySource::SessionFlag,
            );
        }
        if let Some(approval) = session.approval {
            self.set(
                keys::APPROVAL,
                approval.as_str().into(),
                PolicySource::SessionFlag,
            );
        }
        Ok(())
    }

    /// The stacked configuration. Each file was checked on its own when read; what fails
    /// here comes from overrides.
    pub(super) fn config(&self) -> Result<Config, PolicyError> {
        crate::toml_place::deserialize(self.table.clone(), "")
            .map_err(|e| PolicyError::Invalid(e.to_string()))
    }

    /// Every setting with its source and the requirement that locks it, if any.
    pub(super) fn values(&self, locks: &BTreeMap<String, PolicySource>) -> Vec<EffectiveValue> {
        self.sources
            .iter()
            .filter_map(|(key, source)| {
                let value = self.get(key)?;
                Some(EffectiveValue {
                    key: key.clone(),
                    value: serde_json::to_value(value).ok()?,
                    source: source.clone(),
                    locked_by: locks.get(key).cloned(),
                })
            })
            .collect()
    }

    pub(super) fn source(&self, key: &str) -> PolicySource {
        self.sources
            .get(key)
            .cloned()
            .unwrap_or(PolicySource::BuiltIn)
    }
}

fn record(
    table: &toml::Table,
    prefix: &str,
    source: &PolicySource,
    out: &mut BTreeMap<String, PolicySource>,
) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) if !is_map_setting(&path) => {
                record(inner, &path, source, out)
            }
            _ => {
                out.insert(path, source.clone());
            }
        }
    }
}

/// Settings whose value is a whole table (one setting, not a section).
fn is_map_setting(path: &str) -> bool {
    path == "telemetry.otlp_headers" || path.starts_with("mcp_servers.")
}
