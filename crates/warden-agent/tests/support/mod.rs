//! The harness the session tests share: a host on a scratch profile with the scripted
//! model server, and helpers to wait for events and answer approvals.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::broadcast;
use warden_agent::Host;
use warden_audit::AuditStore;
use warden_policy::config::WardenPaths;
use warden_protocol::*;
use warden_testkit::{Script, ScriptedModel};

pub struct Harness {
    pub host: Host,
    pub events: broadcast::Receiver<Event>,
    pub workspace: PathBuf,
    pub home: tempfile::TempDir,
    pub model: ScriptedModel,
}

pub async fn harness(wire_api: &str, approval: &str, api_key: Option<&str>) -> Harness {
    let model = ScriptedModel::start(Script::standard(), api_key.map(String::from))
        .await
        .unwrap();
    harness_with_url(&model.base_url.clone(), wire_api, approval, model).await
}

pub async fn harness_with_url(
    base_url: &str,
    wire_api: &str,
    approval: &str,
    model: ScriptedModel,
) -> Harness {
    harness_with_overrides(base_url, wire_api, approval, model, Vec::new()).await
}

pub async fn harness_with_overrides(
    base_url: &str,
    wire_api: &str,
    approval: &str,
    model: ScriptedModel,
    extra: Vec<String>,
) -> Harness {
    harness_with_requirements(base_url, wire_api, approval, model, extra, None).await
}

/// As `harness_with_overrides`, with an admin requirements file of this content.
pub async fn harness_with_requirements(
    base_url: &str,
    wire_api: &str,
    approval: &str,
    model: ScriptedModel,
    extra: Vec<String>,
    requirements: Option<&str>,
) -> Harness {
    let home = warden_testkit::scratch_dir();
    let workspace = home.path().join("workspace");
    std::fs::create_dir(&workspace).unwrap();
    std::fs::write(workspace.join("README.md"), "hi\n").unwrap();
    let overrides = vec![
        format!("model.base_url={base_url}"),
        format!("model.wire_api={wire_api}"),
        format!("approval={approval}"),
    ];
    let host = open_host(
        home.path(),
        overrides.into_iter().chain(extra).collect(),
        requirements,
    )
    .await
    .unwrap();
    let events = host.subscribe();
    Harness {
        host,
        events,
        workspace: workspace.canonicalize().unwrap(),
        home,
        model,
    }
}

/// The standard script over the Responses API, with `approval` and config overrides.
pub async fn harness_configured(approval: &str, extra: Vec<String>) -> Harness {
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    harness_with_overrides(&url, "responses", approval, model, extra).await
}

impl Harness {
    pub async fn start(&self, task: &str) -> String {
        self.start_with(task, true).await
    }

    /// A session in the workspace, with the profile's sandbox and approval.
    fn start_params(&self) -> StartSessionParams {
        StartSessionParams {
            cwd: self.workspace.display().to_string(),
            sandbox: None,
            approval: None,
        }
    }

    /// Start a session (`interactive`: whether anyone can answer approvals) with `task`.
    pub async fn start_with(&self, task: &str, interactive: bool) -> String {
        let id = self
            .host
            .start(self.start_params(), interactive)
            .await
            .unwrap();
        self.host
            .submit(&id, Op::UserTurn { text: task.into() })
            .unwrap();
        id
    }

    /// Start a session that the host must refuse; the refusal's text.
    pub async fn refused_start(&self) -> String {
        self.host
            .start(self.start_params(), true)
            .await
            .expect_err("the session started")
            .to_string()
    }

    /// Recorded events until one matches `stop` (inclusive).
    pub async fn until(&mut self, stop: impl Fn(&EventMsg) -> bool) -> Vec<EventMsg> {
        let mut seen = Vec::new();
        loop {
            let event = tokio::time::timeout(Duration::from_secs(30), self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no event within 30 s after {seen:#?}"))
                .expect("event stream open");
            if event.seq.is_none() {
                continue;
            }
            let done = stop(&event.msg);
            seen.push(event.msg);
            if done {
                return seen;
            }
        }
    }

    /// Wait for the next approval request and answer it; returns the events up to it.
    pub async fn answer_next_approval(
        &mut self,
        id: &str,
        decision: ReviewDecision,
        message: Option<String>,
    ) -> Vec<EventMsg> {
        let events = self
            .until(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
            .await;
        let Some(EventMsg::ApprovalRequested { call_id, .. }) = events.last() else {
            panic!("no approval request in {events:?}")
        };
        self.host
            .submit(
                id,
                Op::Approval {
                    call_id: call_id.clone(),
                    decision,
                    message,
                },
            )
            .unwrap();
        events
    }

    pub async fn timeline(&self, id: &str) -> Vec<Event> {
        AuditStore::open(&self.home.path().join("data/audit.sqlite"))
            .await
            .unwrap()
            .timeline(id, 0, 1000)
            .await
            .unwrap()
            .0
    }
}

pub fn kinds(events: &[EventMsg]) -> Vec<&'static str> {
    events.iter().map(EventMsg::kind).collect()
}

pub fn turn_over(m: &EventMsg) -> bool {
    matches!(
        m,
        EventMsg::TurnComplete { .. } | EventMsg::TurnAborted { .. }
    )
}

pub fn page_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: close\r\n\r\nhello from the web",
                );
            });
        }
    });
    port
}

pub async fn network_harness(extra: &[&str]) -> (Harness, u16) {
    let port = page_server();
    let mut overrides = vec![
        "network.hosts={\"web.test\"=[\"127.0.0.2\"]}".to_string(),
        "network.allow_private=[\"127.0.0.2\"]".to_string(),
    ];
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let h = harness_configured("on-request", overrides).await;
    std::fs::write(
        h.workspace.join("url.txt"),
        format!("http://web.test:{port}/"),
    )
    .unwrap();
    (h, port)
}

/// Answer approvals until the turn ends: commands are approved once, network questions
/// get `network`. Returns every recorded event.
pub async fn run_answering_network(
    h: &mut Harness,
    id: &str,
    network: ReviewDecision,
) -> Vec<EventMsg> {
    let mut all = Vec::new();
    loop {
        let events = h
            .until(|m| matches!(m, EventMsg::ApprovalRequested { .. }) || turn_over(m))
            .await;
        let last = events.last().cloned();
        all.extend(events);
        match last {
            Some(EventMsg::ApprovalRequested { call_id, tool, .. }) => {
                let decision = if tool == "network" {
                    network
                } else {
                    ReviewDecision::ApproveOnce
                };
                h.host
                    .submit(
                        id,
                        Op::Approval {
                            call_id,
                            decision,
                            message: None,
                        },
                    )
                    .unwrap();
            }
            _ => return all,
        }
    }
}

/// The first tool result's output.
pub fn tool_output(events: &[EventMsg]) -> String {
    events
        .iter()
        .find_map(|m| match m {
            EventMsg::ToolResult { output, .. } => Some(output.clone()),
            _ => None,
        })
        .expect("a tool result")
}

pub fn network_events(events: &[EventMsg]) -> Vec<(Option<String>, NetworkAccess)> {
    events
        .iter()
        .filter_map(|m| match m {
            EventMsg::NetworkAccess { call_id, access } => Some((call_id.clone(), access.clone())),
            _ => None,
        })
        .collect()
}

pub fn mcp_demo(extra: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap();
    let mut overrides = vec![
        format!(
            "mcp_servers.demo.command=\"{}\"",
            root.join(".venv/bin/python3").display()
        ),
        format!(
            "mcp_servers.demo.args=[\"{}\"]",
            root.join("tests/mcp/server.py").display()
        ),
    ];
    overrides.extend(extra.iter().map(|e| format!("mcp_servers.demo.{e}")));
    overrides
}

/// Open a host on the profile in `home` as `warden` would, with `overrides` as session
/// flags and, when given, `requirements` as an admin's requirements file
/// (`home/requirements.toml`); the refusal's text when it does not open.
pub async fn open_host(
    home: &Path,
    overrides: Vec<String>,
    requirements: Option<&str>,
) -> Result<Host, String> {
    let mut inputs = warden_policy::layers::PolicyInputs::new(WardenPaths {
        config_dir: home.join("config"),
        data_dir: home.join("data"),
    })
    .unwrap();
    inputs.overrides = overrides;
    if let Some(toml) = requirements {
        let file = home.join("requirements.toml");
        std::fs::write(&file, toml).unwrap();
        inputs.extra_requirements.push(file);
    }
    Host::open_with(inputs, warden_rules::load_rules)
        .await
        .map_err(|e| e.to_string())
}
