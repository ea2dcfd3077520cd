//! Requirements files on disk: `/etc/warden/requirements.toml` and
//! `/etc/warden/requirements.d/*.toml` (read in name order). A file (or its folder) that
//! is not owned by root, or that group or others may write, is ignored with a loud warning:
//! anyone could have written it.

use crate::ValueError;
use std::path::{Path, PathBuf};

use warden_protocol::PolicySource;

use super::{RequirementsFile, parse_requirements};
use crate::PolicyError;

/// Where admins put requirements and managed defaults.
pub const SYSTEM_DIR: &str = "/etc/warden";

/// A file the system loader read, or why it refused it.
pub type Loaded = (RequirementsFile, PolicySource);

/// Read every requirements file under `dir`. Returns the files and warnings for the
/// ones ignored. A file that is trusted but invalid is an error (fail closed).
pub fn load_system_dir(dir: &Path) -> Result<(Vec<Loaded>, Vec<String>), PolicyError> {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let mut candidates = vec![dir.join("requirements.toml")];
    let drop_in = dir.join("requirements.d");
    if let Ok(entries) = std::fs::read_dir(&drop_in) {
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        names.sort();
        candidates.extend(names);
    }
    for path in candidates {
        if !path.exists() {
            continue;
        }
        if let Err(why) = trusted(&path) {
            let message = format!(
                "IGNORED admin requirements file {}: {why}. Fix its owner and mode (root, not group/world-writable).",
                path.display()
            );
            tracing::error!("{message}");
            warnings.push(message);
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|error| PolicyError::Read {
            path: path.clone(),
            error,
        })?;
        let name = path.display().to_string();
        let file = parse_requirements(&name, &text)?;
        files.push((file, PolicySource::Requirement { path: name }));
    }
    Ok((files, warnings))
}

/// Root-owned and not writable by group or others: the file and every folder above it.
#[cfg(unix)]
pub fn trusted(path: &Path) -> Result<(), ValueError> {
    trusted_reason(path).map_err(ValueError)
}

#[cfg(unix)]
fn trusted_reason(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    for p in path.ancestors() {
        if p.as_os_str().is_empty() {
            continue;
        }
        let meta =
            std::fs::metadata(p).map_err(|e| format!("cannot inspect {}: {e}", p.display()))?;
        if meta.uid() != 0 {
            return Err(format!(
                "{} is owned by uid {}, not root",
                p.display(),
                meta.uid()
            ));
        }
        let sticky = meta.is_dir() && meta.mode() & 0o1000 != 0;
        if meta.mode() & 0o022 != 0 && !sticky {
            return Err(format!(
                "{} is writable by group or others (mode {:o})",
                p.display(),
                meta.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn trusted(_path: &Path) -> Result<(), ValueError> {
    Ok(())
}
