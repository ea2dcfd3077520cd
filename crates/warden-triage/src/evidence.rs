//! The evidence bundle: for each matched session, what the person asked (its prompts)
//! and the record around the matching events: tool calls, each decision and who made it
//! (a rule, a person, auto-review, an admin requirement), results, network decisions,
//! sandbox denials. Ordered, capped, and already redacted (the store redacts on write).

use warden_audit::{AuditError, AuditStore};
use warden_protocol::{Event, EventMsg, SessionIdentity, TriageMatch};

/// Events kept either side of the matching ones.
const AROUND: u64 = 12;
/// Most events per session.
const MAX_ITEMS: usize = 60;
/// Sessions whose evidence is gathered (the best matches).
const MAX_SESSIONS: usize = 3;
/// Longest text of one item.
const ITEM_CHARS: usize = 400;

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub session_id: String,
    pub seq: u64,
    pub at: i64,
    /// The event's kind (`decision`, `networkAccess`, …).
    pub kind: &'static str,
    /// Who acted (`user`, `rule`, `auto-review`, `requirement`, `agent`, `sandbox`).
    pub actor: &'static str,
    pub text: String,
    /// One of the events the alert matched.
    pub matched: bool,
}

/// A matched session's evidence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionEvidence {
    pub session_id: String,
    pub identity: Option<SessionIdentity>,
    pub prompts: Vec<String>,
    pub items: Vec<Item>,
}

/// Gather the evidence of the best matches.
pub async fn gather(
    store: &AuditStore,
    matches: &[TriageMatch],
    identity: impl Fn(&str) -> Option<SessionIdentity>,
) -> Result<Vec<SessionEvidence>, AuditError> {
    let mut out = Vec::new();
    for m in matches.iter().take(MAX_SESSIONS) {
        let prompts = store
            .session_events_of(&m.session_id, &["userPrompt"], 20)
            .await?
            .into_iter()
            .filter_map(|e| match e.msg {
                EventMsg::UserPrompt { text } => Some(clip(&text, ITEM_CHARS)),
                _ => None,
            })
            .collect();
        let first = m.events.iter().min().copied().unwrap_or(1);
        let last = m.events.iter().max().copied().unwrap_or(first);
        let events = store
            .session_slice(
                &m.session_id,
                first.saturating_sub(AROUND).max(1),
                last + AROUND,
            )
            .await?;
        let mut items: Vec<Item> = events
            .iter()
            .filter_map(|e| item(e, m.events.contains(&e.seq.unwrap_or(0))))
            .collect();
        // Over the cap: keep the matched events and those nearest them.
        if items.len() > MAX_ITEMS {
            let distance = |it: &Item| {
                m.events
                    .iter()
                    .map(|s| s.abs_diff(it.seq))
                    .min()
                    .unwrap_or(u64::MAX)
            };
            let mut by_nearness: Vec<usize> = (0..items.len()).collect();
            by_nearness.sort_by_key(|&i| distance(&items[i]));
            let mut keep: Vec<usize> = by_nearness.into_iter().take(MAX_ITEMS).collect();
            keep.sort_unstable();
            items = keep.into_iter().map(|i| items[i].clone()).collect();
        }
        out.push(SessionEvidence {
            session_id: m.session_id.clone(),
            identity: identity(&m.session_id),
            prompts,
            items,
        });
    }
    Ok(out)
}

/// An event as evidence; None for what says nothing about why (streaming, turns).
fn item(e: &Event, matched: bool) -> Option<Item> {
    let text = match &e.msg {
        EventMsg::UserPrompt { text } => format!("the person asked: {text}"),
        EventMsg::ToolCallProposed { tool, summary, .. } => {
            format!("the agent called {tool}: {summary}")
        }
        EventMsg::Decision {
            verdict, reasons, ..
        } => format!(
            "policy decision {}: {}",
            verdict_word(*verdict),
            reasons
                .iter()
                .map(|r| format!("{} [{} from {}]", r.justification, r.rule, r.source))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        EventMsg::ApprovalRequested {
            summary, reason, ..
        } => {
            format!("asked the person about `{summary}`: {reason}")
        }
        EventMsg::AutoReview {
            tier,
            outcome,
            rationale,
            unavailable,
            summary,
            ..
        } => match (outcome, unavailable) {
            (_, Some(why)) => format!("auto-review unavailable for {summary}: {why}"),
            (Some(o), None) => format!(
                "auto-review ({}) said {} for {summary}: {}",
                tier.as_str(),
                o.as_str(),
                rationale.as_deref().unwrap_or("")
            ),
            _ => format!("auto-review looked at {summary}"),
        },
        EventMsg::ApprovalAnswered {
            decision, message, ..
        } => format!(
            "answered by {}: {}{}",
            e.msg.actor(),
            answer_word(*decision),
            message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
        EventMsg::ToolResult {
            success,
            exit_code,
            output,
            ..
        } => format!(
            "result: {}{}: {}",
            if *success { "succeeded" } else { "failed" },
            exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default(),
            output
        ),
        EventMsg::SandboxDenied { denial, .. } => {
            format!("the sandbox refused: {} [{}]", denial.detail, denial.layer)
        }
        EventMsg::NetworkAccess { access, .. } => format!(
            "network {} {}:{}{} ({}{}), by `{}`",
            access.decision,
            access.host,
            access.port,
            access
                .address
                .as_deref()
                .map(|a| format!(" = {a}"))
                .unwrap_or_default(),
            access.reason,
            access
                .source
                .as_deref()
                .map(|s| format!(" from {s}"))
                .unwrap_or_default(),
            access.command.as_deref().unwrap_or("?")
        ),
        EventMsg::ProcessStarted {
            pid,
            command_line,
            started_at,
            ..
        } => format!(
            "process {pid} ran `{command_line}` from {}",
            warden_protocol::utc_time(*started_at)
        ),
        EventMsg::CommandStarted { command, .. } => {
            format!("a person ran `{command}` with warden exec")
        }
        EventMsg::McpCall {
            server,
            tool,
            arguments,
            result,
            ..
        } => format!("MCP {server}.{tool} {arguments}: {result}"),
        EventMsg::ConfigChanged { change, file, .. } => format!("{change} written to {file}"),
        _ => return None,
    };
    Some(Item {
        session_id: e.session_id.clone(),
        seq: e.seq.unwrap_or(0),
        at: e.created_at,
        kind: e.msg.kind(),
        actor: e.msg.actor(),
        text: clip(&text, ITEM_CHARS),
        matched,
    })
}

fn verdict_word(v: warden_protocol::Verdict) -> &'static str {
    match v {
        warden_protocol::Verdict::Allow => "allow",
        warden_protocol::Verdict::Prompt => "ask",
        warden_protocol::Verdict::Forbidden => "forbidden",
    }
}

fn answer_word(d: warden_protocol::ReviewDecision) -> &'static str {
    use warden_protocol::ReviewDecision::*;
    match d {
        ApproveOnce => "approved once",
        ApproveForSession => "approved for the session",
        ApproveAlways => "always allowed",
        Deny => "denied",
        Abort => "aborted",
    }
}

/// `text` cut to `max` characters, marked where it was cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head} […]")
}
