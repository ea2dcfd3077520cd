//! Reading the configuration's inputs: every file-system and environment access of
//! resolving a policy lives here (config layers, rules folders, the cached requirements
//! bundle, `WARDEN_HOME`, `WARDEN_EXTRA_REQUIREMENTS`); requirement sources are read by
//! `requirements::system` and `requirements::mdm`.

use std::path::{Path, PathBuf};

use warden_protocol::PolicySource;

use super::{EffectivePolicy, PolicyInputs, keys, user_rules_dir};
use crate::PolicyError;
use crate::config::WardenPaths;
use crate::requirements::{
    self, BundleConfig, Requirements, RequirementsFile, load_system_dir, mdm, parse_requirements,
};
use crate::rules::RuleSet;

impl WardenPaths {
    /// `$WARDEN_HOME` if set, else the platform's app dirs.
    pub fn discover() -> Result<Self, PolicyError> {
        if let Some(home) = std::env::var_os("WARDEN_HOME").filter(|h| !h.is_empty()) {
            let home = PathBuf::from(home);
            return Ok(Self {
                config_dir: home.clone(),
                data_dir: home,
            });
        }
        let dirs =
            directories::ProjectDirs::from("dev", "warden", "warden").ok_or(PolicyError::NoHome)?;
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }
}

/// `WARDEN_EXTRA_REQUIREMENTS=file1:file2` adds requirement files (tests, CI).
pub(super) fn extra_requirements_from_env() -> Vec<PathBuf> {
    std::env::var_os("WARDEN_EXTRA_REQUIREMENTS")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A config file as a table, checked against the schema; `None` when there is none.
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

/// The `.rules` files in a folder, in name order (none when it does not exist).
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

/// The layers below the user's and theirs, lowest first: the managed defaults file, an
/// MDM profile's managed config, the user's `config.toml`.
pub(super) fn admin_and_user_layers(
    inputs: &PolicyInputs,
) -> Result<Vec<(toml::Table, PolicySource)>, PolicyError> {
    let mut layers = Vec::new();
    let managed_file = inputs.system_dir.join("managed_config.toml");
    if let Some(layer) = read_layer(&managed_file)? {
        let path = managed_file.display().to_string();
        layers.push((layer, PolicySource::ManagedConfig { path }));
    }
    if let Some(text) = &inputs.managed.config_toml {
        let name = format!("MDM profile {}", mdm::DOMAIN);
        let layer = parse_layer(Path::new(&name), text)?;
        layers.push((layer, PolicySource::ManagedConfig { path: name }));
    }
    let user_file = inputs.paths.config_file();
    if let Some(layer) = read_layer(&user_file)? {
        let path = user_file.display().to_string();
        layers.push((layer, PolicySource::UserConfig { path }));
    }
    Ok(layers)
}

/// A trusted project's `.warden/config.toml`; a key a project may not set is an error
/// naming the file.
pub(super) fn project_layer(
    root: &Path,
) -> Result<Option<(toml::Table, PolicySource)>, PolicyError> {
    let file = root.join(".warden/config.toml");
    let Some(layer) = read_layer(&file)? else {
        return Ok(None);
    };
    for key in keys::PROJECT_FORBIDDEN {
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
    let path = file.display().to_string();
    Ok(Some((layer, PolicySource::ProjectConfig { path })))
}

/// Requirements from every source, most restrictive: `/etc/warden`, an MDM profile, the
/// signed bundle's last good copy, and added files. Returns the bundle to refresh.
pub(super) fn requirements(
    inputs: &PolicyInputs,
    warnings: &mut Vec<String>,
) -> Result<(Requirements, Option<BundleConfig>), PolicyError> {
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
    Ok((requirements, bundle))
}

/// Every rules file, in order (the user's, added ones, a trusted project's), then the
/// admin's rules; and the files read.
pub(super) fn rules(
    inputs: &PolicyInputs,
    project: Option<&Path>,
    requirements: &Requirements,
) -> Result<(RuleSet, Vec<String>), PolicyError> {
    let mut rules = RuleSet::default();
    let mut rule_files = Vec::new();
    let mut load = |files: Vec<PathBuf>, source: fn(String) -> PolicySource| {
        for file in files {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|error| PolicyError::Read {
                path: file.clone(),
                error,
            })?;
            rules.extend(load_rules_file(inputs, &file, &text, source(name.clone()))?);
            rule_files.push(name);
        }
        Ok::<(), PolicyError>(())
    };
    load(rules_in(&user_rules_dir(&inputs.paths)), |path| {
        PolicySource::UserRules { path }
    })?;
    load(inputs.extra_rules.clone(), |path| PolicySource::UserRules {
        path,
    })?;
    if let Some(project) = project {
        load(rules_in(&project.join(".warden/rules")), |path| {
            PolicySource::ProjectRules { path }
        })?;
    }
    rules.extend(requirements.rules.clone());
    Ok((rules, rule_files))
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
