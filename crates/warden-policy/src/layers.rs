//! The effective policy: config layers (built-in defaults, managed defaults, user
//! `config.toml`, trusted project `.warden/config.toml`, session flags), every value with
//! its source, then admin requirements applied on top (a user value outside them is
//! refused naming the source), and every rules file loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use warden_protocol::{ApprovalPolicy, PolicySource, SandboxMode};

use crate::PolicyError;
use crate::config::{Config, WardenPaths, apply_override, merge, to_table};
use crate::project_trust::{self, ProjectPolicy};
use crate::requirements::{
    self, BundleConfig, Requirements, RequirementsFile, load_system_dir, mdm, parse_requirements,
};
use crate::rules::{RuleSet, RulesCache, RulesLoader};

/// Keys a project's `.warden/config.toml` may not set: where prompts go, what is
/// recorded and exported, what the sandbox hides, and which projects are trusted.
const PROJECT_FORBIDDEN: &[&str] = &[
    "model.base_url",
    "telemetry",
    "audit",
    "boundary",
    "trusted_projects",
    "network.allow_private",
    "network.hosts",
];

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

/// `WARDEN_EXTRA_REQUIREMENTS=file1:file2` adds requirement files (tests, CI).
fn extra_requirements_from_env() -> Vec<PathBuf> {
    std::env::var_os("WARDEN_EXTRA_REQUIREMENTS")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
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

/// Merge layers and remember who set each leaf.
struct Layers {
    table: toml::Table,
    sources: BTreeMap<String, PolicySource>,
}

impl Layers {
    fn new() -> Result<Self, PolicyError> {
        let table = to_table(&Config::default())?;
        let mut sources = BTreeMap::new();
        record(&table, "", &PolicySource::BuiltIn, &mut sources);
        Ok(Self { table, sources })
    }

    fn add(&mut self, layer: toml::Table, source: PolicySource) {
        record(&layer, "", &source, &mut self.sources);
        merge(&mut self.table, layer);
    }

    fn get(&self, key: &str) -> Option<&toml::Value> {
        let mut parts = key.split('.');
        let mut value = self.table.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(value)
    }

    fn set(&mut self, key: &str, value: toml::Value, source: PolicySource) {
        let mut parts: Vec<&str> = key.split('.').collect();
        let Some(last) = parts.pop() else { return };
        let mut table = &mut self.table;
        for part in parts {
            let entry = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(inner) = entry.as_table_mut() else {
                return;
            };
            table = inner;
        }
        table.insert(last.to_string(), value);
        self.sources.insert(key.to_string(), source);
    }

    fn source(&self, key: &str) -> PolicySource {
        self.sources
            .get(key)
            .cloned()
            .unwrap_or(PolicySource::BuiltIn)
    }
}

fn record(
    table: &toml::Table,
    prefix: &str,
    source: &PolicySource,
    out: &mut BTreeMap<String, PolicySource>,
) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) if !is_map_setting(&path) => {
                record(inner, &path, source, out)
            }
            _ => {
                out.insert(path, source.clone());
            }
        }
    }
}

/// Settings whose value is a whole table (one setting, not a section).
fn is_map_setting(path: &str) -> bool {
    path == "telemetry.otlp_headers" || path.starts_with("mcp_servers.")
}

fn read_layer(path: &Path) -> Result<Option<toml::Table>, PolicyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(PolicyError::Read {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    parse_layer(path, &text).map(Some)
}

fn parse_layer(path: &Path, text: &str) -> Result<toml::Table, PolicyError> {
    crate::config::parse_text(path, text)
}

fn is_user_choice(source: &PolicySource) -> bool {
    matches!(
        source,
        PolicySource::UserConfig { .. }
            | PolicySource::ProjectConfig { .. }
            | PolicySource::SessionFlag
    )
}

pub(crate) fn rules_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "rules"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The user's rules folder (where "always allow" answers are written).
pub fn user_rules_dir(paths: &WardenPaths) -> PathBuf {
    paths.config_dir.join("rules")
}

/// One rules file's rules: kept from an earlier load of the same text, or loaded with
/// the rules language (and kept), or, without it, `PolicyError::NoRulesLanguage`.
fn load_rules_file(
    inputs: &PolicyInputs,
    file: &Path,
    text: &str,
    source: PolicySource,
) -> Result<RuleSet, PolicyError> {
    let name = file.display().to_string();
    if let Some(kept) = inputs
        .rules_cache
        .as_ref()
        .and_then(|cache| cache.get(&name, text, &source))
    {
        return Ok(kept);
    }
    let load = inputs.rules.ok_or_else(|| PolicyError::NoRulesLanguage {
        path: file.to_path_buf(),
    })?;
    let loaded = load(&name, text, source.clone())?;
    if let Some(cache) = &inputs.rules_cache {
        cache.put(&name, text, &source, &loaded);
    }
    Ok(loaded)
}

/// Resolve the effective policy.
pub fn resolve(inputs: &PolicyInputs) -> Result<EffectivePolicy, PolicyError> {
    let mut warnings = Vec::new();
    let mut layers = Layers::new()?;

    // Managed defaults: overridable by the user.
    let managed_file = inputs.system_dir.join("managed_config.toml");
    if let Some(layer) = read_layer(&managed_file)? {
        layers.add(
            layer,
            PolicySource::ManagedConfig {
                path: managed_file.display().to_string(),
            },
        );
    }
    if let Some(text) = &inputs.managed.config_toml {
        let name = format!("MDM profile {}", mdm::DOMAIN);
        let layer = parse_layer(Path::new(&name), text)?;
        layers.add(layer, PolicySource::ManagedConfig { path: name });
    }

    // The user's file.
    let user_file = inputs.paths.config_file();
    if let Some(layer) = read_layer(&user_file)? {
        layers.add(
            layer,
            PolicySource::UserConfig {
                path: user_file.display().to_string(),
            },
        );
    }

    // A trusted project's file.
    let trusted: Vec<PathBuf> = layers
        .get("trusted_projects")
        .and_then(|v| v.clone().try_into::<Vec<PathBuf>>().ok())
        .unwrap_or_default();
    if layers.source("trusted_projects") != PolicySource::BuiltIn
        && !matches!(
            layers.source("trusted_projects"),
            PolicySource::UserConfig { .. }
        )
    {
        return Err(PolicyError::Refused(
            "trusted_projects may only be set in the user's own config.toml".into(),
        ));
    }
    let listed_project = inputs.workspace.as_ref().and_then(|ws| {
        trusted.iter().find_map(|t| {
            let t = t.canonicalize().ok()?;
            ws.starts_with(&t).then_some(t)
        })
    });
    // Its `.warden/` applies only as a person last confirmed it (sandboxed commands can
    // write the workspace).
    let project_policy = match &listed_project {
        Some(root) => Some(project_trust::status(&inputs.paths, root)?),
        None => None,
    };
    if let Some(p) = project_policy.as_ref().filter(|p| !p.confirmed) {
        warnings.push(format!(
            "the policy in {}/.warden changed since it was last trusted ({}): it is not applied until you review it and run `warden policy trust {}` (or Trust in the Policy view)",
            p.root.display(),
            p.changes.join("; "),
            p.root.display()
        ));
    }
    let trusted_project =
        listed_project.filter(|_| project_policy.as_ref().is_some_and(|p| p.confirmed));
    if let Some(project) = &trusted_project {
        let file = project.join(".warden/config.toml");
        if let Some(layer) = read_layer(&file)? {
            for key in PROJECT_FORBIDDEN {
                let (head, tail) = key.split_once('.').unwrap_or((key, ""));
                let present = match layer.get(head) {
                    Some(toml::Value::Table(t)) if !tail.is_empty() => t.contains_key(tail),
                    Some(_) => true,
                    None => false,
                };
                if present {
                    return Err(PolicyError::Parse {
                        path: file.clone(),
                        message: format!(
                            "`{key}` may not be set by a project; set it in your own config.toml"
                        ),
                    });
                }
            }
            layers.add(
                layer,
                PolicySource::ProjectConfig {
                    path: file.display().to_string(),
                },
            );
        }
    }

    // Session flags.
    for raw in &inputs.overrides {
        let mut probe = layers.table.clone();
        apply_override(&mut probe, raw)?;
        let key = raw.split_once('=').map_or(raw.as_str(), |(k, _)| k.trim());
        let merged = Layers {
            table: probe,
            sources: BTreeMap::new(),
        };
        if let Some(value) = merged.get(key).cloned() {
            layers.set(key, value, PolicySource::SessionFlag);
        }
    }
    if let Some(sandbox) = inputs.session.sandbox {
        layers.set(
            "sandbox",
            sandbox.as_str().into(),
            PolicySource::SessionFlag,
        );
    }
    if let Some(approval) = inputs.session.approval {
        layers.set(
            "approval",
            approval.as_str().into(),
            PolicySource::SessionFlag,
        );
    }

    // Requirements from every source, most restrictive.
    let mut requirements = Requirements::default();
    let (system, ignored) = load_system_dir(&inputs.system_dir)?;
    warnings.extend(ignored);
    let mut bundle = None;
    for (file, source) in system {
        if let Some(b) = &file.bundle {
            b.check_url()?;
            bundle = Some(b.clone());
        }
        requirements.add(file, source)?;
    }
    if let Some(text) = &inputs.managed.requirements_toml {
        let name = format!("MDM profile {}", mdm::DOMAIN);
        let file = parse_requirements(&name, text)?;
        if let Some(b) = &file.bundle {
            b.check_url()?;
            bundle = Some(b.clone());
        }
        requirements.add(file, PolicySource::Requirement { path: name })?;
    }
    if let Some(config) = &bundle {
        match read_cached_bundle(config, &EffectivePolicy::bundle_cache(&inputs.paths)) {
            Ok(Some(file)) => requirements.add(
                file,
                PolicySource::Requirement {
                    path: config.url.clone(),
                },
            )?,
            Ok(None) => warnings.push(format!(
                "the signed requirements bundle {} has not been fetched yet",
                config.url
            )),
            Err(e) => warnings.push(format!("IGNORED cached requirements bundle: {e}")),
        }
    }
    for path in &inputs.extra_requirements {
        let text = std::fs::read_to_string(path).map_err(|error| PolicyError::Read {
            path: path.clone(),
            error,
        })?;
        let name = path.display().to_string();
        let mut file: RequirementsFile = parse_requirements(&name, &text)?;
        // An added file may not point the fleet at another bundle.
        file.bundle = None;
        requirements.add(file, PolicySource::Requirement { path: name })?;
    }

    let mut locks: BTreeMap<String, PolicySource> = BTreeMap::new();
    enforce(&mut layers, &requirements, &mut locks)?;

    // Each file was checked on its own when read; what fails here comes from overrides.
    let config: Config = crate::toml_place::deserialize(layers.table.clone(), "")
        .map_err(|e| PolicyError::Invalid(e.to_string()))?;

    // Rules: user, extra, trusted project, then the admin's.
    let mut rules = RuleSet::default();
    let mut rule_files = Vec::new();
    let mut load_dir_files =
        |files: Vec<PathBuf>, source: fn(String) -> PolicySource| -> Result<(), PolicyError> {
            for file in files {
                let name = file.display().to_string();
                let text = std::fs::read_to_string(&file).map_err(|error| PolicyError::Read {
                    path: file.clone(),
                    error,
                })?;
                rules.extend(load_rules_file(inputs, &file, &text, source(name.clone()))?);
                rule_files.push(name);
            }
            Ok(())
        };
    load_dir_files(rules_in(&user_rules_dir(&inputs.paths)), |path| {
        PolicySource::UserRules { path }
    })?;
    load_dir_files(inputs.extra_rules.clone(), |path| PolicySource::UserRules {
        path,
    })?;
    if let Some(project) = &trusted_project {
        load_dir_files(rules_in(&project.join(".warden/rules")), |path| {
            PolicySource::ProjectRules { path }
        })?;
    }
    rules.extend(requirements.rules.clone());

    let values = layers
        .sources
        .iter()
        .filter_map(|(key, source)| {
            let value = layers.get(key)?;
            Some(EffectiveValue {
                key: key.clone(),
                value: serde_json::to_value(value).ok()?,
                source: source.clone(),
                locked_by: locks.get(key).cloned(),
            })
        })
        .collect();

    Ok(EffectivePolicy {
        config,
        values,
        requirements,
        rules,
        rule_files,
        warnings,
        bundle,
        trusted_project,
        project_policy,
    })
}

/// Apply requirements to the merged layers: refuse user choices outside them, replace
/// defaults that fall outside them, set locked values.
fn enforce(
    layers: &mut Layers,
    req: &Requirements,
    locks: &mut BTreeMap<String, PolicySource>,
) -> Result<(), PolicyError> {
    fn allowed_list<T: Copy + PartialEq>(
        layers: &mut Layers,
        key: &str,
        allowed: Option<&requirements::Sourced<Vec<T>>>,
        name: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
        locks: &mut BTreeMap<String, PolicySource>,
    ) -> Result<(), PolicyError> {
        let Some(allowed) = allowed else {
            return Ok(());
        };
        let current = layers.get(key).and_then(|v| v.as_str()).and_then(parse);
        let source = layers.source(key);
        let listed: Vec<&str> = allowed.value.iter().map(|v| name(*v)).collect();
        match current {
            Some(value) if allowed.value.contains(&value) => {}
            Some(value) if is_user_choice(&source) => {
                return Err(PolicyError::Refused(format!(
                    "{key} = \"{}\" (from {source}) is not allowed by {}; allowed: {}",
                    name(value),
                    allowed.source,
                    listed.join(", ")
                )));
            }
            _ => {
                if let Some(first) = allowed.value.first() {
                    layers.set(key, name(*first).into(), allowed.source.clone());
                }
            }
        }
        if allowed.value.len() == 1 {
            locks.insert(key.to_string(), allowed.source.clone());
        }
        Ok(())
    }
    allowed_list(
        layers,
        "sandbox",
        req.sandbox_modes.as_ref(),
        SandboxMode::as_str,
        |s| SandboxMode::ALL.into_iter().find(|m| m.as_str() == s),
        locks,
    )?;
    allowed_list(
        layers,
        "approval",
        req.approval_policies.as_ref(),
        ApprovalPolicy::as_str,
        |s| ApprovalPolicy::ALL.into_iter().find(|m| m.as_str() == s),
        locks,
    )?;

    if let Some(source) = &req.auto_review_forbidden {
        let on = layers.get("auto_review").and_then(|v| v.as_bool()) == Some(true);
        let chosen_by = layers.source("auto_review");
        if on && is_user_choice(&chosen_by) {
            return Err(PolicyError::Refused(format!(
                "auto_review = true (from {chosen_by}) is not allowed by {source}"
            )));
        }
        layers.set("auto_review", false.into(), source.clone());
        locks.insert("auto_review".into(), source.clone());
    }

    for (key, locked) in &req.locked {
        let current = layers.get(key).cloned();
        let chosen_by = layers.source(key);
        if let Some(current) = &current
            && current != &locked.value
            && is_user_choice(&chosen_by)
        {
            return Err(PolicyError::Refused(format!(
                "{key} = {current} (from {chosen_by}) is refused: {} locks it to {}",
                locked.source, locked.value
            )));
        }
        layers.set(key, locked.value.clone(), locked.source.clone());
        locks.insert(key.clone(), locked.source.clone());
    }

    // Prompts reach the fleet's collector only where an admin chose it: a user or project
    // value, or a session flag, cannot turn their export on.
    let prompts = "telemetry.export_prompts";
    let chosen_by = layers.source(prompts);
    if layers.get(prompts).and_then(|v| v.as_bool()) == Some(true) && is_user_choice(&chosen_by) {
        return Err(PolicyError::Refused(format!(
            "{prompts} = true (from {chosen_by}) is refused: only an admin can export prompts \
             (in managed_config.toml, an MDM profile or requirements)"
        )));
    }

    let non_empty = |key: &str| {
        layers
            .get(key)
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
    };
    if let Some(source) = &req.credential_exceptions_forbidden
        && non_empty("boundary.allow_read")
    {
        return Err(PolicyError::Refused(format!(
            "boundary.allow_read (from {}) would make credential paths readable, which {source} does not allow",
            layers.source("boundary.allow_read")
        )));
    }
    if let Some(source) = &req.weaker_sandbox_forbidden
        && non_empty("boundary.accept_weaker")
    {
        return Err(PolicyError::Refused(format!(
            "boundary.accept_weaker (from {}) would run with a weaker sandbox, which {source} does not allow",
            layers.source("boundary.accept_weaker")
        )));
    }
    let servers: Vec<String> = layers
        .get("mcp_servers")
        .and_then(|v| v.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    for name in &servers {
        let key = format!("mcp_servers.{name}");
        if !crate::config::valid_mcp_server_name(name) {
            return Err(PolicyError::Refused(format!(
                "{key} (from {}): an MCP server name uses letters, digits, `-` and single `_` (at most 32)",
                layers.source(&key)
            )));
        }
        if let Some(allowed) = &req.mcp_servers
            && !allowed.value.contains(name)
        {
            let listed = if allowed.value.is_empty() {
                "none".to_string()
            } else {
                allowed.value.join(", ")
            };
            return Err(PolicyError::Refused(format!(
                "MCP server `{name}` ({key} from {}) is not allowed by {}; allowed: {listed}",
                layers.source(&key),
                allowed.source
            )));
        }
    }
    if !req.deny_read.is_empty() {
        let mut list: Vec<toml::Value> = layers
            .get("boundary.deny_read")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        for path in &req.deny_read {
            list.push(path.value.display().to_string().into());
        }
        let source = req.deny_read[0].source.clone();
        layers.set("boundary.deny_read", toml::Value::Array(list), source);
    }
    Ok(())
}

/// The cached bundle, verified again on every read (the cache is the user's to edit).
fn read_cached_bundle(
    config: &BundleConfig,
    cache: &Path,
) -> Result<Option<RequirementsFile>, PolicyError> {
    match std::fs::read(cache) {
        Ok(bytes) => requirements::verify_bundle(config, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(PolicyError::Read {
            path: cache.to_path_buf(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests;
