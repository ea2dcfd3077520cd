//! "Always allow": append exact-command (or exact-host) allow rules to the user's
//! rules file.

use std::io::Write;
use std::path::Path;

use warden_protocol::{PolicySource, Verdict};

use super::{PrefixRule, RulesLoader};
use crate::PolicyError;
use crate::shell::{Role, analyze_argv};

/// Append one allow rule per program the command runs (its exact arguments) to `file`,
/// and return them so a running session can use them at once. The file must still load
/// (with `load`) afterwards.
pub fn append_allow_rules(
    file: &Path,
    argv: &[String],
    justification: &str,
    load: RulesLoader,
) -> Result<Vec<PrefixRule>, PolicyError> {
    // New rules go after the lines already in the file.
    let existing = std::fs::read_to_string(file)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let mut rules = Vec::new();
    let mut text = String::new();
    for (offset, (tokens, line)) in allow_rules(argv, justification).into_iter().enumerate() {
        text.push_str(&line);
        text.push('\n');
        let source = PolicySource::UserRules {
            path: file.display().to_string(),
        };
        if let Some(rule) = PrefixRule::new(
            tokens.into_iter().map(|t| vec![t]).collect(),
            Verdict::Allow,
            Some(justification.to_string()),
            source.at_line((existing + offset) as u32 + 1),
        ) {
            rules.push(rule);
        }
    }
    if rules.is_empty() {
        return Ok(rules);
    }
    let io = |error| PolicyError::Write {
        path: file.to_path_buf(),
        error,
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut handle = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(io)?;
    handle.write_all(text.as_bytes()).map_err(io)?;
    check(file, load)?;
    Ok(rules)
}

/// The whole file must still load: a rule Warden wrote is checked like any other.
fn check(file: &Path, load: RulesLoader) -> Result<(), PolicyError> {
    let all = std::fs::read_to_string(file).map_err(|error| PolicyError::Read {
        path: file.to_path_buf(),
        error,
    })?;
    let name = file.display().to_string();
    load(&name, &all, PolicySource::UserRules { path: name.clone() }).map(|_| ())
}

/// The rules an "always allow" of `argv` writes: for each program it runs, its exact
/// arguments and the rule's line as written.
pub fn allow_rules(argv: &[String], justification: &str) -> Vec<(Vec<String>, String)> {
    let quote = |t: &str| serde_json::to_string(t).unwrap_or_else(|_| "\"\"".into());
    analyze_argv(argv)
        .invocations
        .iter()
        .filter(|i| i.role == Role::Program)
        .map(|invocation| {
            let tokens: Vec<String> = invocation.argv();
            let quoted: Vec<String> = tokens.iter().map(|t| quote(t)).collect();
            let line = format!(
                "prefix_rule(pattern = [{}], decision = \"allow\", justification = {})",
                quoted.join(", "),
                quote(justification)
            );
            (tokens, line)
        })
        .collect()
}

/// The line `append_network_allow` writes for `host`.
pub fn network_allow_rule(host: &str, justification: &str) -> String {
    let quote = |t: &str| serde_json::to_string(t).unwrap_or_else(|_| "\"\"".into());
    format!(
        "network_rule(host = {}, decision = \"allow\", justification = {})",
        quote(host),
        quote(justification)
    )
}

/// Append `network_rule(host = HOST, decision = "allow")` to `file` and return the
/// source (file and line) of the new rule. The file must still load (with `load`)
/// afterwards.
pub fn append_network_allow(
    file: &Path,
    host: &str,
    justification: &str,
    load: RulesLoader,
) -> Result<PolicySource, PolicyError> {
    let source = write_network_allow(file, host, justification)?;
    check(file, load)?;
    Ok(source)
}

/// `append_network_allow` without loading the file afterwards, for a binary without
/// the rules language: its caller checks the file another way.
pub fn write_network_allow(
    file: &Path,
    host: &str,
    justification: &str,
) -> Result<PolicySource, PolicyError> {
    crate::network::HostPattern::parse(host).map_err(|e| PolicyError::Invalid(e.0))?;
    let io = |error| PolicyError::Write {
        path: file.to_path_buf(),
        error,
    };
    let existing = std::fs::read_to_string(file)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let line = format!("{}\n", network_allow_rule(host, justification));
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut handle| handle.write_all(line.as_bytes()))
        .map_err(io)?;
    let source = PolicySource::UserRules {
        path: file.display().to_string(),
    };
    Ok(source.at_line(existing as u32 + 1))
}
