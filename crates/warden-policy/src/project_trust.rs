//! Confirmation of a trusted project's policy. A project's `.warden/config.toml` and
//! `.warden/rules/*.rules` live in the workspace, which sandboxed commands may write, so
//! being listed in `trusted_projects` is not enough: Warden applies those files only
//! while they are exactly what a person confirmed outside the sandbox (`warden policy
//! trust`, or Trust in the app's Policy view). A file added, changed or removed since is
//! named, and nothing of the project's policy applies until it is confirmed again.
//!
//! Confirmations are kept in the user's data folder (`trusted-project-policy.json`),
//! which the sandbox keeps read-only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PolicyError;
use crate::config::WardenPaths;

/// A project's policy files: path relative to the project root → SHA-256 of the content.
pub type PolicyFiles = BTreeMap<String, String>;

/// Where a trusted project's policy stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectPolicy {
    pub root: PathBuf,
    /// Applied: the files are what a person confirmed (or there are none).
    pub confirmed: bool,
    /// What differs from the confirmation (`.warden/config.toml added`), when not.
    pub changes: Vec<String>,
    /// When the files now present were confirmed (ms since the epoch).
    pub confirmed_at: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Confirmations {
    version: u32,
    projects: BTreeMap<String, Confirmation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Confirmation {
    confirmed_at: i64,
    files: PolicyFiles,
}

fn store_file(paths: &WardenPaths) -> PathBuf {
    paths.data_dir.join("trusted-project-policy.json")
}

/// The policy files a trusted project at `root` has now: its config and its rules files.
pub fn current_files(root: &Path) -> Result<PolicyFiles, PolicyError> {
    let mut files = PolicyFiles::new();
    let mut add = |path: &Path| -> Result<(), PolicyError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .into_owned();
                files.insert(name, hex(&Sha256::digest(&bytes)));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(PolicyError::Read {
                path: path.to_path_buf(),
                error,
            }),
        }
    };
    add(&root.join(".warden/config.toml"))?;
    for file in crate::layers::rules_in(&root.join(".warden/rules")) {
        add(&file)?;
    }
    Ok(files)
}

fn read_confirmations(paths: &WardenPaths) -> Result<Confirmations, PolicyError> {
    let file = store_file(paths);
    match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| PolicyError::Parse {
            path: file,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Confirmations::default()),
        Err(error) => Err(PolicyError::Read { path: file, error }),
    }
}

/// Where the project at `root` (canonical) stands against its last confirmation.
pub fn status(paths: &WardenPaths, root: &Path) -> Result<ProjectPolicy, PolicyError> {
    let now = current_files(root)?;
    let confirmation = read_confirmations(paths)?
        .projects
        .remove(&root.display().to_string());
    let changes = match &confirmation {
        Some(c) => differences(&c.files, &now),
        None if now.is_empty() => Vec::new(),
        None => now
            .keys()
            .map(|f| format!("{f} was never confirmed"))
            .collect(),
    };
    Ok(ProjectPolicy {
        root: root.to_path_buf(),
        confirmed: changes.is_empty(),
        confirmed_at: confirmation
            .filter(|_| changes.is_empty())
            .map(|c| c.confirmed_at),
        changes,
    })
}

/// What changed from `before` to `after`, one line per file.
fn differences(before: &PolicyFiles, after: &PolicyFiles) -> Vec<String> {
    let mut changes = Vec::new();
    for (file, hash) in after {
        match before.get(file) {
            None => changes.push(format!("{file} was added")),
            Some(old) if old != hash => changes.push(format!("{file} was changed")),
            Some(_) => {}
        }
    }
    for file in before.keys().filter(|f| !after.contains_key(*f)) {
        changes.push(format!("{file} was removed"));
    }
    changes
}

/// Confirm the project's policy files as they are now (a person's act, outside the
/// sandbox). Returns the files confirmed.
pub fn confirm(paths: &WardenPaths, root: &Path, now_ms: i64) -> Result<PolicyFiles, PolicyError> {
    let files = current_files(root)?;
    let mut all = read_confirmations(paths)?;
    all.version = 1;
    all.projects.insert(
        root.display().to_string(),
        Confirmation {
            confirmed_at: now_ms,
            files: files.clone(),
        },
    );
    let file = store_file(paths);
    let text =
        serde_json::to_string_pretty(&all).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    crate::config::write_atomically(&file, text.as_bytes())?;
    Ok(files)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, WardenPaths, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let paths = WardenPaths {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().join("data"),
        };
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join(".warden/rules")).unwrap();
        (dir, paths, root)
    }

    #[test]
    fn every_addition_change_and_removal_is_named_until_confirmed() {
        let (_dir, paths, root) = setup();
        // Nothing there: nothing to confirm.
        assert!(status(&paths, &root).unwrap().confirmed);
        std::fs::write(root.join(".warden/config.toml"), "approval = \"never\"\n").unwrap();
        let s = status(&paths, &root).unwrap();
        assert_eq!(s.changes, [".warden/config.toml was never confirmed"]);
        confirm(&paths, &root, 5).unwrap();
        let s = status(&paths, &root).unwrap();
        assert_eq!((s.confirmed, s.confirmed_at), (true, Some(5)));

        std::fs::write(
            root.join(".warden/config.toml"),
            "approval = \"on-request\"\n",
        )
        .unwrap();
        std::fs::write(root.join(".warden/rules/x.rules"), "").unwrap();
        std::fs::write(root.join(".warden/rules/notes.txt"), "not a rules file").unwrap();
        let s = status(&paths, &root).unwrap();
        assert_eq!(
            s.changes,
            [
                ".warden/config.toml was changed",
                ".warden/rules/x.rules was added"
            ]
        );
        confirm(&paths, &root, 6).unwrap();
        std::fs::remove_file(root.join(".warden/config.toml")).unwrap();
        assert_eq!(
            status(&paths, &root).unwrap().changes,
            [".warden/config.toml was removed"]
        );
    }
}
