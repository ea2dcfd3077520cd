//! "Always allow": append exact-command (or exact-host) allow rules to the user's
//! rules file.

use std::io::Write;
use std::path::Path;

use warden_protocol::{PolicySource, Verdict};

use super::PrefixRule;
use crate::PolicyError;
use crate::shell::{Role, analyze_argv};

/// Append one allow rule per program the command runs (its exact arguments) to `file`,
/// and return them so a running session can use them at once.
pub fn append_allow_rules(
    file: &Path,
    argv: &[String],
    justification: &str,
) -> Result<Vec<PrefixRule>, PolicyError> {
    let analysis = analyze_argv(argv);
    // New rules go after the lines already in the file.
    let existing = std::fs::read_to_string(file)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let mut rules = Vec::new();
    let mut text = String::new();
    for invocation in analysis
        .invocations
        .iter()
        .filter(|i| i.role == Role::Program)
    {
        let tokens: Vec<String> = invocation.argv();
        let quoted: Vec<String> = tokens
            .iter()
            .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "\"\"".into()))
            .collect();
        let line = (existing + text.lines().count()) as u32;
        text.push_str(&format!(
            "prefix_rule(pattern = [{}], decision = \"allow\", justification = {})\n",
            quoted.join(", "),
            serde_json::to_string(justification).unwrap_or_else(|_| "\"\"".into())
        ));
        let source = PolicySource::UserRules {
            path: file.display().to_string(),
        };
        if let Some(rule) = PrefixRule::new(
            tokens.into_iter().map(|t| vec![t]).collect(),
            Verdict::Allow,
            Some(justification.to_string()),
            source.at_line(line + 1),
        ) {
            rules.push(rule);
        }
    }
    if rules.is_empty() {
        return Ok(rules);
    }
    let io = |source| PolicyError::Read {
        path: file.to_path_buf(),
        source,
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
    // The file must still load: a rule Warden wrote is checked like any other.
    let all = std::fs::read_to_string(file).map_err(io)?;
    super::load_rules(
        &file.display().to_string(),
        &all,
        PolicySource::UserRules {
            path: file.display().to_string(),
        },
    )?;
    Ok(rules)
}

/// Append `network_rule(host = HOST, decision = "allow")` to `file` and return the
/// source (file and line) of the new rule. The file must still load afterwards.
pub fn append_network_allow(
    file: &Path,
    host: &str,
    justification: &str,
) -> Result<PolicySource, PolicyError> {
    crate::network::HostPattern::parse(host).map_err(PolicyError::Invalid)?;
    let io = |source| PolicyError::Read {
        path: file.to_path_buf(),
        source,
    };
    let existing = std::fs::read_to_string(file)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let quote = |t: &str| serde_json::to_string(t).unwrap_or_else(|_| "\"\"".into());
    let line = format!(
        "network_rule(host = {}, decision = \"allow\", justification = {})\n",
        quote(host),
        quote(justification)
    );
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
    let all = std::fs::read_to_string(file).map_err(io)?;
    super::load_rules(&file.display().to_string(), &all, source.clone())?;
    Ok(source.at_line(existing as u32 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_rules_load_and_allow_exactly_that_command() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules/default.rules");
        let argv: Vec<String> = ["bash", "-lc", "npm test -- --grep \"a b\""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rules = append_allow_rules(&file, &argv, "always allowed by the user").unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].text, "npm test -- --grep a b");
        let text = std::fs::read_to_string(&file).unwrap();
        let set = super::super::load_rules("f", &text, PolicySource::BuiltIn).unwrap();
        let again = analyze_argv(&argv);
        let npm = again.invocations.iter().find(|i| i.name == "npm").unwrap();
        assert_eq!(set.matching(npm).len(), 1);
        let again = append_allow_rules(&file, &argv, "always allowed by the user").unwrap();
        assert_eq!(again[0].source.location(), format!("{}:2", file.display()));
    }
}
