//! The configuration's schema: every setting, its type and its default. How layers of
//! it are read, stacked and held to admin requirements is `layers`; its text (parsing,
//! merging, overrides) is `text.rs`; writing the user's file is `write.rs`.
//!
//! Where things live: `$WARDEN_HOME` when set (config and data together), otherwise the
//! platform's app dirs (`~/.config/warden`, `~/.local/share/warden` on Linux).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use warden_protocol::{ApprovalPolicy, SandboxMode, WireApi};

/// Where Warden keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WardenPaths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl WardenPaths {
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn audit_db(&self) -> PathBuf {
        self.data_dir.join("audit.sqlite")
    }

    /// OAuth's working files (no secrets): the locks that serialise renewals between
    /// Warden processes, and the scopes servers asked for beyond a stored sign-in.
    pub fn oauth_dir(&self) -> PathBuf {
        self.data_dir.join("oauth")
    }
}

/// The model endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Base URL of an OpenAI-compatible API, including `/v1`.
    pub base_url: String,
    pub name: String,
    pub wire_api: WireApi,
    /// Headers sent with every model request (`OpenAI-Organization`, `OpenAI-Project`,
    /// a gateway's own). Admin requirements may lock them.
    #[serde(default, deserialize_with = "http::headers")]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Where the credential may come from: `any` (the keyring, then `OPENAI_API_KEY`),
    /// `keyring` (never the environment), `oauth` (a sign-in, `model.oauth`).
    #[serde(default)]
    pub credentials: ModelCredentials,
    /// The identity provider to sign in with when `credentials = "oauth"`.
    #[serde(default)]
    pub oauth: ModelOAuthConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".into(),
            name: "gpt-5".into(),
            wire_api: WireApi::Responses,
            headers: Default::default(),
            credentials: ModelCredentials::Any,
            oauth: ModelOAuthConfig::default(),
        }
    }
}

/// Where the model's credential may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ModelCredentials {
    #[default]
    Any,
    Keyring,
    Oauth,
}

impl ModelCredentials {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Keyring => "keyring",
            Self::Oauth => "oauth",
        }
    }
}

/// OAuth/OIDC sign-in for the model (an LLM gateway behind the company's identity
/// provider): authorization code with PKCE, the token kept in the OS keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ModelOAuthConfig {
    /// The identity provider's issuer URL (its metadata is discovered from it):
    /// `https://`, or `http://` to this machine.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "http::token_url"
    )]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "http::scopes")]
    pub scopes: Vec<String>,
}

/// Limits for the `shell` tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellConfig {
    /// Default timeout per command, in milliseconds.
    pub timeout_ms: u64,
    /// Bytes of output kept for the model (head and tail).
    pub output_cap_bytes: usize,
}

/// The local audit store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Delete events older than this many days (whole chain prefixes, anchored) when
    /// Warden starts. Absent: keep everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// OpenTelemetry log export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Collector endpoint, e.g. `http://127.0.0.1:4318` (HTTP) or `http://127.0.0.1:4317`
    /// (gRPC). Absent: no export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// `http` (protobuf over HTTP) or `grpc`.
    pub otlp_protocol: String,
    /// Extra headers sent to the collector.
    #[serde(default, deserialize_with = "http::headers")]
    pub otlp_headers: std::collections::BTreeMap<String, String>,
    /// PEM file of the certificate authorities to trust for an `https://` endpoint,
    /// instead of the system's (a private collector's CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_ca_file: Option<PathBuf>,
    /// PEM certificate (chain) Warden presents to a collector that requires client
    /// certificates (mutual TLS); needs `otlp_client_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_client_cert: Option<PathBuf>,
    /// The PEM private key of `otlp_client_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_client_key: Option<PathBuf>,
    /// Export the text of user prompts (otherwise `[REDACTED:prompt]`).
    pub export_prompts: bool,
    /// Warn when this many events wait for the collector.
    pub backlog_warning: u64,
    /// Most events that may wait for the collector. Past it the oldest are skipped
    /// (never sent, kept in the local store, the gap recorded and shown in Settings), so
    /// a collector gone for good does not stop retention. 0: no cap.
    pub backlog_cap: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_protocol: "http".into(),
            otlp_headers: Default::default(),
            otlp_ca_file: None,
            otlp_client_cert: None,
            otlp_client_key: None,
            export_prompts: false,
            backlog_warning: 100_000,
            backlog_cap: 5_000_000,
        }
    }
}

/// How the sandbox treats credentials, the environment and missing kernel layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BoundaryConfig {
    /// More paths nobody inside the sandbox may read (`~/` allowed).
    #[serde(default)]
    pub deny_read: Vec<PathBuf>,
    /// Default credential paths to make readable again.
    #[serde(default)]
    pub allow_read: Vec<PathBuf>,
    /// Sensitive environment variables to pass through, by exact name.
    #[serde(default)]
    pub allow_env: Vec<String>,
    /// Missing kernel layers to run without, by name (`no-namespaces`, `old-landlock`).
    #[serde(default)]
    pub accept_weaker: Vec<String>,
}

/// An MCP server the agent uses in each session: a local program over stdio (`command`),
/// started inside the same boundary as its commands (sandbox, scrubbed environment,
/// network only through the proxy), or a remote server over Streamable HTTP (`url`),
/// signed in to with OAuth where it asks. Its tools are offered to the model as
/// `mcp__SERVER__TOOL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to run (looked up on `PATH`), for a local server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables set for the server (after scrubbing).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// A remote server's endpoint (`https://…/mcp`; `http://` only on loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How Warden signs in to a remote server that asks for OAuth.
    #[serde(default)]
    pub oauth: McpOAuthConfig,
    /// `ask`: every tool call is an approval; `allow`: calls run without asking;
    /// `deny`: calls are refused. The default for tools `tools` does not name.
    #[serde(default)]
    pub approval: McpApproval,
    /// Per tool (by the server's own name): its approval, over the server's.
    #[serde(default)]
    pub tools: std::collections::BTreeMap<String, McpToolConfig>,
    /// Seconds to wait for the server to start and list its tools.
    #[serde(default = "McpServerConfig::default_startup_timeout")]
    pub startup_timeout_secs: u64,
    /// Seconds one tool call may take.
    #[serde(default = "McpServerConfig::default_tool_timeout")]
    pub tool_timeout_secs: u64,
}

impl McpServerConfig {
    fn default_startup_timeout() -> u64 {
        20
    }

    fn default_tool_timeout() -> u64 {
        60
    }

    /// A local server over stdio.
    pub fn local(command: impl Into<String>) -> Self {
        Self {
            command: Some(command.into()),
            args: Vec::new(),
            env: Default::default(),
            url: None,
            oauth: McpOAuthConfig::default(),
            approval: McpApproval::Ask,
            tools: Default::default(),
            startup_timeout_secs: Self::default_startup_timeout(),
            tool_timeout_secs: Self::default_tool_timeout(),
        }
    }

    /// The approval for one of its tools, and the setting that gave it
    /// (`mcp_servers.NAME.tools.TOOL.approval`, or the server's `mcp_servers.NAME`).
    pub fn tool_approval(&self, server: &str, tool: &str) -> (McpApproval, String) {
        match self.tools.get(tool) {
            Some(own) => (
                own.approval,
                format!("mcp_servers.{server}.tools.{tool}.approval"),
            ),
            None => (self.approval, format!("mcp_servers.{server}.approval")),
        }
    }
}

/// OAuth for a remote MCP server. Without a `client_id`, Warden registers itself with
/// the authorization server (dynamic client registration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct McpOAuthConfig {
    /// A client id registered in advance with the authorization server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Scopes to ask for (empty: what the server advertises).
    #[serde(default, deserialize_with = "http::scopes")]
    pub scopes: Vec<String>,
}

/// One tool's own setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpToolConfig {
    pub approval: McpApproval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum McpApproval {
    Allow,
    #[default]
    Ask,
    Deny,
}

impl McpApproval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Deny => "deny",
        }
    }
}

/// Whether `name` may name an MCP server: it becomes part of the tool names the model
/// sees (`mcp__NAME__TOOL`), so letters, digits, `-` and single `_` only.
pub fn valid_mcp_server_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && !name.contains("__")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// How sandboxed commands reach the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// `proxy`: only through Warden's egress proxy, host by host; `deny`: nothing.
    pub mode: NetworkMode,
    /// Hosts allowed without asking (`example.com`, `*.example.com`, optional `:port`).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Hosts always refused.
    #[serde(default)]
    pub deny: Vec<String>,
    /// What happens to a host no rule names: `ask` or `deny`.
    pub unknown: UnknownHosts,
    /// Seconds an ask waits for an answer before it counts as a denial.
    pub ask_timeout_secs: u64,
    /// Seconds a client has to send its request head (or SOCKS handshake, or TLS hello)
    /// before the proxy answers 408 and frees the slot.
    pub header_timeout_secs: u64,
    /// Non-public addresses or networks (`10.0.0.0/8`, `127.0.0.2`) the proxy may
    /// connect to; every other loopback, private, link-local or metadata address is
    /// refused whatever the host rules say.
    #[serde(default)]
    pub allow_private: Vec<String>,
    /// Names the proxy resolves to fixed addresses instead of asking DNS, like
    /// `/etc/hosts` (`{ "git.corp.example" = ["10.1.2.3"] }`).
    #[serde(default)]
    pub hosts: std::collections::BTreeMap<String, Vec<String>>,
    /// Ports whose tunnels must begin with a TLS hello naming the requested host.
    pub tls_ports: Vec<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    Proxy,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownHosts {
    Ask,
    Deny,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            mode: NetworkMode::Proxy,
            allow: Vec::new(),
            deny: Vec::new(),
            unknown: UnknownHosts::Ask,
            ask_timeout_secs: 60,
            header_timeout_secs: 10,
            allow_private: Vec::new(),
            hosts: Default::default(),
            tls_ports: vec![443],
        }
    }
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub model: ModelConfig,
    pub sandbox: SandboxMode,
    pub approval: ApprovalPolicy,
    /// Extra folders the sandbox may write to, beyond the workspace and tmp.
    pub writable_roots: Vec<PathBuf>,
    pub shell: ShellConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub boundary: BoundaryConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    /// Auto-review: which tiers answer questions (off, rules, model) and the reviewer
    /// model's settings.
    #[serde(default)]
    pub auto_review: AutoReviewConfig,
    /// Security triage of endpoint alerts: its model and time limits.
    #[serde(default)]
    pub triage: TriageConfig,
    /// Per-category approval settings, applied on top of `approval`.
    #[serde(default)]
    pub approvals: ApprovalCategories,
    /// Projects whose `.warden/config.toml` and `.warden/rules/` are read (user config only).
    #[serde(default)]
    pub trusted_projects: Vec<PathBuf>,
    /// MCP servers by name (letters, digits, `-`, `_`).
    #[serde(default)]
    pub mcp_servers: std::collections::BTreeMap<String, McpServerConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            sandbox: SandboxMode::WorkspaceWrite,
            approval: ApprovalPolicy::Untrusted,
            writable_roots: Vec::new(),
            shell: ShellConfig {
                timeout_ms: 120_000,
                output_cap_bytes: 16 * 1024,
            },
            audit: AuditConfig::default(),
            telemetry: TelemetryConfig::default(),
            boundary: BoundaryConfig::default(),
            network: NetworkConfig::default(),
            auto_review: AutoReviewConfig::default(),
            triage: TriageConfig::default(),
            approvals: ApprovalCategories::default(),
            trusted_projects: Vec::new(),
            mcp_servers: Default::default(),
        }
    }
}

/// Whether each kind of question may reach a person. `ask` follows the approval policy
/// (and auto-review); `deny` refuses that kind of request without asking, whatever the
/// approval policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ApprovalCategories {
    /// Commands a rule or the approval policy prompts for.
    #[serde(default)]
    pub commands: CategoryApproval,
    /// Rerunning a command with more access after the sandbox blocked a write.
    #[serde(default)]
    pub escalation: CategoryApproval,
    /// Connections to hosts no network rule covers.
    #[serde(default)]
    pub network: CategoryApproval,
    /// Edits to sensitive files in the workspace (CI workflows, git hooks and config,
    /// shell start-up files, package manifests' scripts, build scripts, `.warden/`):
    /// `ask` makes them questions, `allow` lets them through like other workspace edits.
    #[serde(default)]
    pub sensitive_edits: SensitiveEdits,
}

/// `[triage]`: how alerts are analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    /// `model` (the triage model, falling back to the rules when it fails) or `rules`.
    pub analysis: TriageAnalysisMode,
    /// How long the model may take.
    pub timeout_secs: u64,
    /// Minutes either side of an alert's time to look for sessions.
    pub window_minutes: u32,
    /// The triage model; each unset field is the session model's.
    pub model: ReviewerModelConfig,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            analysis: TriageAnalysisMode::Model,
            timeout_secs: 60,
            window_minutes: 10,
            model: ReviewerModelConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TriageAnalysisMode {
    #[default]
    Model,
    Rules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SensitiveEdits {
    #[default]
    Ask,
    Allow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CategoryApproval {
    #[default]
    Ask,
    Deny,
}

mod auto_review;
pub mod http;
mod text;
mod write;

pub(crate) use auto_review::as_table as auto_review_as_table;
pub use auto_review::{AutoReviewConfig, ReviewerModelConfig};

#[cfg(test)]
use crate::PolicyError;
pub use text::parse_text;
pub(crate) use text::{apply_override, merge, to_table};
pub(crate) use write::write_atomically;
pub use write::{add_trusted_project, save_auto_review, save_model, save_section};

#[cfg(test)]
mod tests;
