//! The `apply_patch` format (as used by Codex): parse, check, and apply a multi-file patch.
//! Every file's new content is computed before anything is written, so a hunk that does
//! not match leaves the workspace untouched.

use super::ToolError;
use std::path::{Path, PathBuf};

use super::resolve_path;

#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub changes: Vec<FileChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FileChange {
    Add {
        path: PathBuf,
        content: String,
    },
    Delete {
        path: PathBuf,
    },
    Update {
        path: PathBuf,
        move_to: Option<PathBuf>,
        hunks: Vec<Hunk>,
    },
}

/// One file a patch touches.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEdit {
    pub path: PathBuf,
    pub op: EditOp,
    /// The edit's lines (`+` added, `-` removed), or the new file's.
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOp {
    Add,
    Update,
    Delete,
}

/// Lines to find (context and removed) and what replaces them (context and added).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hunk {
    pub old: Vec<String>,
    pub new: Vec<String>,
}

pub fn parse(text: &str, cwd: &Path) -> Result<Patch, ToolError> {
    parse_patch(text, cwd).map_err(ToolError)
}

fn parse_patch(text: &str, cwd: &Path) -> Result<Patch, String> {
    let lines: Vec<&str> = text.trim().lines().collect();
    if lines.first().map(|l| l.trim()) != Some("*** Begin Patch") {
        return Err("the patch must start with `*** Begin Patch`".into());
    }
    if lines.last().map(|l| l.trim()) != Some("*** End Patch") {
        return Err("the patch must end with `*** End Patch`".into());
    }
    let body = &lines[1..lines.len() - 1];
    let mut changes = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let line = body[i];
        let line_no = i + 2;
        if let Some(p) = line.strip_prefix("*** Add File: ") {
            i += 1;
            let mut content = String::new();
            while i < body.len() && !body[i].starts_with("*** ") {
                let l = body[i].strip_prefix('+').ok_or_else(|| {
                    format!("line {}: added file lines must start with `+`", i + 2)
                })?;
                content.push_str(l);
                content.push('\n');
                i += 1;
            }
            changes.push(FileChange::Add {
                path: resolve_path(cwd, p.trim()),
                content,
            });
        } else if let Some(p) = line.strip_prefix("*** Delete File: ") {
            changes.push(FileChange::Delete {
                path: resolve_path(cwd, p.trim()),
            });
            i += 1;
        } else if let Some(p) = line.strip_prefix("*** Update File: ") {
            i += 1;
            let mut move_to = None;
            if let Some(dest) = body.get(i).and_then(|l| l.strip_prefix("*** Move to: ")) {
                move_to = Some(resolve_path(cwd, dest.trim()));
                i += 1;
            }
            let mut hunks: Vec<Hunk> = Vec::new();
            while i < body.len() && (!body[i].starts_with("*** ") || body[i] == "*** End of File") {
                let l = body[i];
                if l.starts_with("@@") {
                    hunks.push(Hunk::default());
                } else if l != "*** End of File" {
                    if hunks.is_empty() {
                        hunks.push(Hunk::default());
                    }
                    let hunk = hunks.last_mut().ok_or("internal: no hunk")?;
                    match l.chars().next() {
                        Some('+') => hunk.new.push(l[1..].to_string()),
                        Some('-') => hunk.old.push(l[1..].to_string()),
                        Some(' ') => {
                            hunk.old.push(l[1..].to_string());
                            hunk.new.push(l[1..].to_string());
                        }
                        None => {
                            hunk.old.push(String::new());
                            hunk.new.push(String::new());
                        }
                        Some(_) => {
                            return Err(format!(
                                "line {}: hunk lines start with ' ', '-' or '+'",
                                i + 2
                            ));
                        }
                    }
                }
                i += 1;
            }
            hunks.retain(|h| !(h.old.is_empty() && h.new.is_empty()));
            if hunks.is_empty() {
                return Err(format!(
                    "line {line_no}: `*** Update File: {p}` has no changes"
                ));
            }
            changes.push(FileChange::Update {
                path: resolve_path(cwd, p.trim()),
                move_to,
                hunks,
            });
        } else if line.trim().is_empty() {
            i += 1;
        } else {
            return Err(format!(
                "line {line_no}: expected `*** Add File:`, `*** Delete File:` or `*** Update File:`, found {line:?}"
            ));
        }
    }
    if changes.is_empty() {
        return Err("the patch changes nothing".into());
    }
    Ok(Patch { changes })
}

impl Patch {
    /// Every path the patch writes, creates or removes.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for change in &self.changes {
            match change {
                FileChange::Add { path, .. } | FileChange::Delete { path } => {
                    out.push(path.clone())
                }
                FileChange::Update { path, move_to, .. } => {
                    out.push(path.clone());
                    out.extend(move_to.clone());
                }
            }
        }
        out
    }

    /// Each path's edit as lines (`+` added, `-` removed), in the order of [`Self::paths`]:
    /// what the policy reads a manifest's edit from.
    pub fn diffs(&self) -> Vec<String> {
        self.files().into_iter().map(|f| f.diff).collect()
    }

    /// Each file the patch touches, what it does to it and its edit as lines: what the
    /// reviewer sees. A move is the old path updated and the new one added with the same
    /// edit. In the order of [`Self::paths`].
    pub fn files(&self) -> Vec<FileEdit> {
        let mut out = Vec::new();
        for change in &self.changes {
            match change {
                FileChange::Add { path, content } => out.push(FileEdit {
                    path: path.clone(),
                    op: EditOp::Add,
                    diff: content.lines().map(|l| format!("+{l}\n")).collect(),
                }),
                FileChange::Delete { path } => out.push(FileEdit {
                    path: path.clone(),
                    op: EditOp::Delete,
                    diff: String::new(),
                }),
                FileChange::Update {
                    path,
                    move_to,
                    hunks,
                } => {
                    let mut diff = String::new();
                    for hunk in hunks {
                        diff.push_str("@@\n");
                        for line in &hunk.old {
                            diff.push_str(&format!("-{line}\n"));
                        }
                        for line in &hunk.new {
                            diff.push_str(&format!("+{line}\n"));
                        }
                    }
                    out.push(FileEdit {
                        path: path.clone(),
                        op: EditOp::Update,
                        diff: diff.clone(),
                    });
                    if let Some(to) = move_to {
                        out.push(FileEdit {
                            path: to.clone(),
                            op: EditOp::Add,
                            diff,
                        });
                    }
                }
            }
        }
        out
    }

    pub fn summary(&self) -> String {
        self.changes
            .iter()
            .map(|c| match c {
                FileChange::Add { path, .. } => format!("add {}", path.display()),
                FileChange::Delete { path } => format!("delete {}", path.display()),
                FileChange::Update {
                    path,
                    move_to: Some(to),
                    ..
                } => {
                    format!("update {} → {}", path.display(), to.display())
                }
                FileChange::Update { path, .. } => format!("update {}", path.display()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Apply every change, or none if any hunk fails to match.
    pub fn apply(&self) -> Result<String, ToolError> {
        self.apply_all().map_err(ToolError)
    }

    fn apply_all(&self) -> Result<String, String> {
        enum Write {
            Put(PathBuf, String),
            Remove(PathBuf),
        }
        let mut writes = Vec::new();
        for change in &self.changes {
            match change {
                FileChange::Add { path, content } => {
                    if path.exists() {
                        return Err(format!("{} already exists", path.display()));
                    }
                    writes.push(Write::Put(path.clone(), content.clone()));
                }
                FileChange::Delete { path } => {
                    if !path.is_file() {
                        return Err(format!("{} is not a file", path.display()));
                    }
                    writes.push(Write::Remove(path.clone()));
                }
                FileChange::Update {
                    path,
                    move_to,
                    hunks,
                } => {
                    let old = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let new =
                        apply_hunks(&old, hunks).map_err(|e| format!("{}: {e}", path.display()))?;
                    match move_to {
                        Some(to) => {
                            writes.push(Write::Put(to.clone(), new));
                            writes.push(Write::Remove(path.clone()));
                        }
                        None => writes.push(Write::Put(path.clone(), new)),
                    }
                }
            }
        }
        for write in writes {
            match write {
                Write::Put(path, content) => {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                    }
                    std::fs::write(&path, content)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                }
                Write::Remove(path) => {
                    std::fs::remove_file(&path)
                        .map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
                }
            }
        }
        Ok(format!("applied: {}", self.summary()))
    }
}

fn apply_hunks(text: &str, hunks: &[Hunk]) -> Result<String, String> {
    let trailing_newline = text.ends_with('\n');
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cursor = 0;
    for (n, hunk) in hunks.iter().enumerate() {
        let at = if hunk.old.is_empty() {
            lines.len()
        } else {
            find(&lines, &hunk.old, cursor)
                .or_else(|| find(&lines, &hunk.old, 0))
                .ok_or_else(|| format!("hunk {} does not match the file", n + 1))?
        };
        lines.splice(at..at + hunk.old.len(), hunk.new.iter().cloned());
        cursor = at + hunk.new.len();
    }
    let mut out = lines.join("\n");
    if trailing_newline || !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

fn find(lines: &[String], needle: &[String], from: usize) -> Option<usize> {
    let exact = |a: &String, b: &String| a == b;
    let loose = |a: &String, b: &String| a.trim_end() == b.trim_end();
    for eq in [&exact as &dyn Fn(&String, &String) -> bool, &loose] {
        if let Some(i) = (from..=lines.len().saturating_sub(needle.len())).find(|&i| {
            lines[i..i + needle.len()]
                .iter()
                .zip(needle)
                .all(|(a, b)| eq(a, b))
        }) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_update_move_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::fs::write(ws.join("a.txt"), "one\ntwo\nthree\n").unwrap();
        std::fs::write(ws.join("gone.txt"), "x\n").unwrap();
        let patch = parse(
            "*** Begin Patch\n*** Add File: new/b.txt\n+hello\n*** Update File: a.txt\n*** Move to: c.txt\n@@\n one\n-two\n+2\n three\n*** Delete File: gone.txt\n*** End Patch\n",
            &ws,
        )
        .unwrap();
        assert_eq!(
            patch.paths(),
            vec![
                ws.join("new/b.txt"),
                ws.join("a.txt"),
                ws.join("c.txt"),
                ws.join("gone.txt")
            ]
        );
        patch.apply().unwrap();
        assert_eq!(
            std::fs::read_to_string(ws.join("new/b.txt")).unwrap(),
            "hello\n"
        );
        assert_eq!(
            std::fs::read_to_string(ws.join("c.txt")).unwrap(),
            "one\n2\nthree\n"
        );
        assert!(!ws.join("a.txt").exists() && !ws.join("gone.txt").exists());
    }

    #[test]
    fn a_hunk_that_does_not_match_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::fs::write(ws.join("a.txt"), "one\n").unwrap();
        let patch = parse("*** Begin Patch\n*** Add File: b.txt\n+b\n*** Update File: a.txt\n-nope\n+yes\n*** End Patch", &ws).unwrap();
        let err = patch.apply().unwrap_err();
        assert!(err.contains("hunk 1 does not match"), "{err}");
        assert!(!ws.join("b.txt").exists());
        assert_eq!(std::fs::read_to_string(ws.join("a.txt")).unwrap(), "one\n");
    }

    #[test]
    fn malformed_patches_say_what_is_wrong() {
        let ws = Path::new("/w");
        assert!(parse("hello", ws).unwrap_err().contains("Begin Patch"));
        assert!(
            parse("*** Begin Patch\n*** Frobnicate: x\n*** End Patch", ws)
                .unwrap_err()
                .contains("line 2")
        );
    }
}
