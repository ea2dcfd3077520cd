//! Which trusted project's `.warden/` applies: the workspace must be in a folder the
//! user's own `trusted_projects` lists, and the project's policy files must be as a
//! person last confirmed them (project_trust.rs); otherwise the person is told what
//! changed, and nothing of the project's applies.

use std::path::PathBuf;

use warden_protocol::PolicySource;

use super::stack::Layers;
use super::{PolicyInputs, keys};
use crate::PolicyError;
use crate::project_trust::{self, ProjectPolicy};

/// The project a workspace is in, and whether its policy applies.
pub(super) struct TrustedProject {
    /// The project whose `.warden/` applies (listed and confirmed).
    pub applied: Option<PathBuf>,
    /// Where a listed project stands against its last confirmation.
    pub status: Option<ProjectPolicy>,
}

pub(super) fn trusted(
    inputs: &PolicyInputs,
    layers: &Layers,
    warnings: &mut Vec<String>,
) -> Result<TrustedProject, PolicyError> {
    let listed: Vec<PathBuf> = layers
        .get(keys::TRUSTED_PROJECTS)
        .and_then(|v| v.clone().try_into::<Vec<PathBuf>>().ok())
        .unwrap_or_default();
    let source = layers.source(keys::TRUSTED_PROJECTS);
    if source != PolicySource::BuiltIn && !matches!(source, PolicySource::UserConfig { .. }) {
        return Err(PolicyError::Refused(
            "trusted_projects may only be set in the user's own config.toml".into(),
        ));
    }
    let root = inputs.workspace.as_ref().and_then(|ws| {
        listed.iter().find_map(|t| {
            let t = t.canonicalize().ok()?;
            ws.starts_with(&t).then_some(t)
        })
    });
    // Its `.warden/` applies only as a person last confirmed it (sandboxed commands can
    // write the workspace).
    let status = match &root {
        Some(root) => Some(project_trust::status(&inputs.paths, root)?),
        None => None,
    };
    if let Some(p) = status.as_ref().filter(|p| !p.confirmed) {
        warnings.push(format!(
            "the policy in {}/.warden changed since it was last trusted ({}): it is not applied until you review it and run `warden policy trust {}` (or Trust in the Policy view)",
            p.root.display(),
            p.changes.join("; "),
            p.root.display()
        ));
    }
    let applied = root.filter(|_| status.as_ref().is_some_and(|p| p.confirmed));
    Ok(TrustedProject { applied, status })
}
