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

    pub(super) fn add(&mut self, mut layer: toml::Table, source: PolicySource) {
        normalize(&mut layer);
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
        if set_in(&mut self.table, key, value) {
            self.sources.insert(key.to_string(), source);
        }
    }

    /// A copy of the stacked table, to try a change on.
    pub(super) fn clone_table(&self) -> toml::Table {
        self.table.clone()
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
            match merged.get(key).cloned() {
                // `-c auto_review=true`: the layers hold its mode.
                Some(value) if key == keys::AUTO_REVIEW_TABLE => {
                    match crate::config::auto_review_as_table(&value) {
                        Some(toml::Value::Table(t)) => {
                            for (field, v) in t {
                                let key = format!("{key}.{field}");
                                self.set(&key, v, PolicySource::SessionFlag);
                            }
                        }
                        _ => self.set(key, value, PolicySource::SessionFlag),
                    }
                }
                Some(value) => self.set(key, value, PolicySource::SessionFlag),
                None => {}
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

    /// Who set `key`: its own layer, or, for an entry of a map setting
    /// (`model.headers.NAME`), the layer that set the map.
    pub(super) fn source(&self, key: &str) -> PolicySource {
        let mut at = key;
        loop {
            if let Some(source) = self.sources.get(at) {
                return source.clone();
            }
            match at.rsplit_once('.') {
                Some((parent, _)) => at = parent,
                None => return PolicySource::BuiltIn,
            }
        }
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
    path == "telemetry.otlp_headers" || path == "model.headers" || path.starts_with("mcp_servers.")
}

/// A layer as the layers hold it: `auto_review` written as a switch or a mode becomes the
/// table it stands for (`auto_review.mode`), so later layers and requirements can set or
/// lock each field.
fn normalize(layer: &mut toml::Table) {
    if let Some(value) = layer.get(keys::AUTO_REVIEW_TABLE)
        && let Some(table) = crate::config::auto_review_as_table(value)
    {
        layer.insert(keys::AUTO_REVIEW_TABLE.into(), table);
    }
}

/// Set a dotted key in a table, making the tables on the way; false where a value that is
/// not a table is in the way.
pub(super) fn set_in(table: &mut toml::Table, key: &str, value: toml::Value) -> bool {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let mut table = table;
    for part in parts {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(inner) = entry.as_table_mut() else {
            return false;
        };
        table = inner;
    }
    table.insert(last.to_string(), value);
    true
}
