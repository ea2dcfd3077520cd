//! `warden run`: one headless session. The transcript streams to stdout; approvals are
//! asked on the terminal. Without a terminal, anything needing approval is denied.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tokio::sync::broadcast::error::RecvError;
use warden_protocol::{
    ApprovalPolicy, EventMsg, Op, ReviewDecision, SandboxMode, StartSessionParams,
};

use crate::transcript;

pub async fn run(
    overrides: Vec<String>,
    cwd: PathBuf,
    sandbox: Option<SandboxMode>,
    approval: Option<ApprovalPolicy>,
    task: String,
    rules: warden_policy::rules::RulesLoader,
) -> anyhow::Result<ExitCode> {
    let host = crate::open_host(overrides, rules).await?;
    let mut events = host.subscribe();
    let interactive = std::io::stdin().is_terminal();
    let params = StartSessionParams {
        cwd: cwd.display().to_string(),
        sandbox,
        approval,
    };
    let session_id = host
        .start(params, interactive)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    eprintln!("session {session_id}");
    host.submit(&session_id, Op::UserTurn { text: task })?;
    let mut outcome = ExitCode::FAILURE;
    let mut streaming = false;
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(n)) => {
                eprintln!(
                    "warden: {n} live events skipped; `warden audit show {session_id}` has them all"
                );
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        if event.session_id != session_id {
            continue;
        }
        let mut out = std::io::stdout().lock();
        match &event.msg {
            EventMsg::MessageDelta { delta } | EventMsg::OutputDelta { chunk: delta, .. } => {
                let _ = write!(out, "{delta}");
                let _ = out.flush();
                streaming = true;
                continue;
            }
            EventMsg::ReasoningDelta { .. } => continue,
            _ => {}
        }
        if streaming {
            let _ = writeln!(out);
            streaming = false;
        }
        let line = transcript::line(&event.msg);
        if matches!(event.msg, EventMsg::Error { .. }) {
            eprintln!("{line}");
        } else {
            let _ = writeln!(out, "{line}");
        }
        drop(out);
        match &event.msg {
            EventMsg::ApprovalRequested {
                call_id,
                expires_at,
                ..
            } => {
                let Some((decision, message)) = ask_on_terminal(*expires_at).await? else {
                    // The session closes the question itself (denied: no answer in time).
                    continue;
                };
                host.submit(
                    &session_id,
                    Op::Approval {
                        call_id: call_id.clone(),
                        decision,
                        message,
                    },
                )?;
            }
            EventMsg::TurnComplete { .. } => {
                outcome = ExitCode::SUCCESS;
                host.submit(&session_id, Op::Shutdown)?;
            }
            EventMsg::TurnAborted { .. } => host.submit(&session_id, Op::Shutdown)?,
            EventMsg::SessionEnded { .. } => break,
            _ => {}
        }
    }
    if !host
        .flush_telemetry(std::time::Duration::from_secs(3))
        .await
    {
        eprintln!(
            "warden: the telemetry collector has not acknowledged every event yet; they will be sent next time"
        );
    }
    Ok(outcome)
}

/// The person's answer, or `None` when the question expired (`expires_at`) first.
async fn ask_on_terminal(
    expires_at: Option<i64>,
) -> anyhow::Result<Option<(ReviewDecision, Option<String>)>> {
    tokio::task::spawn_blocking(move || {
        let stdin = std::io::stdin();
        loop {
            eprint!(
                "  approve? [y] once  [s] for this session  [r] always: write a rule  [n] deny  [a] abort turn: "
            );
            // Stop waiting when the question expires, so that the next keys answer the
            // next question.
            if let Some(at) = expires_at
                && !crate::keys::typed_before(&stdin, at)
            {
                eprintln!();
                return Ok(None);
            }
            let mut answer = String::new();
            if stdin.lock().read_line(&mut answer)? == 0 {
                return Ok(Some((
                    ReviewDecision::Deny,
                    Some("the terminal closed".into()),
                )));
            }
            let decision = match answer.trim() {
                "y" | "Y" | "yes" => ReviewDecision::ApproveOnce,
                "s" | "S" => ReviewDecision::ApproveForSession,
                "r" | "R" | "always" => ReviewDecision::ApproveAlways,
                "n" | "N" | "no" => ReviewDecision::Deny,
                "a" | "A" => ReviewDecision::Abort,
                _ => continue,
            };
            let mut message = None;
            if decision == ReviewDecision::Deny {
                eprint!("  reason for the agent (optional): ");
                let mut reason = String::new();
                stdin.lock().read_line(&mut reason)?;
                message = Some(reason.trim().to_string()).filter(|r| !r.is_empty());
            }
            return Ok(Some((decision, message)));
        }
    })
    .await
    .context("the approval prompt failed")?
}
