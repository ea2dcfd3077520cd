//! Writing the user's configuration: the model section, a trusted project, each through
//! a temporary file and a rename, every other setting in the file kept.

use std::path::{Path, PathBuf};

use super::ModelConfig;
use crate::PolicyError;

/// Add `project` to `trusted_projects` in the user file, keeping every other setting in it.
/// Returns false when it (or a folder above it) is listed already.
pub fn add_trusted_project(config_file: &Path, project: &Path) -> Result<bool, PolicyError> {
    let mut table = read_user_table(config_file)?;
    let listed = table
        .get("trusted_projects")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let covered = listed.iter().filter_map(|v| v.as_str()).any(|t| {
        Path::new(t)
            .canonicalize()
            .is_ok_and(|t| project.starts_with(t))
    });
    if covered {
        return Ok(false);
    }
    let mut listed = listed;
    listed.push(toml::Value::String(project.display().to_string()));
    table.insert("trusted_projects".into(), toml::Value::Array(listed));
    let text = toml::to_string_pretty(&table).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    write_atomically(config_file, text.as_bytes())?;
    Ok(true)
}

fn read_user_table(config_file: &Path) -> Result<toml::Table, PolicyError> {
    match std::fs::read_to_string(config_file) {
        Ok(text) => toml::from_str(&text).map_err(|e| PolicyError::Parse {
            path: config_file.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(error) => Err(PolicyError::Read {
            path: config_file.to_path_buf(),
            error,
        }),
    }
}

/// Change settings of `[auto_review]` in the user file (`mode`, `model.base_url`, …):
/// each `Some` value set, each `None` removed; every other setting kept. A switch or mode
/// written as `auto_review = true` becomes the table it stands for.
pub fn save_auto_review(
    config_file: &Path,
    changes: &[(&str, Option<toml::Value>)],
) -> Result<(), PolicyError> {
    save_section(config_file, "auto_review", changes)
}

/// Change settings of the table `[section]` in the user file, as `save_auto_review`.
pub fn save_section(
    config_file: &Path,
    section: &str,
    changes: &[(&str, Option<toml::Value>)],
) -> Result<(), PolicyError> {
    let mut table = read_user_table(config_file)?;
    let mut review = match table.remove(section) {
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            match super::auto_review_as_table(&other).filter(|_| section == "auto_review") {
                Some(toml::Value::Table(t)) => t,
                _ => {
                    return Err(PolicyError::Parse {
                        path: config_file.to_path_buf(),
                        message: format!("{section} = {other} is not a table"),
                    });
                }
            }
        }
        None => toml::Table::new(),
    };
    for (key, value) in changes {
        let (parent, leaf) = match key.split_once('.') {
            Some((parent, leaf)) => (Some(parent), leaf),
            None => (None, *key),
        };
        let target = match parent {
            None => &mut review,
            Some(parent) => match review
                .entry(parent.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            {
                toml::Value::Table(t) => t,
                other => {
                    return Err(PolicyError::Parse {
                        path: config_file.to_path_buf(),
                        message: format!("{section}.{parent} = {other} is not a table"),
                    });
                }
            },
        };
        match value {
            Some(v) => {
                target.insert(leaf.to_string(), v.clone());
            }
            None => {
                target.remove(leaf);
            }
        }
    }
    review.retain(|_, v| !matches!(v, toml::Value::Table(t) if t.is_empty()));
    table.insert(section.into(), toml::Value::Table(review));
    let text = toml::to_string_pretty(&table).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    write_atomically(config_file, text.as_bytes())
}

/// Write the model section into the user file, keeping every other setting in it.
pub fn save_model(config_file: &Path, model: &ModelConfig) -> Result<(), PolicyError> {
    let mut table: toml::Table = match std::fs::read_to_string(config_file) {
        Ok(text) => toml::from_str(&text).map_err(|e| PolicyError::Parse {
            path: config_file.to_path_buf(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(error) => {
            return Err(PolicyError::Read {
                path: config_file.to_path_buf(),
                error,
            });
        }
    };
    // The endpoint, name and wire API only: headers, the credential source and OAuth
    // settings already in the file stay as they are.
    let section = table
        .entry("model")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(section) = section.as_table_mut() else {
        return Err(PolicyError::Parse {
            path: config_file.to_path_buf(),
            message: "`model` is not a table".into(),
        });
    };
    section.insert("base_url".into(), model.base_url.clone().into());
    section.insert("name".into(), model.name.clone().into());
    let wire_api =
        toml::Value::try_from(model.wire_api).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    section.insert("wire_api".into(), wire_api);
    let text = toml::to_string_pretty(&table).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    if let Some(dir) = config_file.parent() {
        std::fs::create_dir_all(dir).map_err(|error| PolicyError::Write {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    std::fs::write(config_file, text).map_err(|error| PolicyError::Write {
        path: config_file.to_path_buf(),
        error,
    })
}

/// Write `bytes` to `file` through a temporary file beside it and a rename, so a reader
/// never sees half a file; makes the folder if needed.
pub(crate) fn write_atomically(file: &Path, bytes: &[u8]) -> Result<(), PolicyError> {
    let write_error = |path: &Path, error| PolicyError::Write {
        path: path.to_path_buf(),
        error,
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    }
    let mut temp = file.as_os_str().to_os_string();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes).map_err(|e| write_error(&temp, e))?;
    std::fs::rename(&temp, file).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        write_error(file, e)
    })
}
