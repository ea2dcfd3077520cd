//! Insights' daily counts (the `rollups` table): what each recorded event adds to which
//! metric on its UTC day. Producers derive an event's counts from its payload
//! (`tallies`); the commit thread adds them, and those of a person's answer (which need
//! the question it answers, read in the same transaction: `answer_tallies`), in the
//! transaction that writes the events. Events recorded before the table existed are
//! counted by `backfill` (rollup_backfill.rs).
//!
//! Keys with two parts join them with a tab (`allow\tuser`).

use warden_protocol::{Actor, EventMsg, PolicySource, ReviewDecision, Verdict};

/// Milliseconds in a day: `created_at / DAY_MS` is an event's UTC day.
pub const DAY_MS: i64 = 86_400_000;

/// The metrics and what their keys are.
pub mod metric {
    /// A session started (key empty).
    pub const SESSION: &str = "session";
    /// A session started in this workspace (key: the folder).
    pub const WORKSPACE: &str = "workspace";
    /// A tool call proposed by the model (key: the tool's name).
    pub const TOOL: &str = "tool";
    /// An MCP tool call (key: `server\ttool`).
    pub const MCP: &str = "mcp";
    /// A tool call or question settled (key: `allow|refuse\tactor`): policy decisions
    /// that needed nobody, and every answered question.
    pub const DECISION: &str = "decision";
    /// A question asked (key: the tool, `network` for a host).
    pub const ASKED: &str = "asked";
    /// How long a person took to answer (key: milliseconds; one per answer).
    pub const ANSWER_MS: &str = "answer_ms";
    /// A person's answer to a command question (key: `approved|refused\tcommand line`).
    pub const ASK_COMMAND: &str = "ask_command";
    /// A person's answer to a network question (key: `approved|refused\thost`).
    pub const ASK_HOST: &str = "ask_host";
    /// A connection through the egress proxy (key: `allow|deny\thost`).
    pub const NETWORK: &str = "network";
    /// A network question (key: the host).
    pub const NETWORK_ASKED: &str = "network_asked";
    /// What the sandbox refused (key: `operation\tlayer`).
    pub const DENIAL: &str = "denial";
    /// An auto-review (key: `tier\toutcome`, the outcome `unavailable` when it could not
    /// answer).
    pub const REVIEW: &str = "review";
    /// Tokens auto-review's reviewer spent (key: `in` or `out`).
    pub const REVIEW_TOKENS: &str = "review_tokens";
    /// A configured rule that decided something (key: its source, `file:line`).
    pub const RULE: &str = "rule";
    /// A refusal in a session (key: the session id): refused decisions and answers,
    /// refused connections.
    pub const REFUSAL: &str = "refusal";
}

/// One count to add to a metric on the event's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    pub metric: &'static str,
    pub key: String,
    pub n: i64,
}

fn one(metric: &'static str, key: impl Into<String>) -> Tally {
    Tally {
        metric,
        key: key.into(),
        n: 1,
    }
}

/// A person's answer, whose counts need the question it answers.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub call_id: String,
    pub approved: bool,
}

/// The question a person answered, as read from the store.
pub(crate) struct Question {
    pub created_at: i64,
    pub tool: String,
    pub summary: String,
}

impl Question {
    /// From a row of `QUESTION` (direct.rs values).
    pub(crate) fn from_row(row: &[crate::direct::Value]) -> Option<Self> {
        Some(Self {
            created_at: row.first()?.int()?,
            tool: row.get(1)?.text().unwrap_or_default().to_string(),
            summary: row.get(2)?.text().unwrap_or_default().to_string(),
        })
    }
}

/// The question an answer in `session` with `callId` answered (the latest asked), through
/// the partial index of questions (migration 0014): left to itself the planner would walk
/// every event of the session.
pub(crate) const QUESTION: &str = "SELECT created_at, json_extract(payload, '$.tool'), \
     json_extract(payload, '$.summary') FROM events INDEXED BY events_question \
     WHERE session_id = ? AND kind = 'approvalRequested' AND json_extract(payload, '$.callId') = ? \
     ORDER BY id DESC LIMIT 1";

/// Add `n` to (`metric`, `key`) on `day`, in one statement per count.
pub(crate) const UPSERT: &str = "INSERT INTO rollups (day, metric, key, n) VALUES (?, ?, ?, ?) \
     ON CONFLICT (day, metric, key) DO UPDATE SET n = n + excluded.n";

/// What `msg`, recorded in `session`, adds to the counts, and the answer whose counts
/// need its question.
pub(crate) fn tallies(session: &str, msg: &EventMsg) -> (Vec<Tally>, Option<Answer>) {
    let mut out = Vec::new();
    let mut answer = None;
    match msg {
        EventMsg::SessionStarted { cwd, .. } => {
            out.push(one(metric::SESSION, ""));
            out.push(one(metric::WORKSPACE, cwd.as_str()));
        }
        EventMsg::ToolCallProposed { tool, .. } => out.push(one(metric::TOOL, tool.as_str())),
        EventMsg::McpCall { server, tool, .. } => {
            out.push(one(metric::MCP, format!("{server}\t{tool}")))
        }
        EventMsg::Decision {
            verdict,
            actor,
            reasons,
            ..
        } => {
            if *verdict != Verdict::Prompt {
                let allowed = *verdict == Verdict::Allow;
                out.push(one(metric::DECISION, decision_key(allowed, *actor)));
                if !allowed {
                    out.push(one(metric::REFUSAL, session));
                }
            }
            for reason in reasons {
                if from_a_file(&reason.source) {
                    out.push(one(metric::RULE, reason.source.to_string()));
                }
            }
        }
        EventMsg::ApprovalRequested { tool, summary, .. } => {
            out.push(one(metric::ASKED, tool.as_str()));
            if tool == "network"
                && let Some(host) = asked_host(summary)
            {
                out.push(one(metric::NETWORK_ASKED, host));
            }
        }
        EventMsg::ApprovalAnswered {
            call_id,
            decision,
            actor,
            ..
        } => {
            let approved = !matches!(decision, ReviewDecision::Deny | ReviewDecision::Abort);
            out.push(one(metric::DECISION, decision_key(approved, *actor)));
            if !approved {
                out.push(one(metric::REFUSAL, session));
            }
            if *actor == Actor::User {
                answer = Some(Answer {
                    call_id: call_id.clone(),
                    approved,
                });
            }
        }
        EventMsg::NetworkAccess { access, .. } => {
            let allowed = access.decision == "allow";
            let outcome = if allowed { "allow" } else { "deny" };
            out.push(one(metric::NETWORK, format!("{outcome}\t{}", access.host)));
            if !allowed {
                out.push(one(metric::REFUSAL, session));
            }
            if let Some(source) = &access.source {
                out.push(one(metric::RULE, source.as_str()));
            }
        }
        EventMsg::SandboxDenied { denial, .. } => out.push(one(
            metric::DENIAL,
            format!("{}\t{}", denial.operation, denial.layer),
        )),
        EventMsg::AutoReview {
            tier,
            outcome,
            unavailable,
            tokens_in,
            tokens_out,
            ..
        } => {
            let said = match (outcome, unavailable) {
                (_, Some(_)) => "unavailable",
                (Some(outcome), None) => outcome.as_str(),
                (None, None) => "unavailable",
            };
            out.push(one(metric::REVIEW, format!("{}\t{said}", tier.as_str())));
            for (key, n) in [("in", *tokens_in), ("out", *tokens_out)] {
                if n > 0 {
                    out.push(Tally {
                        metric: metric::REVIEW_TOKENS,
                        key: key.into(),
                        n: n as i64,
                    });
                }
            }
        }
        _ => {}
    }
    (out, answer)
}

/// What a person's answer at `answered_at` adds once its question is known: how long
/// they took, and for commands and hosts what they said of it (tuning suggestions).
pub(crate) fn answer_tallies(answer: &Answer, answered_at: i64, question: &Question) -> Vec<Tally> {
    let mut out = vec![one(
        metric::ANSWER_MS,
        (answered_at - question.created_at).max(0).to_string(),
    )];
    let said = if answer.approved {
        "approved"
    } else {
        "refused"
    };
    match question.tool.as_str() {
        "shell" => out.push(one(
            metric::ASK_COMMAND,
            format!("{said}\t{}", question.summary),
        )),
        "network" => {
            if let Some(host) = asked_host(&question.summary) {
                out.push(one(metric::ASK_HOST, format!("{said}\t{host}")));
            }
        }
        _ => {}
    }
    out
}

/// Whether a rule came from a file (the rules and config a person or admin wrote), not
/// from Warden itself or from an answer.
fn from_a_file(source: &PolicySource) -> bool {
    !matches!(
        source,
        PolicySource::BuiltIn
            | PolicySource::SessionFlag
            | PolicySource::SessionApproval
            | PolicySource::AutoReview
    )
}

fn decision_key(allowed: bool, actor: Actor) -> String {
    let outcome = if allowed { "allow" } else { "refuse" };
    format!("{outcome}\t{}", actor.as_str())
}

/// The host a network question is about, from its summary (`curl wants example.com:443`,
/// `curl (from \`make\`) wants [::1]:8080`).
pub(crate) fn asked_host(summary: &str) -> Option<&str> {
    let (_, target) = summary.rsplit_once(" wants ")?;
    let (host, port) = target.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

/// Counts summed by (day, metric, key), ready to add to the table. The keys are borrowed
/// from the tallies: summing a batch on the commit thread copies no strings.
#[derive(Default)]
pub(crate) struct Sums<'a>(std::collections::HashMap<(i64, &'static str, &'a str), i64>);

impl<'a> Sums<'a> {
    pub fn add(&mut self, created_at: i64, tallies: &'a [Tally]) {
        let day = created_at.div_euclid(DAY_MS);
        for t in tallies {
            *self.0.entry((day, t.metric, t.key.as_str())).or_default() += t.n;
        }
    }

    pub fn into_rows(self) -> impl Iterator<Item = (i64, &'static str, &'a str, i64)> {
        self.0.into_iter().map(|((d, m, k), n)| (d, m, k, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_a_network_question_is_read_from_its_summary() {
        for (summary, host) in [
            ("curl wants example.com:443", Some("example.com")),
            ("a command wants pypi.org:80", Some("pypi.org")),
            (
                "curl (from `curl https://x wants y:1`) wants registry.npmjs.org:443",
                Some("registry.npmjs.org"),
            ),
            ("curl wants [::1]:8080", Some("::1")),
            ("curl wants 10.0.0.1:22", Some("10.0.0.1")),
            ("curl wants example.com", None),
            ("curl wants :443", None),
            ("nothing here", None),
        ] {
            assert_eq!(asked_host(summary), host, "{summary}");
        }
    }

    #[test]
    fn sums_add_counts_of_the_same_day_metric_and_key() {
        let two = [one(metric::TOOL, "shell"), one(metric::TOOL, "shell")];
        let single = [one(metric::TOOL, "shell")];
        let mut sums = Sums::default();
        sums.add(DAY_MS * 3 + 5, &two);
        sums.add(DAY_MS * 3 + 99, &single);
        sums.add(DAY_MS * 4, &single);
        let mut rows: Vec<_> = sums.into_rows().collect();
        rows.sort();
        assert_eq!(
            rows,
            vec![(3, metric::TOOL, "shell", 3), (4, metric::TOOL, "shell", 1)]
        );
    }
}
