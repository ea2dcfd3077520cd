//! MCP servers a session runs: each configured (and admin-allowed) server is started
//! inside the session's boundary, its tools offered to the model as
//! `mcp__SERVER__TOOL`, and every call decided, maybe approved, and recorded.

mod client;
mod remote;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use warden_policy::config::{McpApproval, McpServerConfig};
use warden_protocol::PolicySource;
use warden_sandbox::SandboxPolicy;

use crate::model::ToolSpec;
use client::{McpClient, ServerTool};
pub(crate) use remote::{RemoteClient, RemoteError};

/// How Warden reaches a server: a local program over stdio, or a remote server.
enum Connection {
    Local(McpClient),
    Remote(RemoteClient),
}

/// What connecting to remote servers needs: where sign-ins lock their refreshes, and
/// the servers Warden's own network policy refuses to reach (name → why).
#[derive(Clone, Debug, Default)]
pub(crate) struct RemoteAccess {
    pub lock_dir: std::path::PathBuf,
    pub refused: HashMap<String, String>,
}

impl RemoteAccess {
    /// Hold each remote server's host to the network policy (admin domain lists, the
    /// user's `network.deny`, rules' `network_rule`s): a host it denies is not reached.
    /// Configuring a server is the person's consent to reach it, so a host the policy
    /// would ask about is allowed.
    pub fn new(
        policy: &warden_policy::layers::EffectivePolicy,
        lock_dir: std::path::PathBuf,
    ) -> Result<Self, warden_proxy::ProxyError> {
        let hosts = warden_proxy::HostPolicy::from_effective(policy)?;
        let mut refused = HashMap::new();
        for (name, config) in &policy.config.mcp_servers {
            let Some(url) = config.url.as_deref().and_then(|u| url::Url::parse(u).ok()) else {
                continue;
            };
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                continue;
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let verdict = hosts.decide(host, port, None);
            if verdict.decision == warden_policy::rules::HostDecision::Deny {
                let by = verdict
                    .source
                    .map_or_else(|| "the network policy".to_string(), |s| s.to_string());
                refused.insert(
                    name.clone(),
                    format!("{host}:{port} is refused by {by}; Warden does not connect to it"),
                );
            }
        }
        Ok(Self { lock_dir, refused })
    }
}

/// Longest tool name the model APIs accept.
const MAX_TOOL_NAME: usize = 64;

/// One started server and its tools.
pub(crate) struct McpServer {
    pub name: String,
    pub config: McpServerConfig,
    /// Where `mcp_servers.NAME` came from, and each of its keys an admin pinned
    /// (`mcp_servers.NAME.tools.TOOL.approval`), by key.
    sources: HashMap<String, PolicySource>,
    /// `(name the model sees, the tool)`.
    tools: Vec<(String, ServerTool)>,
    connection: Connection,
    /// The server's proxy credential: its network events are attributed to it.
    _credential: Option<warden_proxy::Credential>,
}

impl McpServer {
    /// Start the server in `cwd` inside `policy` (a local one; `proxy` is its credential
    /// and the proxy's address when it may reach the network) or connect to it (a remote
    /// one), and list its tools.
    pub async fn start(
        name: &str,
        config: &McpServerConfig,
        sources: HashMap<String, PolicySource>,
        cwd: &Path,
        policy: &SandboxPolicy,
        proxy: Option<(warden_proxy::Credential, std::net::SocketAddr)>,
        remote: &RemoteAccess,
    ) -> Result<Self, RemoteError> {
        let timeout = Duration::from_secs(config.startup_timeout_secs);
        let (connection, listed) = match &config.url {
            Some(url) => {
                if let Some(why) = remote.refused.get(name) {
                    return Err(RemoteError::Failed(why.clone()));
                }
                let client =
                    RemoteClient::connect(name, url, remote.lock_dir.clone(), timeout).await?;
                let listed = client
                    .list_tools(timeout)
                    .await
                    .map_err(RemoteError::Failed)?;
                (Connection::Remote(client), listed)
            }
            None => {
                let argv = command_argv(config);
                let mut env: Vec<(String, String)> = config
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let Some((credential, addr)) = &proxy {
                    env.extend(credential.environment(*addr));
                }
                let client = McpClient::start(&argv, &env, cwd, policy, timeout)
                    .await
                    .map_err(RemoteError::Failed)?;
                let listed = client
                    .list_tools(timeout)
                    .await
                    .map_err(RemoteError::Failed)?;
                (Connection::Local(client), listed)
            }
        };
        let mut tools: Vec<(String, ServerTool)> = Vec::new();
        for tool in listed {
            let exposed = exposed_name(name, &tool.name);
            if tools.iter().any(|(seen, _)| *seen == exposed) {
                tracing::warn!(
                    server = name,
                    tool = tool.name,
                    "duplicate MCP tool name skipped"
                );
                continue;
            }
            tools.push((exposed, tool));
        }
        Ok(Self {
            name: name.to_string(),
            config: config.clone(),
            sources,
            tools,
            connection,
            _credential: proxy.map(|(credential, _)| credential),
        })
    }

    /// A call to `tool`: its approval, the setting that gave it and where that came from.
    pub fn approval(&self, tool: &str) -> (McpApproval, String, PolicySource) {
        let (approval, rule) = self.config.tool_approval(&self.name, tool);
        let source = self
            .sources
            .get(&rule)
            .or_else(|| self.sources.get(&format!("mcp_servers.{}", self.name)))
            .cloned()
            .unwrap_or(PolicySource::BuiltIn);
        (approval, rule, source)
    }

    /// The names the model sees.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools
            .iter()
            .map(|(exposed, _)| exposed.clone())
            .collect()
    }

    /// The server's annotations of one of its tools, by its own name.
    pub fn annotations(&self, tool: &str) -> Option<Value> {
        self.tools
            .iter()
            .find(|(_, t)| t.name == tool)
            .and_then(|(_, t)| t.annotations.clone())
    }

    /// Call one of this server's tools by its own name.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<(String, bool), String> {
        let timeout = Duration::from_secs(self.config.tool_timeout_secs);
        match &self.connection {
            Connection::Local(client) => client.call(tool, arguments, timeout).await,
            Connection::Remote(client) => client.call(tool, arguments, timeout).await,
        }
    }
}

/// A tool's annotations in words for the person answering: the server's own claims
/// (MCP calls them hints), never verified and never used to decide.
pub(crate) fn annotation_hints(annotations: &Value) -> Vec<String> {
    let flag = |key: &str| annotations.get(key).and_then(Value::as_bool);
    let mut hints = Vec::new();
    if flag("readOnlyHint") == Some(true) {
        hints.push("read-only".to_string());
    }
    match flag("destructiveHint") {
        Some(true) if flag("readOnlyHint") != Some(true) => hints.push("destructive".to_string()),
        Some(false) => hints.push("not destructive".to_string()),
        _ => {}
    }
    if flag("idempotentHint") == Some(true) {
        hints.push("idempotent".to_string());
    }
    if flag("openWorldHint") == Some(true) {
        hints.push("reaches outside systems".to_string());
    }
    hints
}

/// How a server is reached, for the record: its command line, or its URL.
pub(crate) fn describe(config: &McpServerConfig) -> String {
    match &config.url {
        Some(url) => url.clone(),
        None => warden_policy::shell::command_line(&command_argv(config)),
    }
}

/// The command line a server runs as.
pub(crate) fn command_argv(config: &McpServerConfig) -> Vec<String> {
    config
        .command
        .iter()
        .chain(config.args.iter())
        .cloned()
        .collect()
}

/// Every running server of a session.
#[derive(Default)]
pub(crate) struct McpServers {
    servers: Vec<Arc<McpServer>>,
}

impl McpServers {
    pub fn add(&mut self, server: McpServer) {
        self.servers.push(Arc::new(server));
    }

    /// Tool specs for the model.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.servers
            .iter()
            .flat_map(|s| {
                s.tools.iter().map(|(exposed, tool)| ToolSpec {
                    name: exposed.clone(),
                    description: format!("[MCP server {}] {}", s.name, tool.description),
                    parameters: tool.input_schema.clone(),
                })
            })
            .collect()
    }

    /// The server and the tool's own name behind a name the model used.
    pub fn resolve(&self, exposed: &str) -> Option<(&McpServer, &str)> {
        self.servers.iter().find_map(|s| {
            s.tools
                .iter()
                .find(|(name, _)| name == exposed)
                .map(|(_, tool)| (s.as_ref(), tool.name.as_str()))
        })
    }

    pub fn server(&self, name: &str) -> Option<Arc<McpServer>> {
        self.servers.iter().find(|s| s.name == name).cloned()
    }
}

/// `mcp__SERVER__TOOL`, with characters the model APIs refuse replaced by `_`, cut to
/// their length limit.
fn exposed_name(server: &str, tool: &str) -> String {
    let clean: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("mcp__{server}__{clean}");
    name.truncate(MAX_TOOL_NAME);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_become_words_and_contradictions_are_not_repeated() {
        let words = |v: Value| annotation_hints(&v);
        assert_eq!(
            words(serde_json::json!({"readOnlyHint": true})),
            ["read-only"]
        );
        assert_eq!(
            words(serde_json::json!({"destructiveHint": true})),
            ["destructive"]
        );
        // MCP: destructiveHint only means something when the tool is not read-only.
        assert_eq!(
            words(serde_json::json!({"readOnlyHint": true, "destructiveHint": true})),
            ["read-only"]
        );
        assert_eq!(
            words(
                serde_json::json!({"destructiveHint": false, "openWorldHint": true, "title": "x"})
            ),
            ["not destructive", "reaches outside systems"]
        );
        assert!(words(serde_json::json!({"readOnlyHint": "yes"})).is_empty());
    }

    #[test]
    fn tool_names_are_prefixed_cleaned_and_capped() {
        assert_eq!(exposed_name("docs", "search"), "mcp__docs__search");
        assert_eq!(
            exposed_name("gh", "repo.list/all"),
            "mcp__gh__repo_list_all"
        );
        assert_eq!(exposed_name("s", &"x".repeat(100)).len(), MAX_TOOL_NAME);
    }
}
