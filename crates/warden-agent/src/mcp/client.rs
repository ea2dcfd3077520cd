//! One MCP server over stdio: JSON-RPC 2.0, one message per line. Starts the server
//! inside the sandbox, initializes, lists tools, calls them; answers the server's own
//! requests (`ping`; anything else "method not found").

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe::Sender as ChildStdin;
use tokio::sync::oneshot;
use warden_sandbox::{Io, SandboxPolicy};

use crate::process::Running;
use crate::tools::shell::KillGroupOnDrop;

/// The MCP revision Warden speaks.
const PROTOCOL_VERSION: &str = "2025-06-18";
/// Bytes of the server's stderr kept to explain a failure.
const STDERR_TAIL: usize = 2048;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A tool as the server lists it.
#[derive(Debug, Clone)]
pub(crate) struct ServerTool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    /// The server's own hints about the tool (`readOnlyHint`, `destructiveHint`):
    /// untrusted, shown to the reviewer as such.
    pub annotations: Option<Value>,
}

impl ServerTool {
    /// A tool as `tools/list` describes it (JSON), if it has a name.
    pub fn from_listing(tool: &Value) -> Option<Self> {
        Some(Self {
            name: tool["name"].as_str()?.to_string(),
            description: tool["description"].as_str().unwrap_or("").to_string(),
            input_schema: tool
                .get("inputSchema")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"})),
            annotations: tool.get("annotations").filter(|a| a.is_object()).cloned(),
        })
    }
}

/// A running server. Dropping it kills the server and everything it started.
pub(crate) struct McpClient {
    stdin: Arc<tokio::sync::Mutex<ChildStdin>>,
    pending: Pending,
    next_id: AtomicU64,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    _child: Running,
    _group: KillGroupOnDrop,
}

impl McpClient {
    /// Start `argv` in `cwd` inside `policy` with `env` added, and initialize it.
    pub async fn start(
        argv: &[String],
        env: &[(String, String)],
        cwd: &Path,
        policy: &SandboxPolicy,
        timeout: Duration,
    ) -> Result<Self, String> {
        let (mut command, _confinement) =
            warden_sandbox::command(argv, cwd, policy).map_err(|e| e.to_string())?;
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Io::Piped)
            .stdout(Io::Piped)
            .stderr(Io::Piped)
            .process_group();
        let mut child = Running::start(&mut command)
            .map_err(|e| format!("cannot start `{}`: {e}", argv.join(" ")))?;
        let group = KillGroupOnDrop(Some(child.pid));
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err("cannot connect to the server's stdio".into());
        };
        let stdin = Arc::new(tokio::sync::Mutex::new(stdin));
        let pending: Pending = Arc::default();
        let tail: Arc<Mutex<VecDeque<u8>>> = Arc::default();
        let keep = tail.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut tail) = keep.lock() {
                    tail.extend(&buf[..n]);
                    let excess = tail.len().saturating_sub(STDERR_TAIL);
                    tail.drain(..excess);
                }
            }
        });
        tokio::spawn(read_messages(stdout, stdin.clone(), pending.clone()));
        let client = Self {
            stdin,
            pending,
            next_id: AtomicU64::new(1),
            stderr: tail,
            _child: child,
            _group: group,
        };
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "warden", "version": env!("CARGO_PKG_VERSION")},
        });
        client.request("initialize", params, timeout).await?;
        client
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(client)
    }

    /// Every tool the server offers (following `nextCursor`).
    pub async fn list_tools(&self, timeout: Duration) -> Result<Vec<ServerTool>, String> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = self.request("tools/list", params, timeout).await?;
            tools.extend(
                page["tools"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(ServerTool::from_listing),
            );
            match page["nextCursor"].as_str() {
                Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_string()),
                _ => return Ok(tools),
            }
        }
    }

    /// Call `tool`; the server's answer as text and whether it reports an error.
    pub async fn call(
        &self,
        tool: &str,
        arguments: Value,
        timeout: Duration,
    ) -> Result<(String, bool), String> {
        let result = self
            .request(
                "tools/call",
                json!({"name": tool, "arguments": arguments}),
                timeout,
            )
            .await?;
        Ok(call_answer(&result))
    }

    async fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, tx);
        }
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Err(e) = self.send(&message).await {
            self.forget(id);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer.map_err(|e| format!("{method}: {e}")),
            Ok(Err(_)) => Err(format!("{method}: {}", self.exited())),
            Err(_) => {
                self.forget(id);
                Err(format!(
                    "{method}: no answer within {} s",
                    timeout.as_secs()
                ))
            }
        }
    }

    async fn send(&self, message: &Value) -> Result<(), String> {
        write_line(&self.stdin, message)
            .await
            .map_err(|_| self.exited())
    }

    fn forget(&self, id: u64) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&id);
        }
    }

    /// "the server exited", with the end of what it printed to stderr.
    fn exited(&self) -> String {
        let tail = self
            .stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t.iter().copied().collect::<Vec<u8>>()).into_owned())
            .unwrap_or_default();
        let tail = tail.trim();
        if tail.is_empty() {
            "the server exited".into()
        } else {
            format!("the server exited: {tail}")
        }
    }
}

async fn write_line(
    stdin: &tokio::sync::Mutex<ChildStdin>,
    message: &Value,
) -> std::io::Result<()> {
    let mut line = message.to_string();
    line.push('\n');
    let mut stdin = stdin.lock().await;
    stdin.write_all(line.as_bytes()).await?;
    stdin.flush().await
}

/// Route answers to their requests and answer the server's requests, until stdout
/// closes; then every waiting request learns the server is gone.
async fn read_messages(
    stdout: tokio::net::unix::pipe::Receiver,
    stdin: Arc<tokio::sync::Mutex<ChildStdin>>,
    pending: Pending,
) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            tracing::debug!(line, "MCP server printed a line that is not JSON-RPC");
            continue;
        };
        let id = message.get("id").cloned();
        match (message.get("method").and_then(Value::as_str), id) {
            (Some(method), Some(id)) => {
                let answer = if method == "ping" {
                    json!({"jsonrpc": "2.0", "id": id, "result": {}})
                } else {
                    json!({"jsonrpc": "2.0", "id": id, "error": {
                        "code": -32601, "message": format!("Warden does not offer `{method}`")}})
                };
                let _ = write_line(&stdin, &answer).await;
            }
            (Some(_), None) => {} // a notification
            (None, Some(id)) => {
                let Some(waiting) = id.as_u64().and_then(|id| pending.lock().ok()?.remove(&id))
                else {
                    continue;
                };
                let answer = match message.get("error") {
                    Some(error) => Err(error["message"]
                        .as_str()
                        .map_or_else(|| error.to_string(), str::to_string)),
                    None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
                };
                let _ = waiting.send(answer);
            }
            (None, None) => {}
        }
    }
    if let Ok(mut pending) = pending.lock() {
        pending.clear();
    }
}

/// A `tools/call` result as text: text items as they are, other items described,
/// structured content as JSON when there is nothing else.
/// A `tools/call` result: its text and whether the server reports an error.
pub(crate) fn call_answer(result: &Value) -> (String, bool) {
    let is_error = result["isError"].as_bool().unwrap_or(false);
    (content_text(result), is_error)
}

fn content_text(result: &Value) -> String {
    let mut parts = Vec::new();
    for item in result["content"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("text") => parts.push(item["text"].as_str().unwrap_or("").to_string()),
            Some("image" | "audio") => parts.push(format!(
                "[{} {}]",
                item["type"].as_str().unwrap_or(""),
                item["mimeType"].as_str().unwrap_or("")
            )),
            Some("resource") => parts.push(
                item["resource"]["text"]
                    .as_str()
                    .map_or_else(|| item["resource"]["uri"].to_string(), str::to_string),
            ),
            _ => parts.push(item.to_string()),
        }
    }
    if parts.is_empty()
        && let Some(structured) = result.get("structuredContent")
    {
        parts.push(structured.to_string());
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_as_text() {
        let result = json!({"content": [
            {"type": "text", "text": "two files"},
            {"type": "image", "mimeType": "image/png", "data": "AAAA"},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "body"}}
        ], "isError": false});
        assert_eq!(content_text(&result), "two files\n[image image/png]\nbody");
        let structured = json!({"content": [], "structuredContent": {"n": 2}});
        assert_eq!(content_text(&structured), "{\"n\":2}");
    }
}
