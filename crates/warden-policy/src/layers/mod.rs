//! The effective policy: config layers (built-in defaults, managed defaults, user
//! `config.toml`, trusted project `.warden/config.toml`, session flags), every value with
//! its source, then admin requirements applied on top (a user value outside them is
//! refused naming the source), and every rules file loaded.

mod access;
mod enforce;
mod keys;
mod project;
mod read;
mod stack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use warden_protocol::{ApprovalPolicy, PolicySource, SandboxMode};

use crate::PolicyError;
use crate::config::{Config, WardenPaths};
use crate::project_trust::ProjectPolicy;
use crate::requirements::{self, BundleConfig, Requirements, mdm};
use crate::rules::{RuleSet, RulesCache, RulesLoader};
use enforce::enforce;
use read::extra_requirements_from_env;
pub(crate) use read::rules_in;
use stack::Layers;

/// Choices made for one session (UI or CLI flags).
#[derive(Debug, Clone, Default)]
pub struct SessionChoices {
    pub sandbox: Option<SandboxMode>,
    pub approval: Option<ApprovalPolicy>,
}

/// Everything the resolver reads.
#[derive(Debug, Clone)]
pub struct PolicyInputs {
    pub paths: WardenPaths,
    /// `/etc/warden` in production.
    pub system_dir: PathBuf,
    /// The workspace, if any (its `.warden/` is read when the project is trusted).
    pub workspace: Option<PathBuf>,
    /// `-c KEY=VALUE`.
    pub overrides: Vec<String>,
    pub session: SessionChoices,
    /// Requirements added by a flag or `WARDEN_EXTRA_REQUIREMENTS` (never replacing).
    pub extra_requirements: Vec<PathBuf>,
    /// More rules files (`--rules`).
    pub extra_rules: Vec<PathBuf>,
    /// Live MDM preferences (macOS), already filtered to forced values.
    pub managed: mdm::ManagedPreferences,
    /// The rules language (`warden_rules::load_rules`); without it, any rules file to
    /// load that is not in `rules_cache` is an error (`PolicyError::NoRulesLanguage`)
    /// instead of being skipped.
    pub rules: Option<RulesLoader>,
    /// Rules kept from earlier loads of the same files (see `RulesCache`).
    pub rules_cache: Option<RulesCache>,
}

impl PolicyInputs {
    /// Production inputs: `/etc/warden`, the MDM's forced preferences, the user's files.
    pub fn new(paths: WardenPaths) -> Result<Self, PolicyError> {
        let rules_cache = Some(RulesCache::new(EffectivePolicy::rules_cache(&paths)));
        Ok(Self {
            extra_requirements: extra_requirements_from_env(),
            managed: mdm::read_forced()?,
            rules_cache,
            ..Self::confined_to(paths, PathBuf::from(requirements::SYSTEM_DIR))
        })
    }

    /// Inputs that read only these folders: the user's (`paths`) and the admin's
    /// (`system_dir`), with no MDM preferences, no `WARDEN_EXTRA_REQUIREMENTS`, no rules
    /// language and no kept rules (tests and tools).
    pub fn confined_to(paths: WardenPaths, system_dir: PathBuf) -> Self {
        Self {
            paths,
            system_dir,
            workspace: None,
            overrides: Vec::new(),
            session: SessionChoices::default(),
            extra_requirements: Vec::new(),
            extra_rules: Vec::new(),
            managed: mdm::ManagedPreferences::default(),
            rules: None,
            rules_cache: None,
        }
    }
}

/// One effective setting and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveValue {
    pub key: String,
    pub value: serde_json::Value,
    pub source: PolicySource,
    /// The admin requirement that fixes this value, if any.
    pub locked_by: Option<PolicySource>,
}

/// The resolved policy for a session or a check.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    pub config: Config,
    pub values: Vec<EffectiveValue>,
    pub requirements: Requirements,
    pub rules: RuleSet,
    /// Every rules file read, in order.
    pub rule_files: Vec<String>,
    /// Loud problems that did not stop loading (an ignored requirements file...).
    pub warnings: Vec<String>,
    /// The bundle to refresh, when a system source names one.
    pub bundle: Option<BundleConfig>,
    /// The trusted project whose `.warden/` policy applies (confirmed and unchanged).
    pub trusted_project: Option<PathBuf>,
    /// Where the workspace's trusted project stands against its last confirmation
    /// (project_trust.rs), when the workspace is in one.
    pub project_policy: Option<ProjectPolicy>,
}

impl EffectivePolicy {
    /// Decide a command without running it (`warden policy check`, the Policy view), as a
    /// session in `workspace` would.
    pub fn check(&self, argv: &[String], workspace: &Path) -> crate::Decision {
        let roots = [workspace.to_path_buf()];
        let cx = crate::DecisionContext {
            policy: self.config.approval,
            sandbox: self.config.sandbox,
            sandbox_enforced: cfg!(any(target_os = "linux", target_os = "macos")),
            workspace,
            writable_roots: &roots,
            rules: &self.rules,
            sensitive_edits: self.config.approvals.sensitive_edits,
        };
        crate::decide(
            crate::ActionRequest::Shell {
                argv,
                cwd: workspace,
            },
            &cx,
        )
    }

    /// Where the signed bundle's last good copy is kept.
    pub fn bundle_cache(paths: &WardenPaths) -> PathBuf {
        paths.data_dir.join("requirements-bundle.json")
    }

    /// Where rules loaded from rules files are kept between runs (`RulesCache`).
    pub fn rules_cache(paths: &WardenPaths) -> PathBuf {
        paths.data_dir.join("rules-cache")
    }
}

/// The user's rules folder (where "always allow" answers are written).
pub fn user_rules_dir(paths: &WardenPaths) -> PathBuf {
    paths.config_dir.join("rules")
}

/// Resolve the effective policy: read and stack the config layers (a trusted project's
/// only as a person confirmed it), apply session flags, gather and enforce every admin
/// requirement, and load the rules.
pub fn resolve(inputs: &PolicyInputs) -> Result<EffectivePolicy, PolicyError> {
    let mut warnings = Vec::new();
    let mut layers = Layers::new()?;
    for (layer, source) in read::admin_and_user_layers(inputs)? {
        layers.add(layer, source);
    }
    let project = project::trusted(inputs, &layers, &mut warnings)?;
    if let Some(root) = &project.applied
        && let Some((layer, source)) = read::project_layer(root)?
    {
        layers.add(layer, source);
    }
    layers.apply_session(&inputs.overrides, &inputs.session)?;
    let (requirements, bundle) = read::requirements(inputs, &mut warnings)?;
    let mut locks: BTreeMap<String, PolicySource> = BTreeMap::new();
    enforce(&mut layers, &requirements, &mut locks)?;
    access::enforce_access(&mut layers, &requirements, &mut locks)?;
    let config = layers.config()?;
    let (rules, rule_files) = read::rules(inputs, project.applied.as_deref(), &requirements)?;
    Ok(EffectivePolicy {
        config,
        values: layers.values(&locks),
        requirements,
        rules,
        rule_files,
        warnings,
        bundle,
        trusted_project: project.applied,
        project_policy: project.status,
    })
}

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod tests;
