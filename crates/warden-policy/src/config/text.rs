//! Configuration text: a file's table checked against the schema (naming the file, the
//! line and the dotted key), layers merged, `-c KEY=VALUE` overrides applied.

use std::path::Path;

use super::Config;
use crate::PolicyError;
use crate::toml_place::Placed;

/// Parse a config file's text and check it against the schema (unknown keys, wrong
/// types), naming the file in errors.
pub fn parse_text(path: &Path, text: &str) -> Result<toml::Table, PolicyError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| PolicyError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_partial(&table, text).map_err(|placed| PolicyError::Parse {
        path: path.to_path_buf(),
        message: placed.to_string(),
    })?;
    Ok(table)
}

pub(crate) fn to_table(config: &Config) -> Result<toml::Table, PolicyError> {
    match toml::Value::try_from(config) {
        Ok(toml::Value::Table(t)) => Ok(t),
        Ok(_) => Err(PolicyError::Invalid("defaults are not a table".into())),
        Err(e) => Err(PolicyError::Invalid(e.to_string())),
    }
}

/// Check a partial file against the schema: unknown keys and wrong types are errors.
/// `text` is the file `user` was parsed from (for the line), empty for overrides.
pub(crate) fn check_partial(user: &toml::Table, text: &str) -> Result<(), Placed> {
    let mut full = to_table(&Config::default()).map_err(|e| Placed {
        key: String::new(),
        line: None,
        message: e.to_string(),
    })?;
    merge(&mut full, user.clone());
    crate::toml_place::deserialize::<Config>(full, text).map(|_| ())
}

pub(crate) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

pub(crate) fn apply_override(table: &mut toml::Table, raw: &str) -> Result<(), PolicyError> {
    let err = |message: String| PolicyError::Override {
        raw: raw.to_string(),
        message,
    };
    let (key, value) = raw.split_once('=').ok_or_else(|| {
        err("expected KEY=VALUE, e.g. model.base_url=http://127.0.0.1:8080/v1".into())
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(err(format!("`{key}` is not a dotted key")));
    }
    // A TOML value if it parses as one, else the raw text as a string.
    let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut cursor = &mut *table;
    let mut created = false;
    for part in parts {
        // Tables keyed by name (`mcp_servers.NAME`) start empty: make the entry.
        if !cursor.contains_key(part) {
            created = true;
        }
        cursor = match cursor
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            toml::Value::Table(t) => t,
            _ => return Err(err(format!("unknown key `{key}`"))),
        };
    }
    let known = cursor.contains_key(last) && !created;
    cursor.insert(last.to_string(), value);
    // Optional keys are absent from the defaults: accept them if the schema does. A new
    // named entry may still miss fields that later overrides set; the load checks those.
    // A known key's value is checked here too, as a later layer (e.g. `--sandbox`) may
    // replace it before the load would see it.
    let Err(placed) = check_partial(table, "") else {
        return Ok(());
    };
    let incomplete_entry = created && placed.message.starts_with("missing field");
    // A new entry of a free-form table (`model.headers.NAME`) whose value or name the
    // schema refuses: say why, not "unknown key".
    let entry_refused = !placed.key.is_empty()
        && (placed.key == key || key.starts_with(&format!("{}.", placed.key)))
        && !placed.message.starts_with("unknown field")
        && !incomplete_entry;
    if (known && placed.key == key) || (!known && entry_refused) {
        Err(err(placed.message))
    } else if !known && !incomplete_entry {
        Err(err(format!("unknown key `{key}`")))
    } else {
        Ok(())
    }
}
