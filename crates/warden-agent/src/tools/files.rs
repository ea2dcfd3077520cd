//! `read_file`, `list_dir`, and resolving paths the model names.

use super::ToolError;
use std::path::{Path, PathBuf};

/// Resolve `raw` against `cwd`: `.`/`..` lexically, then symlinks in the longest
/// existing prefix, so a checked path is the path that will be touched.
pub fn resolve_path(cwd: &Path, raw: &str) -> PathBuf {
    let lexical = warden_sandbox::paths::lexical(&cwd.join(raw));
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return lexical,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

/// Lines `offset..offset+limit` (1-based) of a text file.
pub fn read_file(
    path: &Path,
    offset: usize,
    limit: usize,
    cap: usize,
) -> Result<String, ToolError> {
    read_lines(path, offset, limit, cap).map_err(ToolError)
}

fn read_lines(path: &Path, offset: usize, limit: usize, cap: usize) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{} is not a UTF-8 text file", path.display()))?;
    let mut out = String::new();
    for line in text.lines().skip(offset - 1).take(limit) {
        if out.len() + line.len() > cap {
            out.push_str("[… truncated]\n");
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// A folder's entries, sorted; folders end with `/`.
pub fn list_dir(path: &Path) -> Result<String, ToolError> {
    list_entries(path).map_err(ToolError)
}

fn list_entries(path: &Path) -> Result<String, String> {
    let entries =
        std::fs::read_dir(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| {
            let mut name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                name.push('/');
            }
            name
        })
        .collect();
    names.sort();
    Ok(names.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_and_symlinks_resolve_to_the_real_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let ws = root.join("ws");
        std::fs::create_dir(&ws).unwrap();
        std::os::unix::fs::symlink(&root, ws.join("escape")).unwrap();
        assert_eq!(resolve_path(&ws, "../x"), root.join("x"));
        assert_eq!(resolve_path(&ws, "escape/new/file"), root.join("new/file"));
        assert_eq!(resolve_path(&ws, "a/./b"), ws.join("a/b"));
    }
}
