//! Scope step-up: a server that answers a stored sign-in with `insufficient_scope` needs
//! a wider grant, which takes the person's consent again. Warden remembers which scopes
//! the server asked for (the challenge's, and what its protected-resource metadata
//! advertises; no secrets, in `<data>/oauth/scopes.json`), and the next sign-in asks for
//! them together with the configured ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn file(dir: &Path) -> PathBuf {
    dir.join("scopes.json")
}

fn read(dir: &Path) -> BTreeMap<String, Vec<String>> {
    std::fs::read_to_string(file(dir))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn write(dir: &Path, all: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let text = serde_json::to_string_pretty(all).map_err(|e| e.to_string())?;
    let tmp = dir.join("scopes.json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, file(dir)))
        .map_err(|e| format!("cannot write {}: {e}", file(dir).display()))
}

/// The scopes a server asked for beyond the grant stored for `entry`.
pub(super) fn needed(dir: &Path, entry: &str) -> Vec<String> {
    read(dir).remove(entry).unwrap_or_default()
}

/// Remember that `entry`'s server asked for `scopes`.
pub(super) fn record(dir: &Path, entry: &str, scopes: &[String]) -> Result<(), String> {
    let mut all = read(dir);
    let list = all.entry(entry.to_string()).or_default();
    for scope in scopes {
        if !list.contains(scope) {
            list.push(scope.clone());
        }
    }
    write(dir, &all)
}

/// A sign-in with the wider scopes succeeded: nothing more is needed.
pub(super) fn clear(dir: &Path, entry: &str) -> Result<(), String> {
    let mut all = read(dir);
    if all.remove(entry).is_some() {
        write(dir, &all)?;
    }
    Ok(())
}

/// The scopes named in an `insufficient_scope` answer: the challenge's `scope="a b"`, or
/// the description's `Required scope: a` (as the Python SDK words it).
pub(super) fn scopes_in(challenge: &str) -> Vec<String> {
    let quoted = |key: &str| {
        challenge
            .split(key)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
    };
    quoted("scope=\"")
        .or_else(|| {
            challenge.split("Required scope: ").nth(1).map(|rest| {
                rest.split(|c: char| c == '"' || c == ',' || c.is_whitespace())
                    .next()
                    .map(str::to_string)
                    .into_iter()
                    .collect()
            })
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_read_from_either_form_of_challenge() {
        assert_eq!(
            scopes_in(r#"Bearer error="insufficient_scope", scope="files:read files:write""#),
            ["files:read", "files:write"]
        );
        assert_eq!(
            scopes_in(
                r#"Bearer error="insufficient_scope", error_description="Required scope: mcp:admin""#
            ),
            ["mcp:admin"]
        );
        assert!(scopes_in(r#"Bearer error="invalid_token""#).is_empty());
    }

    #[test]
    fn needed_scopes_accumulate_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        assert!(needed(dir.path(), "a").is_empty());
        record(dir.path(), "a", &["x".into()]).unwrap();
        record(dir.path(), "a", &["x".into(), "y".into()]).unwrap();
        record(dir.path(), "b", &["z".into()]).unwrap();
        assert_eq!(needed(dir.path(), "a"), ["x", "y"]);
        clear(dir.path(), "a").unwrap();
        assert!(needed(dir.path(), "a").is_empty());
        assert_eq!(needed(dir.path(), "b"), ["z"]);
    }
}
