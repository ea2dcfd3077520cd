//! From configuration to the sandbox policy one command runs under. The agent's shell
//! tool and `warden exec` both build their policy here.

use std::path::{Path, PathBuf};

use warden_policy::PolicyError;
use warden_policy::config::{BoundaryConfig, WardenPaths};
use warden_protocol::SandboxMode;
use warden_sandbox::{BoundaryOptions, SandboxPolicy, Weakening};

/// The policy for commands in `cwd` (the first writable root) plus `extra_roots`.
/// Warden's own config and data folders are always protected, and made first if they
/// do not exist yet: only what exists can be bound read-only, and a command must not
/// create them with rules (or kept rules) of its own. Errors name the key.
pub fn sandbox_policy(
    mode: SandboxMode,
    cwd: &Path,
    extra_roots: &[PathBuf],
    boundary: &BoundaryConfig,
    paths: Option<&WardenPaths>,
) -> Result<SandboxPolicy, PolicyError> {
    let mut accept_weaker = Vec::new();
    for name in &boundary.accept_weaker {
        let known: Vec<&str> = Weakening::ALL.iter().map(|w| w.name()).collect();
        let weakening = Weakening::parse(name).ok_or_else(|| {
            PolicyError::Invalid(format!(
                "boundary.accept_weaker: unknown layer `{name}` (known: {})",
                known.join(", ")
            ))
        })?;
        accept_weaker.push(weakening);
    }
    let mut writable_roots = vec![cwd.to_path_buf()];
    writable_roots.extend(extra_roots.iter().cloned());
    let protect: Vec<PathBuf> = paths
        .map(|p| vec![p.config_dir.clone(), p.data_dir.clone()])
        .unwrap_or_default();
    for dir in &protect {
        // What Warden cannot create here, the command (the same user, with less) cannot
        // either.
        let _ = std::fs::create_dir_all(dir);
    }
    Ok(SandboxPolicy {
        mode,
        writable_roots,
        boundary: BoundaryOptions {
            deny_read: boundary.deny_read.clone(),
            allow_read: boundary.allow_read.clone(),
            protect,
            allow_env: boundary.allow_env.clone(),
            accept_weaker,
        },
        egress: warden_sandbox::Egress::None,
    })
}
