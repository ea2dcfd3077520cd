//! `warden policy check` (what would happen to a command, and why) and `warden policy
//! show` (the effective configuration, each value's source and lock, the loaded rules).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use warden_policy::config::WardenPaths;
use warden_policy::layers::{self, EffectivePolicy, PolicyInputs};
use warden_policy::rules::RulesLoader;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Decide a command without running it; prints JSON.
    Check {
        /// More rules files (added to the user's and the project's).
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// More requirements files (added to the admin's, never replacing them).
        #[arg(long = "requirements", value_name = "FILE")]
        requirements: Vec<PathBuf>,
        /// The workspace (a trusted project's rules apply).
        #[arg(long, default_value = ".")]
        cwd: PathBuf,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Trust the project DIR is in (adding it to `trusted_projects`) and confirm its
    /// `.warden/` policy files as they are now: Warden applies a project's policy only as
    /// a person last confirmed it.
    Trust {
        /// A folder in the project (default: the current folder).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print the effective configuration with each value's source and lock.
    Show {
        /// The workspace (a trusted project's config and rules apply).
        #[arg(long, default_value = ".")]
        cwd: PathBuf,
        /// More requirements files (added to the admin's, never replacing them).
        #[arg(long = "requirements", value_name = "FILE")]
        requirements: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn resolve(
    overrides: Vec<String>,
    cwd: &std::path::Path,
    rules: Vec<PathBuf>,
    requirements: Vec<PathBuf>,
    language: RulesLoader,
) -> anyhow::Result<EffectivePolicy> {
    let mut inputs = PolicyInputs::new(WardenPaths::discover()?)?;
    inputs.rules = Some(language);
    inputs.overrides = overrides;
    inputs.workspace = cwd.canonicalize().ok();
    inputs.extra_rules = rules;
    inputs.extra_requirements.extend(requirements);
    let policy = layers::resolve(&inputs)?;
    for warning in &policy.warnings {
        eprintln!("warden: {warning}");
    }
    Ok(policy)
}

/// `language` reads rules files (`warden_rules::load_rules`).
pub fn run(
    overrides: Vec<String>,
    command: PolicyCommand,
    language: RulesLoader,
) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Check {
            rules,
            requirements,
            cwd,
            command,
        } => {
            let policy = resolve(overrides, &cwd, rules, requirements, language)?;
            let workspace = cwd.canonicalize().unwrap_or(cwd);
            let decision = policy.check(&command, &workspace);
            let reasons: Vec<_> = decision
                .reasons
                .iter()
                .map(|r| {
                    json!({
                        "rule": r.rule,
                        "source": r.source.to_string(),
                        "justification": r.justification,
                    })
                })
                .collect();
            let analysis = warden_policy::shell::analyze_argv(&command);
            let out = json!({
                "decision": decision.verdict,
                "reasons": reasons,
                "risk": decision.risk,
                "commands": analysis.invocations.iter().map(|i| i.argv()).collect::<Vec<_>>(),
                "unresolved": analysis.uncertain,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Trust { dir } => trust(overrides, &dir, language),
        PolicyCommand::Show {
            cwd,
            requirements,
            json,
        } => {
            let policy = resolve(overrides, &cwd, Vec::new(), requirements, language)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&show_json(&policy))?);
            } else {
                print!("{}", show_text(&policy));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `warden policy trust DIR`.
fn trust(
    overrides: Vec<String>,
    dir: &std::path::Path,
    language: RulesLoader,
) -> anyhow::Result<ExitCode> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{} does not exist", dir.display()))?;
    let paths = WardenPaths::discover()?;
    if warden_policy::config::add_trusted_project(&paths.config_file(), &dir)? {
        println!(
            "added {} to trusted_projects in {}",
            dir.display(),
            paths.config_file().display()
        );
    }
    let policy = resolve(overrides.clone(), &dir, Vec::new(), Vec::new(), language)?;
    let project = policy
        .project_policy
        .context("the project is still not trusted (is trusted_projects set by an admin layer?)")?;
    let files =
        warden_policy::project_trust::confirm(&paths, &project.root, warden_agent::now_ms())?;
    if files.is_empty() {
        println!(
            "trusted {}: it has no .warden policy files yet; any added later need confirming",
            project.root.display()
        );
    } else {
        println!(
            "trusted {} with its policy files as they are now:",
            project.root.display()
        );
        for (file, hash) in &files {
            println!("  {file}  sha256:{}", &hash[..16]);
        }
    }
    // Applied from now on: resolving again must take them.
    let policy = resolve(overrides, &dir, Vec::new(), Vec::new(), language)?;
    anyhow::ensure!(
        policy.trusted_project.is_some(),
        "the project policy was confirmed but is still not applied"
    );
    Ok(ExitCode::SUCCESS)
}

pub fn show_json(policy: &EffectivePolicy) -> serde_json::Value {
    let rules: Vec<_> = policy
        .rules
        .prefix_rules()
        .iter()
        .map(|r| {
            json!({
                "pattern": r.text,
                "decision": r.decision,
                "justification": r.justification,
                "source": r.source.to_string(),
            })
        })
        .collect();
    json!({
        "values": policy.values.iter().map(|v| json!({
            "key": v.key,
            "value": v.value,
            "source": v.source.to_string(),
            "lockedBy": v.locked_by.as_ref().map(ToString::to_string),
        })).collect::<Vec<_>>(),
        "requirementSources": policy.requirements.sources.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "ruleFiles": policy.rule_files,
        "rules": rules,
        "trustedProject": policy.trusted_project,
        "projectPolicy": policy.project_policy,
        "warnings": policy.warnings,
    })
}

fn show_text(policy: &EffectivePolicy) -> String {
    let mut out = String::new();
    let width = policy.values.iter().map(|v| v.key.len()).max().unwrap_or(0);
    for v in &policy.values {
        let lock = v
            .locked_by
            .as_ref()
            .map(|l| format!("  LOCKED by {l}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:width$} = {}  [{}]{lock}\n",
            v.key, v.value, v.source
        ));
    }
    out.push_str("\nadmin requirements:\n");
    if policy.requirements.sources.is_empty() {
        out.push_str("  (none)\n");
    }
    for source in &policy.requirements.sources {
        out.push_str(&format!("  {source}\n"));
    }
    out.push_str("\nrules:\n");
    if policy.rules.prefix_rules().is_empty() {
        out.push_str("  (none)\n");
    }
    for rule in policy.rules.prefix_rules() {
        out.push_str(&format!(
            "  {:9} {}  [{}]\n",
            format!("{:?}", rule.decision).to_lowercase(),
            rule.text,
            rule.source
        ));
    }
    for warning in &policy.warnings {
        out.push_str(&format!("\nWARNING: {warning}\n"));
    }
    out
}
