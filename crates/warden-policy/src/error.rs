//! Errors from loading configuration.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A config, rules or requirements file (or cached bundle) that cannot be read (a
    /// missing user config file is not an error). The I/O error is part of the message,
    /// not a separate cause, so a chain of causes prints it once.
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Warden's own write to a config or rules file failed.
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("override `-c {raw}`: {message}")]
    Override { raw: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("{file}: {message}")]
    Rules { file: String, message: String },
    #[error("{0}")]
    Requirements(String),
    /// A setting outside what an admin requirement allows.
    #[error("{0}")]
    Refused(String),
    /// A rules file to load, and no rules language in this binary (see `RulesLoader`).
    #[error("{path}: this binary cannot load rules files (no rules language linked in)")]
    NoRulesLanguage { path: PathBuf },
    #[error("cannot find a home directory for Warden's config; set WARDEN_HOME")]
    NoHome,
}

impl PolicyError {
    /// Stable code for the UI and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "config_read",
            Self::Write { .. } => "config_write",
            Self::Parse { .. } => "config_parse",
            Self::Override { .. } => "config_override",
            Self::Invalid(_) => "config_invalid",
            Self::Rules { .. } => "rules_invalid",
            Self::Requirements(_) => "requirements_invalid",
            Self::Refused(_) => "requirement_refused",
            Self::NoRulesLanguage { .. } => "rules_unsupported",
            Self::NoHome => "config_no_home",
        }
    }
}
