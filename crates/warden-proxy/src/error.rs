//! Errors from setting up the egress proxy.

use warden_protocol::ErrorCode;

/// A `[network]` setting (or a rule's host) the proxy cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The setting's key (`network.allow_private[2]`) and what is wrong with it.
    #[error("{key}: {message}")]
    Setting { key: String, message: String },
    /// An address or network that does not parse (`10.0.0.0/33`).
    #[error("{0}")]
    Address(String),
}

impl ProxyError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Setting { .. } | Self::Address(_) => ErrorCode::ProxyConfig,
        }
    }

    pub(crate) fn setting(key: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Setting {
            key: key.into(),
            message: message.to_string(),
        }
    }
}

impl warden_protocol::Coded for ProxyError {
    fn code(&self) -> ErrorCode {
        ProxyError::code(self)
    }
}
