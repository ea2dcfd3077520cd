//! The remote MCP server with its own OAuth authorization server (tests/mcp/oauth_server.py,
//! the official Python SDK in the project's `.venv`), started on a free port for a test
//! and stopped when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running server: `url` is its MCP endpoint, `base` the authorization server.
pub struct OAuthMcpServer {
    pub url: String,
    pub base: String,
    child: Child,
}

/// The repository's root (this crate lives at `crates/warden-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|e| panic!("no repository root: {e}"))
}

impl OAuthMcpServer {
    /// Start it; access tokens last `access_ttl` seconds.
    pub fn start(access_ttl: u64) -> Self {
        Self::start_requiring(access_ttl, "mcp:tools")
    }

    /// Start it, requiring these scopes (comma-separated) on every MCP request.
    pub fn start_requiring(access_ttl: u64, scopes: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let root = repo_root();
        let child = Command::new(root.join(".venv/bin/python3"))
            .arg(root.join("tests/mcp/oauth_server.py"))
            .args([
                "--port",
                &port.to_string(),
                "--access-ttl",
                &access_ttl.to_string(),
                "--required-scopes",
                scopes,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start the OAuth MCP server (run scripts/setup.sh): {e}")
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the OAuth MCP server did not open port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let base = format!("http://127.0.0.1:{port}");
        Self {
            url: format!("{base}/mcp"),
            base,
            child,
        }
    }

    /// What the authorization server counted (registrations, code exchanges, refreshes…).
    pub fn stats(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sS", &format!("{}/test/stats", self.base)])
            .output()
            .unwrap_or_else(|e| panic!("curl: {e}"));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stats: {e}"))
    }

    /// Revoke every grant (an admin pulling access).
    pub fn revoke_all(&self) {
        let status = Command::new("curl")
            .args(["-sS", "-X", "POST", &format!("{}/test/revoke", self.base)])
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("curl: {e}"));
        assert!(status.success());
    }
}

impl Drop for OAuthMcpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scripted browser: follows the authorization page's redirects back to Warden's
/// loopback (the consent is granted at once by the test server). A program for
/// `WARDEN_BROWSER`, or called directly.
pub fn browse(url: &str) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let _ = Command::new("curl")
            .args(["-sS", "-L", "-o", "/dev/null", &url])
            .status();
    });
    Ok(())
}

/// A browser that skips the authorization page and goes straight back to Warden's
/// loopback with `answer` (e.g. `error=access_denied`, or a `code` the server never
/// issued) and this sign-in's `state`, as a refusing identity provider or a forger would.
/// Joining the handle gives the page Warden answered with.
pub fn come_back_with(url: &str, answer: &str) -> std::thread::JoinHandle<String> {
    let page = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let param = |name: &str| {
        page.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {url}"))
    };
    let back = format!(
        "{}?{answer}&state={}",
        param("redirect_uri"),
        url::form_urlencoded::byte_serialize(param("state").as_bytes()).collect::<String>()
    );
    std::thread::spawn(move || {
        let out = Command::new("curl")
            .args(["-sS", &back])
            .output()
            .unwrap_or_else(|e| panic!("curl: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
}
