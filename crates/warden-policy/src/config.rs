//! Configuration layers: built-in defaults, the user's `config.toml`, then `-c KEY=VALUE`
//! overrides. Session flags are applied by the caller on the result.
//!
//! Where things live: `$WARDEN_HOME` when set (config and data together), otherwise the
//! platform's app dirs (`~/.config/warden`, `~/.local/share/warden` on Linux).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_protocol::{ApprovalPolicy, SandboxMode, WireApi};

use crate::PolicyError;
use crate::toml_place::Placed;

/// Where Warden keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WardenPaths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl WardenPaths {
    /// `$WARDEN_HOME` if set, else the platform's app dirs.
    pub fn discover() -> Result<Self, PolicyError> {
        if let Some(home) = std::env::var_os("WARDEN_HOME").filter(|h| !h.is_empty()) {
            let home = PathBuf::from(home);
            return Ok(Self {
                config_dir: home.clone(),
                data_dir: home,
            });
        }
        let dirs =
            directories::ProjectDirs::from("dev", "warden", "warden").ok_or(PolicyError::NoHome)?;
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn audit_db(&self) -> PathBuf {
        self.data_dir.join("audit.sqlite")
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
    #[serde(default)]
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

/// An MCP server the agent starts for each session, over stdio, inside the same
/// boundary as its commands (sandbox, scrubbed environment, network only through the
/// proxy). Its tools are offered to the model as `mcp__SERVER__TOOL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to run (looked up on `PATH`).
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables set for the server (after scrubbing).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// `ask`: every tool call is an approval; `allow`: calls run without asking.
    #[serde(default)]
    pub approval: McpApproval,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum McpApproval {
    #[default]
    Ask,
    Allow,
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
    /// Let the deterministic reviewer approve low-risk prompts without asking.
    #[serde(default)]
    pub auto_review: bool,
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
            model: ModelConfig {
                base_url: "https://api.openai.com/v1".into(),
                name: "gpt-5".into(),
                wire_api: WireApi::Responses,
            },
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
            auto_review: false,
            approvals: ApprovalCategories::default(),
            trusted_projects: Vec::new(),
            mcp_servers: Default::default(),
        }
    }
}

impl Config {
    /// Why questions about unknown hosts go to nobody, when they do not: the approval
    /// policy `never` or `approvals.network = "deny"`.
    pub fn network_questions_refused(&self) -> Option<&'static str> {
        if self.approval == ApprovalPolicy::Never {
            Some("the approval policy is `never`")
        } else if self.approvals.network == CategoryApproval::Deny {
            Some("approvals.network is `deny`")
        } else {
            None
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CategoryApproval {
    #[default]
    Ask,
    Deny,
}

/// Load defaults, then the user file at `config_file` (if present), then `overrides`
/// (`KEY=VALUE` with a dotted key and a TOML value; bare words are strings).
pub fn load(config_file: &Path, overrides: &[String]) -> Result<Config, PolicyError> {
    let mut merged = to_table(&Config::default())?;
    if config_file.exists() {
        let text = std::fs::read_to_string(config_file).map_err(|error| PolicyError::Read {
            path: config_file.to_path_buf(),
            error,
        })?;
        // The file is checked on its own first, so errors name the file's own line.
        merge(&mut merged, parse_text(config_file, &text)?);
    }
    for raw in overrides {
        apply_override(&mut merged, raw)?;
    }
    // Errors left here come from overrides (the file was checked on its own above).
    crate::toml_place::deserialize(merged, "").map_err(|e| PolicyError::Invalid(e.to_string()))
}

/// Parse a config file's text and check it against the schema (unknown keys, wrong
/// types), naming the file in errors.
pub fn parse_text(path: &Path, text: &str) -> Result<toml::Table, PolicyError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| PolicyError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_partial(&table, text).map_err(|placed| PolicyError::Parse {
        path: path.to_path_buf(),
        message: placed.to_string(),
    })?;
    Ok(table)
}

/// Add `project` to `trusted_projects` in the user file, keeping every other setting in it.
/// Returns false when it (or a folder above it) is listed already.
pub fn add_trusted_project(config_file: &Path, project: &Path) -> Result<bool, PolicyError> {
    let mut table = read_user_table(config_file)?;
    let listed = table
        .get("trusted_projects")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let covered = listed.iter().filter_map(|v| v.as_str()).any(|t| {
        Path::new(t)
            .canonicalize()
            .is_ok_and(|t| project.starts_with(t))
    });
    if covered {
        return Ok(false);
    }
    let mut listed = listed;
    listed.push(toml::Value::String(project.display().to_string()));
    table.insert("trusted_projects".into(), toml::Value::Array(listed));
    let text = toml::to_string_pretty(&table).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    write_atomically(config_file, text.as_bytes())?;
    Ok(true)
}

fn read_user_table(config_file: &Path) -> Result<toml::Table, PolicyError> {
    match std::fs::read_to_string(config_file) {
        Ok(text) => toml::from_str(&text).map_err(|e| PolicyError::Parse {
            path: config_file.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(error) => Err(PolicyError::Read {
            path: config_file.to_path_buf(),
            error,
        }),
    }
}

/// Write the model section into the user file, keeping every other setting in it.
pub fn save_model(config_file: &Path, model: &ModelConfig) -> Result<(), PolicyError> {
    let mut table: toml::Table = match std::fs::read_to_string(config_file) {
        Ok(text) => toml::from_str(&text).map_err(|e| PolicyError::Parse {
            path: config_file.to_path_buf(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(error) => {
            return Err(PolicyError::Read {
                path: config_file.to_path_buf(),
                error,
            });
        }
    };
    let model_value =
        toml::Value::try_from(model).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    table.insert("model".into(), model_value);
    let text = toml::to_string_pretty(&table).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    if let Some(dir) = config_file.parent() {
        std::fs::create_dir_all(dir).map_err(|error| PolicyError::Write {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    std::fs::write(config_file, text).map_err(|error| PolicyError::Write {
        path: config_file.to_path_buf(),
        error,
    })
}

/// Write `bytes` to `file` through a temporary file beside it and a rename, so a reader
/// never sees half a file; makes the folder if needed.
pub(crate) fn write_atomically(file: &Path, bytes: &[u8]) -> Result<(), PolicyError> {
    let write_error = |path: &Path, error| PolicyError::Write {
        path: path.to_path_buf(),
        error,
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    }
    let mut temp = file.as_os_str().to_os_string();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes).map_err(|e| write_error(&temp, e))?;
    std::fs::rename(&temp, file).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        write_error(file, e)
    })
}

pub(crate) fn to_table(config: &Config) -> Result<toml::Table, PolicyError> {
    match toml::Value::try_from(config) {
        Ok(toml::Value::Table(t)) => Ok(t),
        Ok(_) => Err(PolicyError::Invalid("defaults are not a table".into())),
        Err(e) => Err(PolicyError::Invalid(e.to_string())),
    }
}

/// Check a partial file against the schema: unknown keys and wrong types are errors.
/// `text` is the file `user` was parsed from (for the line), empty for overrides.
pub(crate) fn check_partial(user: &toml::Table, text: &str) -> Result<(), Placed> {
    let mut full = to_table(&Config::default()).map_err(|e| Placed {
        key: String::new(),
        line: None,
        message: e.to_string(),
    })?;
    merge(&mut full, user.clone());
    crate::toml_place::deserialize::<Config>(full, text).map(|_| ())
}

pub(crate) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

pub(crate) fn apply_override(table: &mut toml::Table, raw: &str) -> Result<(), PolicyError> {
    let err = |message: String| PolicyError::Override {
        raw: raw.to_string(),
        message,
    };
    let (key, value) = raw.split_once('=').ok_or_else(|| {
        err("expected KEY=VALUE, e.g. model.base_url=http://127.0.0.1:8080/v1".into())
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(err(format!("`{key}` is not a dotted key")));
    }
    // A TOML value if it parses as one, else the raw text as a string.
    let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut cursor = &mut *table;
    let mut created = false;
    for part in parts {
        // Tables keyed by name (`mcp_servers.NAME`) start empty: make the entry.
        if !cursor.contains_key(part) {
            created = true;
        }
        cursor = match cursor
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            toml::Value::Table(t) => t,
            _ => return Err(err(format!("unknown key `{key}`"))),
        };
    }
    let known = cursor.contains_key(last) && !created;
    cursor.insert(last.to_string(), value);
    // Optional keys are absent from the defaults: accept them if the schema does. A new
    // named entry may still miss fields that later overrides set; the load checks those.
    // A known key's value is checked here too, as a later layer (e.g. `--sandbox`) may
    // replace it before the load would see it.
    let Err(placed) = check_partial(table, "") else {
        return Ok(());
    };
    let incomplete_entry = created && placed.message.starts_with("missing field");
    if known && placed.key == key {
        Err(err(placed.message))
    } else if !known && !incomplete_entry {
        Err(err(format!("unknown key `{key}`")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "approval = \"on-request\"\n[model]\nname = \"llama3\"\nwire_api = \"chat\"\n",
        )
        .unwrap();
        let config = load(
            &file,
            &[
                "model.base_url=http://127.0.0.1:8080/v1".into(),
                "shell.timeout_ms=5000".into(),
            ],
        )
        .unwrap();
        let defaults = Config::default();
        let expected = Config {
            approval: ApprovalPolicy::OnRequest,
            model: ModelConfig {
                base_url: "http://127.0.0.1:8080/v1".into(),
                name: "llama3".into(),
                wire_api: WireApi::Chat,
            },
            shell: ShellConfig {
                timeout_ms: 5000,
                ..defaults.shell.clone()
            },
            ..defaults
        };
        assert_eq!(config, expected);
    }

    #[test]
    fn a_bad_file_names_the_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[model]\nname = \"x\"\ncolour = \"blue\"\n").unwrap();
        let message = load(&file, &[]).unwrap_err().to_string();
        assert!(message.contains("config.toml"), "{message}");
        assert!(message.contains("colour"), "{message}");

        std::fs::write(&file, "[model\nname = \"x\"\n").unwrap();
        let message = load(&file, &[]).unwrap_err().to_string();
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn file_errors_name_the_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let cases = [
            (
                "sandbox = \"read-only\"\n\n[network]\nmode = \"open\"\n",
                "line 4, key `network.mode`: unknown variant `open`, expected `proxy` or `deny`",
            ),
            (
                "# mine\n[telemetry]\nendpoint = \"http://x\"\n",
                "line 3, key `telemetry.endpoint`: unknown field `endpoint`, expected one of",
            ),
            (
                "[mcp_servers.docs]\ncommand = \"srv\"\nargs = \"--stdio\"\n",
                "line 3, key `mcp_servers.docs.args`: invalid type: string \"--stdio\"",
            ),
        ];
        for (text, expected) in cases {
            std::fs::write(&file, text).unwrap();
            let e = load(&file, &[]).unwrap_err().to_string();
            let expected = format!("{}: {expected}", file.display());
            assert!(e.starts_with(&expected), "{e}\nexpected: {expected}");
        }
    }

    #[test]
    fn overrides_reject_unknown_keys_and_bad_values() {
        let missing = Path::new("/nonexistent/config.toml");
        let e = load(missing, &["model.colour=blue".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "override `-c model.colour=blue`: unknown key `model.colour`"
        );
        let e = load(missing, &["sandbox=sometimes".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "override `-c sandbox=sometimes`: unknown variant `sometimes`, expected one of \
             `read-only`, `workspace-write`, `full-access`"
        );
        // A known key's value is checked when the override is applied, not only at load.
        let mut table = to_table(&Config::default()).unwrap();
        let e = apply_override(&mut table, "network.ask_timeout_secs=soon").unwrap_err();
        assert!(e.to_string().contains("expected u64"), "{e}");
        assert!(load(missing, &["nokey".into()]).is_err());
        let optional = load(
            missing,
            &[
                "audit.retention_days=30".into(),
                "telemetry.otlp_endpoint=http://127.0.0.1:4318".into(),
            ],
        )
        .unwrap();
        assert_eq!(optional.audit.retention_days, Some(30));
        assert_eq!(
            optional.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
    }

    #[test]
    fn save_model_keeps_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/config.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "approval = \"never\"\n").unwrap();
        let model = ModelConfig {
            base_url: "http://x/v1".into(),
            name: "m".into(),
            wire_api: WireApi::Chat,
        };
        save_model(&file, &model).unwrap();
        let config = load(&file, &[]).unwrap();
        assert_eq!(config.approval, ApprovalPolicy::Never);
        assert_eq!(config.model, model);
    }
}
