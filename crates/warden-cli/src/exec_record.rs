//! What `warden exec` leaves in the audit store: when a command made network decisions or
//! was refused something by the sandbox, the run is recorded as a session of its own (its
//! start with the policy it ran under, the command, each decision and denial attributed
//! to it, its result), like an agent session's tool call. `warden` does not link the audit
//! store (its start stays small), so it hands the finished record to `warden-sessions
//! audit record` on standard input.

use std::io::Write;
use std::process::Stdio;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use warden_protocol::{Event, EventMsg};

/// A finished run, ready to be stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecRecord {
    pub session_id: String,
    pub cwd: String,
    pub created_at: i64,
    /// In order; each with when it happened.
    pub events: Vec<(i64, EventMsg)>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The run as an audit session: its start (with the policy it ran under, the host and
/// the user), the command and its process, each network decision and sandbox denial,
/// and its result.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    effective: &warden_policy::layers::EffectivePolicy,
    command: &[String],
    cwd: &std::path::Path,
    proxied: bool,
    (pid, started_at): (u32, i64),
    code: i32,
    decisions: Vec<(i64, warden_proxy::NetworkEvent)>,
    denials: Vec<warden_protocol::SandboxDenial>,
) -> ExecRecord {
    let call_id = "exec".to_string();
    let cwd_text = cwd.display().to_string();
    let ended_at = now_ms();
    let mut events = vec![
        (
            started_at,
            EventMsg::SessionStarted {
                cwd: cwd_text.clone(),
                sandbox: effective.config.sandbox,
                approval: effective.config.approval,
                model: String::new(),
                wire_api: "warden exec".into(),
                policy: warden_agent::session_policy(effective),
                identity: Some(warden_sandbox::host::session_identity()),
            },
        ),
        (
            started_at,
            EventMsg::CommandStarted {
                call_id: call_id.clone(),
                command: warden_policy::shell::command_line(command),
                cwd: cwd_text.clone(),
                sandbox: effective.config.sandbox,
                network: if proxied { "proxy" } else { "deny" }.into(),
            },
        ),
        (
            started_at,
            EventMsg::ProcessStarted {
                call_id: call_id.clone(),
                pid,
                // Taken just before the start: reading the kernel's would cost every
                // run, and a recorded run is rare.
                started_at,
                executable: command
                    .first()
                    .map(|p| warden_sandbox::host::resolve_program(p, cwd))
                    .unwrap_or_default(),
                command_line: warden_policy::shell::command_line(command),
                parent_pid: std::process::id(),
                parent_executable: std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            },
        ),
    ];
    events.extend(decisions.into_iter().map(|(at, event)| {
        (
            at.max(started_at),
            EventMsg::NetworkAccess {
                call_id: Some(call_id.clone()),
                access: event.access,
            },
        )
    }));
    events.extend(denials.into_iter().map(|denial| {
        (
            ended_at,
            EventMsg::SandboxDenied {
                call_id: call_id.clone(),
                denial,
            },
        )
    }));
    events.push((
        ended_at,
        EventMsg::ToolResult {
            call_id,
            success: code == 0,
            exit_code: Some(code),
            duration_ms: (ended_at - started_at).max(0) as u64,
            output: String::new(),
        },
    ));
    events.push((
        ended_at,
        EventMsg::SessionEnded {
            reason: "the command ended".into(),
        },
    ));
    events.sort_by_key(|(at, _)| *at);
    ExecRecord {
        session_id: uuid::Uuid::now_v7().to_string(),
        cwd: cwd_text,
        created_at: started_at,
        events,
    }
}

/// Give the record to `warden-sessions audit record` and wait until it is stored.
pub fn hand_to_store(record: &ExecRecord) -> anyhow::Result<()> {
    let path = crate::sessions::beside_this_binary()?;
    let mut child = std::process::Command::new(&path)
        .args(["audit", "record"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", path.display()))?;
    let json = serde_json::to_vec(record)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&json)
            .context("cannot hand the record over")?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        anyhow::bail!("{}", String::from_utf8_lossy(&output.stderr).trim_end());
    }
    Ok(())
}

/// Store a record read from `input` (`warden-sessions audit record`). Returns the session.
pub async fn store(
    store: &warden_audit::AuditStore,
    input: impl std::io::Read,
) -> anyhow::Result<String> {
    let record: ExecRecord =
        serde_json::from_reader(input).context("standard input is not a warden exec record")?;
    store
        .create_session(&record.session_id, &record.cwd, record.created_at)
        .await?;
    let events = record
        .events
        .into_iter()
        .enumerate()
        .map(|(i, (created_at, msg))| Event {
            session_id: record.session_id.clone(),
            seq: Some(i as u64 + 1),
            created_at,
            turn: None,
            msg,
        })
        .collect();
    store.append(events).await?;
    Ok(record.session_id)
}
