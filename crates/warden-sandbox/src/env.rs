//! Environment scrubbing: secrets and code-injection variables never reach a
//! sandboxed process.

/// Names (upper-cased) containing one of these are removed.
const SECRET_MARKERS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
];

/// Variables that make a program load code chosen by whoever set them.
const INJECTION: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "PYTHONSTARTUP",
    "NODE_OPTIONS",
    "PERL5OPT",
    "RUBYOPT",
];

/// True when a variable of this name must not reach a sandboxed process.
pub fn is_sensitive(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    INJECTION.contains(&upper.as_str()) || SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

/// Remove sensitive variables from the command's environment (inherited or set), except
/// those named exactly in `allowed`.
pub fn scrub_environment(command: &mut std::process::Command, allowed: &[String]) {
    let inherited = std::env::vars_os().map(|(k, _)| k);
    let explicit: Vec<_> = command.get_envs().map(|(k, _)| k.to_owned()).collect();
    for name in inherited.chain(explicit) {
        let text = name.to_string_lossy();
        if is_sensitive(&text) && !allowed.iter().any(|a| *a == text) {
            command.env_remove(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_injection_variables_are_sensitive() {
        for name in [
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "LD_PRELOAD",
            "BASH_ENV",
            "DB_PASSWORD",
        ] {
            assert!(is_sensitive(name), "{name}");
        }
        for name in ["PATH", "HOME", "LANG", "TERM", "CARGO_HOME"] {
            assert!(!is_sensitive(name), "{name}");
        }
    }
}
