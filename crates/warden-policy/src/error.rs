//! Errors from loading configuration.

use warden_protocol::ErrorCode;

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
    /// The signed requirements bundle could not be fetched or checked.
    #[error("requirements bundle {url}: {message}")]
    Bundle { url: String, message: String },
}

/// A value that does not parse or check (a host pattern, a decision word, an admin file's
/// ownership), saying what is wrong; callers add where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl From<String> for ValueError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl PolicyError {
    /// Stable code for the UI and scripts.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Read { .. } => ErrorCode::ConfigRead,
            Self::Write { .. } => ErrorCode::ConfigWrite,
            Self::Parse { .. } => ErrorCode::ConfigParse,
            Self::Override { .. } => ErrorCode::ConfigOverride,
            Self::Invalid(_) => ErrorCode::ConfigInvalid,
            Self::Rules { .. } => ErrorCode::RulesInvalid,
            Self::Requirements(_) => ErrorCode::RequirementsInvalid,
            Self::Refused(_) => ErrorCode::RequirementRefused,
            Self::NoRulesLanguage { .. } => ErrorCode::RulesUnsupported,
            Self::NoHome => ErrorCode::ConfigNoHome,
            Self::Bundle { .. } => ErrorCode::BundleFetch,
        }
    }
}

impl warden_protocol::Coded for PolicyError {
    fn code(&self) -> ErrorCode {
        PolicyError::code(self)
    }
}
