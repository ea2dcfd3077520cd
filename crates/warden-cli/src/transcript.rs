//! Rendering events as terminal lines, shared by `warden run` (live) and
//! `warden audit show` (recorded).

use warden_protocol::{
    Actor, EventMsg, NetworkAccess, Reason, ReviewDecision, ReviewOutcome, ReviewTier,
    ReviewerNote, Verdict,
};

/// What the reviewer model said, as the approval prompt shows it.
pub fn reviewer_note(note: &ReviewerNote) -> String {
    match (&note.unavailable, note.outcome) {
        (Some(why), _) => format!("auto-review unavailable: {why}"),
        (None, Some(outcome)) => {
            let verb = match outcome {
                ReviewOutcome::Approve => "approving",
                ReviewOutcome::Ask => "asking you",
                ReviewOutcome::Deny => "denying",
            };
            let risk = note
                .risk
                .map(|r| format!(" (risk {})", r.as_str()))
                .unwrap_or_default();
            format!(
                "auto-review recommends {verb}{risk}: {}",
                note.rationale.as_deref().unwrap_or("")
            )
        }
        (None, None) => "auto-review gave no verdict".into(),
    }
}

/// One line for a recorded event (no trailing newline).
pub fn line(msg: &EventMsg) -> String {
    match msg {
        EventMsg::SessionStarted {
            cwd,
            sandbox,
            approval,
            model,
            wire_api,
            policy,
            identity,
        } => {
            let requirements = match policy.requirement_sources.len() {
                0 => String::new(),
                n => format!(", {n} admin requirement source(s)"),
            };
            let on = identity
                .as_ref()
                .map(|i| format!(" on {} as {}", i.hostname, i.user))
                .unwrap_or_default();
            let mut line = format!(
                "session started in {cwd}{on} (sandbox {}, approval {}, model {model} via {wire_api}{requirements})",
                sandbox.as_str(),
                approval.as_str()
            );
            for warning in &policy.warnings {
                line.push_str(&format!("\n  WARNING: {warning}"));
            }
            line
        }
        EventMsg::UserPrompt { text } => format!("user: {text}"),
        EventMsg::CommandStarted {
            command,
            cwd,
            sandbox,
            network,
            ..
        } => format!(
            "$ {command}  (warden exec in {cwd}, sandbox {}, network {network})",
            sandbox.as_str()
        ),
        EventMsg::NetworkAccess { access, .. } => format!("  {}", network_line(access)),
        EventMsg::ProcessStarted {
            pid,
            started_at,
            executable,
            ..
        } => format!(
            "  process {pid} ({executable}) started {}",
            warden_protocol::utc_time(*started_at)
        ),
        EventMsg::TriageReport { report } => format!(
            "triage: {} (confidence {:.0} %, {} matching session(s)): {}",
            report.verdict.words(),
            report.confidence * 100.0,
            report.matches.len(),
            report.summary
        ),
        EventMsg::ModelTurn {
            text, tool_calls, ..
        } => {
            let calls = if *tool_calls > 0 {
                format!(" [{tool_calls} tool call(s)]")
            } else {
                String::new()
            };
            format!("agent: {}{calls}", one_line(text))
        }
        EventMsg::ToolCallProposed {
            tool, summary, cwd, ..
        } => format!("▶ {tool}: {summary}  (in {cwd})"),
        EventMsg::Decision {
            verdict,
            actor,
            reasons,
            ..
        } => {
            format!(
                "  {} by {}: {}",
                verdict_word(*verdict),
                actor_word(*actor),
                reasons_text(reasons)
            )
        }
        EventMsg::ApprovalRequested {
            summary,
            reason,
            risk,
            expires_at,
            review,
            hints,
            ..
        } => {
            let hints = if hints.is_empty() {
                String::new()
            } else {
                format!(" (the server says: {}; not verified)", hints.join(", "))
            };
            let risk = risk
                .as_deref()
                .map(|r| format!(" [risk {r}]"))
                .unwrap_or_default();
            let expiry = expires_at
                .map(|at| {
                    let secs = crate::keys::seconds_until(at);
                    format!(" (refused in {secs} s without an answer)")
                })
                .unwrap_or_default();
            let review = review
                .as_ref()
                .map(|r| format!("\n    {}", reviewer_note(r)))
                .unwrap_or_default();
            format!("  ? approval needed for `{summary}`: {reason}{hints}{risk}{expiry}{review}")
        }
        EventMsg::AutoReview {
            tier,
            model,
            outcome,
            risk,
            rationale,
            unavailable,
            latency_ms,
            tokens_in,
            tokens_out,
            cached,
            ..
        } => {
            let who = match (tier, model) {
                (ReviewTier::Model, Some(model)) => format!("auto-review ({model})"),
                _ => "auto-review (rules)".to_string(),
            };
            let cost = match tier {
                ReviewTier::Rules => String::new(),
                ReviewTier::Model if *cached => " [cached]".to_string(),
                ReviewTier::Model => {
                    format!(" [{latency_ms} ms, {tokens_in}+{tokens_out} tokens]")
                }
            };
            match (outcome, unavailable) {
                (_, Some(why)) => format!("  ◆ {who}: unavailable: {why}{cost}"),
                (Some(outcome), None) => format!(
                    "  ◆ {who}: {}{}: {}{cost}",
                    outcome.as_str(),
                    risk.map(|r| format!(" (risk {})", r.as_str()))
                        .unwrap_or_default(),
                    rationale.as_deref().unwrap_or("")
                ),
                (None, None) => format!("  ◆ {who}{cost}"),
            }
        }
        EventMsg::ApprovalAnswered {
            decision,
            actor,
            message,
            ..
        } => {
            let note = message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            format!(
                "  {} by {}{note}",
                decision_word(*decision),
                actor_word(*actor)
            )
        }
        EventMsg::ToolResult {
            success,
            exit_code,
            duration_ms,
            output,
            ..
        } => {
            let mark = if *success { "✓" } else { "✗" };
            let code = exit_code.map(|c| format!("exit {c}, ")).unwrap_or_default();
            format!("  {mark} {code}{duration_ms} ms: {}", one_line(output))
        }
        EventMsg::SandboxDenied { denial, .. } => {
            format!("  ⛔ sandbox ({}): {}", denial.layer, denial.detail)
        }
        EventMsg::Error { code, message } => format!("error [{code}]: {message}"),
        EventMsg::CredentialChanged { change, credential } => {
            let mut line = format!("sign-in: {} {}", credential.target, change.as_str());
            if let Some(account) = &credential.account {
                line.push_str(&format!(" as {account}"));
            }
            if let Some(error) = &credential.sign_in_error {
                line.push_str(&format!(": {error}"));
            }
            line
        }
        EventMsg::ConfigChanged {
            file,
            change,
            error,
            ..
        } => match error {
            None => format!("  rules: added to {file}: {change}"),
            Some(error) => format!("  rules: could not add to {file}: {change} ({error})"),
        },
        EventMsg::McpServerStarted {
            server,
            command,
            tools,
            error,
        } => match error {
            None => format!("mcp: {server} started ({command}): {}", tools.join(", ")),
            Some(error) => format!("mcp: {server} did not start ({command}): {error}"),
        },
        EventMsg::McpCall {
            server,
            tool,
            is_error,
            duration_ms,
            result,
            ..
        } => format!(
            "  mcp {server}.{tool} {} in {duration_ms} ms: {}",
            if *is_error { "failed" } else { "answered" },
            one_line(result)
        ),
        EventMsg::TurnComplete { .. } => "turn complete".into(),
        EventMsg::TurnAborted { reason } => format!("turn aborted: {reason}"),
        EventMsg::SessionEnded { reason } => format!("session ended ({reason})"),
        EventMsg::ReasoningDelta { delta } | EventMsg::MessageDelta { delta } => delta.clone(),
        EventMsg::OutputDelta { chunk, .. } => chunk.clone(),
    }
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 160 {
        format!("{}…", flat.chars().take(160).collect::<String>())
    } else {
        flat
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allowed",
        Verdict::Prompt => "needs approval",
        Verdict::Forbidden => "forbidden",
    }
}

fn decision_word(decision: ReviewDecision) -> &'static str {
    match decision {
        ReviewDecision::ApproveOnce => "approved once",
        ReviewDecision::ApproveForSession => "approved for the session",
        ReviewDecision::ApproveAlways => "always allowed (user rule written)",
        ReviewDecision::Deny => "denied",
        ReviewDecision::Abort => "aborted",
    }
}

pub fn actor_word(actor: Actor) -> &'static str {
    match actor {
        Actor::Rule => "rule",
        Actor::Requirement => "admin requirement",
        Actor::User => "user",
        Actor::Default => "default (fail closed)",
        Actor::SessionCache => "earlier session approval",
        Actor::AutoReview => "auto-review",
    }
}

fn reasons_text(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| format!("{} ({})", r.justification, r.rule))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line for a proxy decision: `network: allow curl → example.com:443 (…)`.
pub fn network_line(access: &NetworkAccess) -> String {
    let who = access
        .program
        .as_deref()
        .map(|p| format!("{p} → "))
        .unwrap_or_default();
    let by = access
        .source
        .as_deref()
        .map(|s| format!(" by {s}"))
        .unwrap_or_default();
    let word = if access.decision == "allow" {
        "allow"
    } else {
        "DENY"
    };
    let mut line = format!(
        "network: {word} {who}{}:{} ({}; {}{by})",
        access.host, access.port, access.protocol, access.reason
    );
    if access.decision == "allow" && access.error.is_none() {
        line.push_str(&format!(
            " {} B up, {} B down, {} ms",
            access.bytes_up, access.bytes_down, access.duration_ms
        ));
    }
    if let Some(error) = &access.error {
        line.push_str(&format!(": {error}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(expires_at: Option<i64>) -> EventMsg {
        EventMsg::ApprovalRequested {
            call_id: "net-1".into(),
            tool: "network".into(),
            summary: "curl wants web.test:443".into(),
            cwd: "/w".into(),
            reason: "no rule allows web.test:443".into(),
            risk: None,
            can_always: false,
            expires_at,
            review: None,
            hints: Vec::new(),
        }
    }

    #[test]
    fn a_question_that_expires_says_when() {
        // Whole seconds round up: 60 until 990 ms have passed.
        let in_a_minute = warden_agent::now_ms() + 59_990;
        assert_eq!(
            line(&question(Some(in_a_minute))),
            "  ? approval needed for `curl wants web.test:443`: no rule allows web.test:443 \
             (refused in 60 s without an answer)"
        );
        assert!(!line(&question(None)).contains("refused in"));
    }

    #[test]
    fn the_reviewer_s_word_shows_under_the_question() {
        let mut q = question(None);
        let EventMsg::ApprovalRequested { review, .. } = &mut q else {
            unreachable!()
        };
        *review = Some(ReviewerNote {
            model: "small".into(),
            outcome: Some(ReviewOutcome::Deny),
            risk: Some(warden_protocol::ReviewRisk::High),
            rationale: Some("it sends .env to an unknown host".into()),
            unavailable: None,
        });
        assert!(
            line(&q).ends_with(
                "\n    auto-review recommends denying (risk high): it sends .env to an unknown host"
            ),
            "{}",
            line(&q)
        );
        let EventMsg::ApprovalRequested { review, .. } = &mut q else {
            unreachable!()
        };
        *review = Some(ReviewerNote {
            model: "small".into(),
            outcome: None,
            risk: None,
            rationale: None,
            unavailable: Some("timeout after 20 s".into()),
        });
        assert!(line(&q).ends_with("\n    auto-review unavailable: timeout after 20 s"));
    }
}
