//! The session's MCP servers: started with the session (each inside the boundary, with
//! its own proxy credential), and their tool calls run and recorded.

use std::collections::HashMap;
use std::time::Instant;

use warden_protocol::{EventMsg, PolicySource, SessionPolicy};

use super::{Session, Stop};
use crate::mcp::{McpServer, RemoteError, describe};
use crate::tools::shell::CappedBuffer;

/// Where each `mcp_servers.…` setting came from (the server's table, and each tool
/// approval an admin pinned), by key.
pub(super) fn sources(policy: &SessionPolicy) -> HashMap<String, PolicySource> {
    policy
        .values
        .iter()
        .filter(|v| v.key.starts_with("mcp_servers."))
        .map(|v| (v.key.clone(), v.source.clone()))
        .collect()
}

impl Session {
    /// Start every configured server at once; each start (or why it failed) is recorded.
    pub(super) async fn start_mcp_servers(
        &mut self,
        sources: &HashMap<String, PolicySource>,
    ) -> Result<(), Stop> {
        if self.config.mcp_servers.is_empty() {
            return Ok(());
        }
        let mut starts = Vec::new();
        for (name, config) in &self.config.mcp_servers {
            let mut policy = self.sandbox_policy.clone();
            let command = describe(config);
            let proxy = self.egress.as_ref().map(|egress| {
                policy.egress = warden_sandbox::Egress::Proxy(egress.addr.port());
                let credential = egress.proxy.credentials().issue(warden_proxy::Attribution {
                    session_id: Some(self.session_id.clone()),
                    call_id: None,
                    command: format!("MCP server {name}: {command}"),
                    pid: None,
                });
                (credential, egress.addr)
            });
            let prefix = format!("mcp_servers.{name}");
            let source: HashMap<String, PolicySource> = sources
                .iter()
                .filter(|(key, _)| *key == &prefix || key.starts_with(&format!("{prefix}.")))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let (name, config, cwd) = (name.clone(), config.clone(), self.cwd.clone());
            let remote = self.remote_mcp.clone();
            starts.push(async move {
                let started =
                    McpServer::start(&name, &config, source, &cwd, &policy, proxy, &remote).await;
                (name, command, started)
            });
        }
        let results = self
            .interruptible(futures_util::future::join_all(starts))
            .await?;
        for (server, command, started) in results {
            let (tools, error) = match started {
                Ok(running) => {
                    let tools = running.tool_names();
                    self.mcp.add(running);
                    (tools, None)
                }
                Err(RemoteError::SignInNeeded(e) | RemoteError::Failed(e)) => (Vec::new(), Some(e)),
            };
            self.record(EventMsg::McpServerStarted {
                server,
                command,
                tools,
                error,
            })
            .await?;
        }
        Ok(())
    }

    /// Call an MCP tool (already decided and approved); what the model sees.
    pub(super) async fn call_mcp(
        &mut self,
        call_id: &str,
        server: &str,
        tool: &str,
        arguments: serde_json::Value,
    ) -> Result<String, Stop> {
        let Some(running) = self.mcp.server(server) else {
            let why = format!("MCP server `{server}` is not running");
            return self.finish(call_id, false, None, 0, why).await;
        };
        let started = Instant::now();
        let sent = arguments.clone();
        let answer = self
            .interruptible(async move { running.call(tool, sent).await })
            .await?;
        let duration_ms = started.elapsed().as_millis() as u64;
        let (text, is_error) = match answer {
            Ok((text, is_error)) => (text, is_error),
            Err(e) => (format!("the MCP call failed: {e}"), true),
        };
        // Capped like command output: head and tail kept.
        let mut capped = CappedBuffer::new(self.config.shell.output_cap_bytes);
        capped.push(text.as_bytes());
        let result = capped.into_string();
        self.record(EventMsg::McpCall {
            call_id: call_id.into(),
            server: server.into(),
            tool: tool.into(),
            arguments,
            is_error,
            duration_ms,
            result: result.clone(),
        })
        .await?;
        self.finish(call_id, !is_error, None, duration_ms, result)
            .await
    }
}
