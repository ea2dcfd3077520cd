//! A remote MCP server over Streamable HTTP, through the official SDK (`rmcp`). With a
//! stored sign-in the requests carry its token (renewed as it expires, asked again when
//! revoked); without one they go out plain, and a server that wants a sign-in says so.

use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use super::client::{ServerTool, call_answer};
use crate::oauth::{self, OAuthError, Target};

/// A connected remote server.
pub(crate) struct RemoteClient {
    service: RunningService<RoleClient, ()>,
}

/// Why a remote server is not available: not signed in (the person must sign in), or
/// anything else.
#[derive(Debug)]
pub(crate) enum RemoteError {
    SignInNeeded(String),
    Failed(String),
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignInNeeded(s) | Self::Failed(s) => f.write_str(s),
        }
    }
}

impl RemoteClient {
    /// Connect to `url` (server `name`) and initialize, within `timeout`.
    pub async fn connect(
        name: &str,
        url: &str,
        lock_dir: PathBuf,
        timeout: Duration,
    ) -> Result<Self, RemoteError> {
        let target = Target::Mcp {
            server: name.to_string(),
            url: url.to_string(),
        };
        let sign_in = |why: String| {
            RemoteError::SignInNeeded(format!(
                "{why}: sign in with `warden mcp login {name}` or the Connect button in Settings"
            ))
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| RemoteError::Failed(e.to_string()))?;
        let config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
        let connecting = async {
            let causes =
                |e: rmcp::service::ClientInitializeError| warden_protocol::error_with_causes(&e);
            match oauth::authorized_client(&target, lock_dir.clone(), http.clone()).await {
                Ok(client) => {
                    let transport = StreamableHttpClientTransport::with_client(client, config);
                    ().serve(transport).await.map_err(causes)
                }
                Err(OAuthError::NotSignedIn(_)) => {
                    let transport = StreamableHttpClientTransport::with_client(http, config);
                    ().serve(transport).await.map_err(causes)
                }
                Err(OAuthError::Failed(e)) => Err(e),
            }
        };
        let connected = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| {
                RemoteError::Failed(format!(
                    "{url} did not answer within {} s",
                    timeout.as_secs()
                ))
            })?;
        let service = match connected {
            Ok(service) => service,
            // A stored sign-in too narrow for the server: a step-up needs consent again.
            Err(e) if e.contains("insufficient_scope") || e.contains("nsufficient scope") => {
                let scopes = oauth::needs_wider_sign_in(&target, lock_dir, &e).await;
                return Err(sign_in(format!(
                    "{url} needs a wider sign-in than the one stored (scopes {})",
                    scopes.join(" ")
                )));
            }
            Err(e) if e.contains("401") || e.to_lowercase().contains("auth") => {
                return Err(sign_in(format!("{url} asks for a sign-in ({e})")));
            }
            Err(e) => return Err(RemoteError::Failed(format!("cannot connect to {url}: {e}"))),
        };
        Ok(Self { service })
    }

    /// Every tool the server offers.
    pub async fn list_tools(&self, timeout: Duration) -> Result<Vec<ServerTool>, String> {
        let tools = tokio::time::timeout(timeout, self.service.list_all_tools())
            .await
            .map_err(|_| format!("listing tools took longer than {} s", timeout.as_secs()))?
            .map_err(|e| format!("cannot list tools: {e}"))?;
        Ok(tools
            .iter()
            .filter_map(|tool| serde_json::to_value(tool).ok())
            .filter_map(|tool| ServerTool::from_listing(&tool))
            .collect())
    }

    /// Call `tool`; the answer as text and whether the server reports an error.
    pub async fn call(
        &self,
        tool: &str,
        arguments: Value,
        timeout: Duration,
    ) -> Result<(String, bool), String> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = arguments {
            params = params.with_arguments(JsonObject::from_iter(map));
        }
        let result = tokio::time::timeout(timeout, self.service.call_tool(params))
            .await
            .map_err(|_| format!("the call took longer than {} s", timeout.as_secs()))?
            .map_err(|e| e.to_string())?;
        let result = serde_json::to_value(&result).map_err(|e| e.to_string())?;
        Ok(call_answer(&result))
    }
}
