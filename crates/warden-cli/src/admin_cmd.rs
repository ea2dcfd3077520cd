//! `warden admin validate FILE` (requirements, rules or a profile, with line and column on
//! errors), `warden admin profile` (a configuration profile an MDM can push), and
//! `warden admin keygen` / `warden admin sign` (signed requirements bundles).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use warden_policy::PolicyError;
use warden_policy::requirements::{
    BundleConfig, SignedBundle, mdm, parse_requirements, public_key_of, sign_bundle,
    signing_key_text, verify_bundle,
};
use warden_policy::rules::RulesLoader;
use warden_protocol::PolicySource;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Check a requirements file (.toml), a config file (`managed_config.toml`,
    /// `config.toml`), a rules file (.rules), a profile (.mobileconfig / .plist) or a
    /// signed bundle (.json).
    Validate {
        /// A requirements file (.toml), a rules file (.rules), a profile (.mobileconfig /
        /// .plist) or a signed bundle (.json, from `warden admin sign`).
        file: PathBuf,
        /// For a signed bundle: the public key it must verify with (the `[bundle]`
        /// section's `public_key`). Without it the signature is not checked.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
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
    /// Make a key pair for signing requirements bundles: the signing key goes to FILE
    /// (readable by you only; keep it off the fleet), the public key is printed with the
    /// `[bundle]` section that trusts it.
    Keygen {
        /// Where to write the signing key (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign a requirements file as a bundle for `[bundle] url` (checked first: a mistake
    /// is reported with its line and key, and nothing is signed).
    Sign {
        /// The requirements (a requirements.toml).
        requirements: PathBuf,
        /// The signing key `warden admin keygen` wrote.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Where to write the bundle (JSON); standard output without it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `rules` reads rules files (`warden_rules::load_rules`).
pub fn run(command: AdminCommand, rules: RulesLoader) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Validate { file, public_key } => match validate(&file, public_key, rules) {
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
        AdminCommand::Keygen { out } => keygen(&out),
        AdminCommand::Sign {
            requirements,
            key,
            out,
        } => {
            let text = read(&requirements)?;
            let key_text = read(&key)?;
            let bundle = sign_bundle(
                &requirements.display().to_string(),
                &text,
                &key.display().to_string(),
                &key_text,
            )?;
            let json = serde_json::to_string_pretty(&bundle)? + "\n";
            match out {
                Some(path) => {
                    std::fs::write(&path, json)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "signed {} into {}: serve it at the `[bundle] url`",
                        requirements.display(),
                        path.display()
                    );
                }
                None => print!("{json}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Write a new signing key to `out` (mode 0600, never over an existing file) and print its
/// public key and the `[bundle]` section that trusts it.
fn keygen(out: &Path) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let seed: [u8; 32] = rand::random();
    let text = signing_key_text(&seed);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("cannot create the signing key {}", out.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    let public = public_key_of(&out.display().to_string(), &text)?;
    println!(
        "signing key written to {} (keep it secret, off the fleet)",
        out.display()
    );
    println!("public key: {public}");
    println!();
    println!("# in /etc/warden/requirements.toml (or an MDM profile) on every machine:");
    println!("[bundle]");
    println!("url = \"https://config.example.com/warden/requirements.json\"");
    println!("public_key = \"{public}\"");
    Ok(ExitCode::SUCCESS)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A managed config is checked against the config schema.
fn check_config(path: &Path, text: &str) -> Result<(), PolicyError> {
    warden_policy::config::parse_text(path, text).map(|_| ())
}

fn validate(
    file: &Path,
    public_key: Option<String>,
    load_rules: RulesLoader,
) -> anyhow::Result<String> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "json" {
        return validate_bundle(&name, &bytes, public_key);
    }
    if public_key.is_some() {
        anyhow::bail!("{name}: --public-key is for a signed bundle (.json)");
    }
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
        // A config file (`managed_config.toml`, `config.toml`) against the config schema.
        "toml" if name.ends_with("config.toml") => {
            let text =
                String::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8 text"))?;
            check_config(file, &text)?;
            Ok("config".into())
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
            "{name}: unknown kind of file (.{other}); expected .toml (requirements), .rules, .mobileconfig or .json (a signed bundle)"
        ),
    }
}

/// A signed bundle: its requirements checked, and its signature when the key is given.
fn validate_bundle(name: &str, bytes: &[u8], public_key: Option<String>) -> anyhow::Result<String> {
    let bundle: SignedBundle = serde_json::from_slice(bytes)
        .with_context(|| format!("{name}: not a signed bundle (from `warden admin sign`)"))?;
    let Some(public_key) = public_key else {
        let file = parse_requirements(&format!("{name} (requirements)"), &bundle.requirements)?;
        return Ok(format!(
            "signed bundle, requirements: {} prefix rules; signature NOT checked (pass --public-key)",
            file.prefix_rules.len()
        ));
    };
    let config = BundleConfig {
        url: name.to_string(),
        public_key,
    };
    let file = verify_bundle(&config, bytes)?;
    Ok(format!(
        "signed bundle, signature verified, requirements: {} prefix rules",
        file.prefix_rules.len()
    ))
}
