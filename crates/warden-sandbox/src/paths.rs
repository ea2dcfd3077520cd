//! Which paths the boundary treats specially: credential stores nobody inside may read,
//! and protected paths that stay read-only even inside a writable root. Pure functions of
//! the file system as it is when the command starts; the platform layers enforce them.

use std::path::{Path, PathBuf};

pub use warden_protocol::CREDENTIAL_PATHS as DEFAULT_CREDENTIAL_PATHS;

/// Inside every writable root: version-control internals and tool configuration that
/// make other programs run code.
const PROTECTED_IN_ROOT: &[&str] = &[
    ".git/hooks",
    ".git/config",
    ".git/config.worktree",
    ".warden",
    ".codex",
    ".claude",
    ".vscode",
    ".idea",
    ".cursor",
    ".envrc",
];

/// Under the home directory (they matter when a writable root contains them): shell
/// startup files, git's own configuration and agent configuration.
const PROTECTED_IN_HOME: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".config/fish",
    ".gitconfig",
    ".config/git",
    ".codex",
    ".claude",
    ".config/Code/User",
    ".local/bin",
];

/// A path the boundary keeps read-only, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    pub path: PathBuf,
    pub reason: &'static str,
}

/// The credential paths for `home`: the defaults, plus `extra`, minus `allowed`. Relative
/// entries and `~/` are taken from `home`. Only paths that exist are returned.
pub fn credential_paths(home: &Path, extra: &[PathBuf], allowed: &[PathBuf]) -> Vec<PathBuf> {
    let allowed: Vec<PathBuf> = allowed.iter().map(|p| expand(home, p)).collect();
    let mut out = Vec::new();
    let defaults = DEFAULT_CREDENTIAL_PATHS.iter().map(|p| home.join(p));
    for path in defaults.chain(extra.iter().map(|p| expand(home, p))) {
        if allowed.contains(&path) {
            continue;
        }
        if let Some(real) = existing(&path)
            && !out.contains(&real)
        {
            out.push(real);
        }
    }
    out
}

/// The canonical form of `path` if it exists. Most candidates do not, and one `lstat`
/// says so far more cheaply than resolving every component.
fn existing(path: &Path) -> Option<PathBuf> {
    std::fs::symlink_metadata(path).ok()?;
    path.canonicalize().ok()
}

/// `path` with `.` and `..` resolved lexically (the path may not exist).
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `~/x` and relative paths are under `home`.
pub fn expand(home: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) if path.is_relative() => home.join(path),
        Err(_) => path.to_path_buf(),
    }
}

/// Every existing protected path inside `writable_roots`: the fixed lists, the targets of
/// `gitdir:` pointers and `commondir` files, a configured `core.hooksPath`, and `extra`
/// (e.g. Warden's own config directory). A repository without `.git/hooks` gets its whole
/// `.git` protected, since git would run hooks created there.
pub fn protected_paths(
    home: &Path,
    writable_roots: &[PathBuf],
    extra: &[PathBuf],
) -> Vec<Protected> {
    let mut candidates: Vec<Protected> = Vec::new();
    let mut add = |path: PathBuf, reason: &'static str| candidates.push(Protected { path, reason });
    for root in writable_roots {
        for rel in PROTECTED_IN_ROOT {
            add(root.join(rel), "runs code or configures an agent");
        }
        let dot_git = root.join(".git");
        if dot_git.is_dir() && !dot_git.join("hooks").exists() {
            add(dot_git.clone(), "git directory without a hooks folder");
        }
        let mut pending = git_dirs(&dot_git);
        while let Some(git_dir) = pending.pop() {
            add(git_dir.join("hooks"), "git hooks run code");
            add(git_dir.join("config"), "git config can run code");
            if let Some(hooks) = hooks_path(&git_dir.join("config"), root) {
                add(hooks, "configured core.hooksPath runs code");
            }
            // Submodules keep their own git dirs (with hooks) under modules/.
            if let Ok(modules) = std::fs::read_dir(git_dir.join("modules")) {
                pending.extend(modules.flatten().map(|m| m.path()).filter(|p| p.is_dir()));
            }
        }
    }
    for rel in PROTECTED_IN_HOME {
        add(home.join(rel), "shell or tool start-up file");
    }
    for path in extra {
        add(expand(home, path), "Warden configuration");
    }
    let mut out: Vec<Protected> = Vec::new();
    for candidate in candidates {
        let Some(real) = existing(&candidate.path) else {
            continue;
        };
        let inside = writable_roots.iter().any(|root| real.starts_with(root));
        if inside && !out.iter().any(|p| p.path == real) {
            out.push(Protected {
                path: real,
                reason: candidate.reason,
            });
        }
    }
    out
}

/// The git directories `dot_git` stands for: itself when it is a directory, the target of
/// a `gitdir:` file, and a linked worktree's `commondir`.
fn git_dirs(dot_git: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let git_dir = if dot_git.is_dir() {
        dot_git.to_path_buf()
    } else if let Ok(text) = std::fs::read_to_string(dot_git) {
        let Some(target) = text.lines().find_map(|l| l.strip_prefix("gitdir:")) else {
            return dirs;
        };
        let target = Path::new(target.trim());
        match dot_git.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target.to_path_buf(),
        }
    } else {
        return dirs;
    };
    if let Ok(common) = std::fs::read_to_string(git_dir.join("commondir")) {
        let common = Path::new(common.trim());
        dirs.push(if common.is_relative() {
            git_dir.join(common)
        } else {
            common.to_path_buf()
        });
    }
    dirs.push(git_dir);
    dirs
}

/// `core.hooksPath` from a git config file, resolved against the work tree.
fn hooks_path(config: &Path, work_tree: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config).ok()?;
    let mut in_core = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_core = line.to_ascii_lowercase().starts_with("[core");
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if in_core && key.trim().eq_ignore_ascii_case("hookspath") {
            let value = Path::new(value.trim().trim_matches('"'));
            return Some(if value.is_relative() {
                work_tree.join(value)
            } else {
                value.to_path_buf()
            });
        }
    }
    None
}

/// The directories to pin (bind onto themselves) so no protected path can be swapped out
/// by renaming a parent: every directory from the writable root that holds `path` down to
/// `path`'s parent, outermost first.
pub fn pinned_ancestors(path: &Path, writable_roots: &[PathBuf]) -> Vec<PathBuf> {
    let Some(root) = writable_roots
        .iter()
        .filter(|r| path.starts_with(r) && path != r.as_path())
        .min_by_key(|r| r.components().count())
    else {
        return Vec::new();
    };
    let mut chain: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(root))
        .map(Path::to_path_buf)
        .collect();
    chain.reverse();
    chain
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }

    #[test]
    fn credential_paths_follow_the_lists() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        touch(&home.join(".ssh/id_ed25519"));
        touch(&home.join(".docker/config.json"));
        touch(&home.join("secrets/token"));
        let got = credential_paths(
            &home,
            &[PathBuf::from("~/secrets")],
            &[PathBuf::from("~/.docker/config.json")],
        );
        assert_eq!(got, vec![home.join(".ssh"), home.join("secrets")]);
    }

    #[test]
    fn protected_paths_cover_git_internals_and_pointers() {
        let base = tempfile::tempdir().unwrap();
        let base = base.path().canonicalize().unwrap();
        let ws = base.join("ws");
        touch(&ws.join(".git/hooks/pre-commit"));
        std::fs::write(ws.join(".git/config"), "[core]\n\thooksPath = .husky\n").unwrap();
        touch(&ws.join(".husky/pre-commit"));
        touch(&ws.join(".envrc"));
        touch(&ws.join(".git/modules/sub/hooks/x"));
        touch(&ws.join(".git/modules/sub/modules/deeper/config"));
        // A linked worktree whose git dir lives in another writable root.
        let wt = base.join("wt");
        let real_git = base.join("store/worktrees/wt");
        std::fs::create_dir_all(&real_git).unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", real_git.display())).unwrap();
        std::fs::write(real_git.join("commondir"), "../..\n").unwrap();
        touch(&base.join("store/hooks/post-checkout"));
        touch(&base.join("store/config"));
        let roots = vec![ws.clone(), wt.clone(), base.join("store")];
        let got: Vec<PathBuf> = protected_paths(&base, &roots, &[])
            .into_iter()
            .map(|p| p.path)
            .collect();
        for want in [
            ws.join(".git/hooks"),
            ws.join(".git/config"),
            ws.join(".husky"),
            ws.join(".envrc"),
            ws.join(".git/modules/sub/hooks"),
            ws.join(".git/modules/sub/modules/deeper/config"),
            base.join("store/hooks"),
            base.join("store/config"),
        ] {
            assert!(
                got.contains(&want),
                "{} missing from {got:?}",
                want.display()
            );
        }
        assert!(
            !got.contains(&ws.join(".git")),
            "hooks exist: .git stays writable"
        );
    }

    #[test]
    fn a_repository_without_hooks_is_protected_whole() {
        let ws = tempfile::tempdir().unwrap();
        let ws = ws.path().canonicalize().unwrap();
        touch(&ws.join(".git/HEAD"));
        let got = protected_paths(&ws, std::slice::from_ref(&ws), &[]);
        assert!(got.iter().any(|p| p.path == ws.join(".git")), "{got:?}");
    }

    #[test]
    fn ancestors_are_pinned_from_the_root_down() {
        let roots = vec![PathBuf::from("/w"), PathBuf::from("/w/ws")];
        assert_eq!(
            pinned_ancestors(Path::new("/w/ws/.git/hooks"), &roots),
            vec![
                PathBuf::from("/w"),
                PathBuf::from("/w/ws"),
                PathBuf::from("/w/ws/.git")
            ]
        );
        assert!(pinned_ancestors(Path::new("/elsewhere/x"), &roots).is_empty());
    }
}
