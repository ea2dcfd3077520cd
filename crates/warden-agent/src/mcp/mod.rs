//! MCP servers a session runs: each configured (and admin-allowed) server is started
//! inside the session's boundary, its tools offered to the model as
//! `mcp__SERVER__TOOL`, and every call decided, maybe approved, and recorded.

mod client;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use warden_policy::config::McpServerConfig;
use warden_protocol::PolicySource;
use warden_sandbox::SandboxPolicy;

use crate::model::ToolSpec;
use client::{McpClient, ServerTool};

/// Longest tool name the model APIs accept.
const MAX_TOOL_NAME: usize = 64;

/// One started server and its tools.
pub(crate) struct McpServer {
    pub name: String,
    pub config: McpServerConfig,
    /// Where `mcp_servers.NAME` (and so its approval setting) came from.
    pub source: PolicySource,
    /// `(name the model sees, the tool)`.
    tools: Vec<(String, ServerTool)>,
    client: McpClient,
    /// The server's proxy credential: its network events are attributed to it.
    _credential: Option<warden_proxy::Credential>,
}

impl McpServer {
    /// Start the server in `cwd` inside `policy` and list its tools. `proxy` is its
    /// credential and the proxy's address when it may reach the network.
    pub async fn start(
        name: &str,
        config: &McpServerConfig,
        source: PolicySource,
        cwd: &Path,
        policy: &SandboxPolicy,
        proxy: Option<(warden_proxy::Credential, std::net::SocketAddr)>,
    ) -> Result<Self, String> {
        let argv = command_argv(config);
        let mut env: Vec<(String, String)> = config
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some((credential, addr)) = &proxy {
            env.extend(credential.environment(*addr));
        }
        let timeout = Duration::from_secs(config.startup_timeout_secs);
        let client = McpClient::start(&argv, &env, cwd, policy, timeout).await?;
        let listed = client.list_tools(timeout).await?;
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
            source,
            tools,
            client,
            _credential: proxy.map(|(credential, _)| credential),
        })
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
        self.client.call(tool, arguments, timeout).await
    }
}

/// The command line a server runs as.
pub(crate) fn command_argv(config: &McpServerConfig) -> Vec<String> {
    std::iter::once(config.command.clone())
        .chain(config.args.iter().cloned())
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
    fn tool_names_are_prefixed_cleaned_and_capped() {
        assert_eq!(exposed_name("docs", "search"), "mcp__docs__search");
        assert_eq!(
            exposed_name("gh", "repo.list/all"),
            "mcp__gh__repo_list_all"
        );
        assert_eq!(exposed_name("s", &"x".repeat(100)).len(), MAX_TOOL_NAME);
    }
}
