//! `warden admin validate FILE` (requirements, rules or a profile, with line and column on
//! errors) and `warden admin profile` (a configuration profile an MDM can push).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use warden_policy::PolicyError;
use warden_policy::requirements::{mdm, parse_requirements};
use warden_policy::rules::RulesLoader;
use warden_protocol::PolicySource;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Check a requirements file (.toml), a rules file (.rules) or a profile
    /// (.mobileconfig / .plist).
    Validate {
        /// A requirements file (.toml), a rules file (.rules) or a profile
        /// (.mobileconfig / .plist).
        file: PathBuf,
    },
    /// Print a configuration profile (XML) carrying these requirements for an MDM.
    Profile {
        /// The requirements (a requirements.toml) the profile carries.
        #[arg(long, value_name = "FILE")]
        requirements: PathBuf,
        /// Managed defaults (a config.toml users may override).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// `rules` reads rules files (`warden_rules::load_rules`).
pub fn run(command: AdminCommand, rules: RulesLoader) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Validate { file } => match validate(&file, rules) {
            Ok(summary) => {
                println!("{}: ok ({summary})", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        AdminCommand::Profile {
            requirements,
            config,
        } => {
            let text = read(&requirements)?;
            parse_requirements(&requirements.display().to_string(), &text)?;
            let config_text = match &config {
                Some(path) => {
                    let text = read(path)?;
                    check_config(path, &text)?;
                    Some(text)
                }
                None => None,
            };
            print!("{}", mdm::profile(&text, config_text.as_deref())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A managed config is checked against the config schema.
fn check_config(path: &Path, text: &str) -> Result<(), PolicyError> {
    warden_policy::config::parse_text(path, text).map(|_| ())
}

fn validate(file: &Path, load_rules: RulesLoader) -> anyhow::Result<String> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "rules" => {
            let text =
                String::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8 text"))?;
            let set = load_rules(&name, &text, PolicySource::UserRules { path: name.clone() })?;
            Ok(format!(
                "{} prefix rules, {} network rules",
                set.prefix_rules().len(),
                set.network.len()
            ))
        }
        "toml" => {
            let text =
                String::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8 text"))?;
            let file = parse_requirements(&name, &text)?;
            Ok(format!(
                "requirements: {} prefix rules",
                file.prefix_rules.len()
            ))
        }
        "mobileconfig" | "plist" => {
            let prefs = mdm::parse_plist(&name, &bytes)?;
            let mut parts = Vec::new();
            if let Some(text) = &prefs.requirements_toml {
                parse_requirements(&format!("{name} ({})", mdm::REQUIREMENTS_KEY), text)?;
                parts.push("requirements");
            }
            if let Some(text) = &prefs.config_toml {
                check_config(Path::new(&format!("{name} ({})", mdm::CONFIG_KEY)), text)?;
                parts.push("managed config");
            }
            if parts.is_empty() {
                anyhow::bail!(
                    "{name}: no {} or {} key",
                    mdm::REQUIREMENTS_KEY,
                    mdm::CONFIG_KEY
                );
            }
            Ok(parts.join(" and "))
        }
        other => anyhow::bail!(
            "{name}: unknown kind of file (.{other}); expected .toml (requirements), .rules or .mobileconfig"
        ),
    }
}
