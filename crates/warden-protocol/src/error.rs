//! Error codes: every code any part of Warden can put in front of the UI, one enum, so
//! the UI branches on a closed set (exported to TypeScript as a union) and never on a
//! message's text. Each library crate's error enum says which of these it is
//! (`Coded::code`); `ApiError` is built from any coded error in one place (`From`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why a call failed, as the UI branches on it. Snake case on the wire
/// (`model_unreachable`).
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Configuration, requirements and rules (warden-policy).
    ConfigRead,
    ConfigWrite,
    ConfigParse,
    ConfigOverride,
    ConfigInvalid,
    ConfigNoHome,
    RulesInvalid,
    RulesUnsupported,
    RequirementsInvalid,
    RequirementRefused,
    BundleFetch,
    // The boundary (warden-sandbox).
    SandboxUnsupported,
    SandboxLandlock,
    SandboxSeccomp,
    SandboxWritableRoot,
    SandboxWeaker,
    SandboxSpawn,
    // The egress proxy (warden-proxy).
    ProxyConfig,
    // The audit store (warden-audit).
    AuditOpen,
    AuditCorrupt,
    AuditQuery,
    AuditDecode,
    AuditUnknownSession,
    AuditWrite,
    AuditWriterStopped,
    AuditBusy,
    AuditWitness,
    AuditExporter,
    /// An event whose text could not be kept once secrets were redacted from it.
    Redacted,
    // The model (warden-agent).
    ModelClient,
    ModelUnreachable,
    ModelUnauthorized,
    ModelNotFound,
    ModelRateLimited,
    ModelServerError,
    ModelRejected,
    ModelBadResponse,
    ModelStream,
    ModelReportedError,
    /// The OS keyring could not be used.
    Keyring,
    // The host and its API (warden-agent).
    WorkspaceMissing,
    SessionNotRunning,
    SettingsInvalid,
    SettingsOverridden,
    /// A sign-in (OAuth) could not be started or did not complete.
    SignInFailed,
    CommandEmpty,
    /// An endpoint alert given to triage could not be read.
    AlertInvalid,
    /// An insights period (`--since`, `--until`) could not be read.
    PeriodInvalid,
    /// A suggestion to apply names no command or host a rule can allow.
    SuggestionInvalid,
    ExportFailed,
    ProjectNotTrusted,
    BadParams,
    UnknownMethod,
    Internal,
    // `warden serve`'s guards.
    /// The request was not addressed to the loopback address (DNS rebinding).
    BadHost,
    /// A browser request from another origin.
    BadOrigin,
    /// No bearer token, or the wrong one.
    Unauthorized,
    /// The request body is not JSON.
    BadJson,
    // Set by the UI itself.
    /// The UI could not reach the core at all.
    Transport,
    /// `warden serve` did not answer (it stopped, or the network is down).
    Unreachable,
    /// The start form was sent without a task.
    TaskMissing,
}

impl ErrorCode {
    /// The code as it is on the wire.
    pub fn as_str(self) -> &'static str {
        // Spelled out so `as_str` needs no allocation; a test holds it to serde's names.
        match self {
            Self::ConfigRead => "config_read",
            Self::ConfigWrite => "config_write",
            Self::ConfigParse => "config_parse",
            Self::ConfigOverride => "config_override",
            Self::ConfigInvalid => "config_invalid",
            Self::ConfigNoHome => "config_no_home",
            Self::RulesInvalid => "rules_invalid",
            Self::RulesUnsupported => "rules_unsupported",
            Self::RequirementsInvalid => "requirements_invalid",
            Self::RequirementRefused => "requirement_refused",
            Self::BundleFetch => "bundle_fetch",
            Self::SandboxUnsupported => "sandbox_unsupported",
            Self::SandboxLandlock => "sandbox_landlock",
            Self::SandboxSeccomp => "sandbox_seccomp",
            Self::SandboxWritableRoot => "sandbox_writable_root",
            Self::SandboxWeaker => "sandbox_weaker",
            Self::SandboxSpawn => "sandbox_spawn",
            Self::ProxyConfig => "proxy_config",
            Self::AuditOpen => "audit_open",
            Self::AuditCorrupt => "audit_corrupt",
            Self::AuditQuery => "audit_query",
            Self::AuditDecode => "audit_decode",
            Self::AuditUnknownSession => "audit_unknown_session",
            Self::AuditWrite => "audit_write",
            Self::AuditWriterStopped => "audit_writer_stopped",
            Self::AuditBusy => "audit_busy",
            Self::AuditWitness => "audit_witness",
            Self::AuditExporter => "audit_exporter",
            Self::Redacted => "redacted",
            Self::ModelClient => "model_client",
            Self::ModelUnreachable => "model_unreachable",
            Self::ModelUnauthorized => "model_unauthorized",
            Self::ModelNotFound => "model_not_found",
            Self::ModelRateLimited => "model_rate_limited",
            Self::ModelServerError => "model_server_error",
            Self::ModelRejected => "model_rejected",
            Self::ModelBadResponse => "model_bad_response",
            Self::ModelStream => "model_stream",
            Self::ModelReportedError => "model_reported_error",
            Self::Keyring => "keyring",
            Self::WorkspaceMissing => "workspace_missing",
            Self::SessionNotRunning => "session_not_running",
            Self::SettingsInvalid => "settings_invalid",
            Self::SettingsOverridden => "settings_overridden",
            Self::SignInFailed => "sign_in_failed",
            Self::CommandEmpty => "command_empty",
            Self::AlertInvalid => "alert_invalid",
            Self::PeriodInvalid => "period_invalid",
            Self::SuggestionInvalid => "suggestion_invalid",
            Self::ExportFailed => "export_failed",
            Self::ProjectNotTrusted => "project_not_trusted",
            Self::BadParams => "bad_params",
            Self::UnknownMethod => "unknown_method",
            Self::Internal => "internal",
            Self::BadHost => "bad_host",
            Self::BadOrigin => "bad_origin",
            Self::Unauthorized => "unauthorized",
            Self::BadJson => "bad_json",
            Self::Transport => "transport",
            Self::Unreachable => "unreachable",
            Self::TaskMissing => "task_missing",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code equals its wire spelling (`code == "audit_busy"`).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// An error that knows its code: every library crate's error enum is one.
pub trait Coded: std::fmt::Display {
    fn code(&self) -> ErrorCode;
}

/// The single error shape that crosses into the UI. The UI branches on `code`.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The one place a typed error becomes what the UI sees: its code and its message.
impl<E: Coded> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` spells each code as serde does on the wire.
    #[test]
    fn every_code_is_spelled_as_on_the_wire() {
        let text = crate::typescript::error_code_union();
        let mut n = 0;
        for code in text.split('|').map(|c| c.trim().trim_matches('"')) {
            let parsed: ErrorCode = serde_json::from_value(serde_json::json!(code)).unwrap();
            assert_eq!(parsed.as_str(), code);
            n += 1;
        }
        assert!(n > 40, "{n}");
    }
}
