//! Insights' daily counts: generated sessions (tool calls, rule decisions, questions a
//! person answers after a known wait, network connections and questions, sandbox
//! denials, auto-reviews) are recorded through the store, and the counts it kept as it
//! committed are compared with what the generator knows it produced. A store whose counts
//! are wiped (as one from before them) counts the same again from its events, and
//! retention takes whole days' counts with their events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::sqlite;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use warden_audit::{AuditStore, DAY_MS, metric};
use warden_protocol::{
    Actor, Event, EventMsg, NetworkAccess, PolicySource, Reason, ReviewDecision, ReviewOutcome,
    ReviewTier, SandboxDenial, SandboxMode, Verdict,
};

type Counts = BTreeMap<(i64, String, String), i64>;

/// What the generator produced, counted as it went.
#[derive(Default)]
struct Truth {
    counts: Counts,
}

impl Truth {
    fn add(&mut self, at: i64, metric: &str, key: &str, n: i64) {
        *self
            .counts
            .entry((at / DAY_MS, metric.to_string(), key.to_string()))
            .or_default() += n;
    }
}

struct Recorder {
    session: String,
    seq: u64,
    now: i64,
    events: Vec<Event>,
}

impl Recorder {
    fn push(&mut self, msg: EventMsg) {
        self.seq += 1;
        self.events.push(Event {
            session_id: self.session.clone(),
            seq: Some(self.seq),
            created_at: self.now,
            turn: None,
            msg,
        });
    }
}

const COMMANDS: [&str; 3] = ["cargo test", "npm run build", "git push --force"];
const HOSTS: [&str; 3] = ["pypi.org", "example.com", "203.0.113.7"];
const TOOLS: [&str; 3] = ["shell", "read_file", "mcp__docs__search"];

fn shell_call(call_id: &str, tool: &str, summary: &str) -> EventMsg {
    EventMsg::ToolCallProposed {
        call_id: call_id.into(),
        tool: tool.into(),
        summary: summary.into(),
        cwd: "/w".into(),
        arguments: serde_json::json!({}),
    }
}

fn question(call_id: &str, tool: &str, summary: &str) -> EventMsg {
    EventMsg::ApprovalRequested {
        call_id: call_id.into(),
        tool: tool.into(),
        summary: summary.into(),
        cwd: "/w".into(),
        reason: "asked".into(),
        risk: None,
        can_always: true,
        expires_at: None,
        review: None,
        hints: Vec::new(),
    }
}

fn answer(call_id: &str, approved: bool, actor: Actor) -> EventMsg {
    EventMsg::ApprovalAnswered {
        call_id: call_id.into(),
        decision: if approved {
            ReviewDecision::ApproveOnce
        } else {
            ReviewDecision::Deny
        },
        actor,
        message: None,
    }
}

/// One generated session starting at `start`; returns its events.
fn session(rng: &mut StdRng, id: &str, start: i64, truth: &mut Truth) -> Vec<Event> {
    let mut r = Recorder {
        session: id.into(),
        seq: 0,
        now: start,
        events: Vec::new(),
    };
    let cwd = ["/home/dev/app", "/home/dev/lib"][rng.random_range(0..2)];
    r.push(EventMsg::SessionStarted {
        cwd: cwd.into(),
        sandbox: SandboxMode::WorkspaceWrite,
        approval: warden_protocol::ApprovalPolicy::OnRequest,
        model: "m".into(),
        wire_api: "chat".into(),
        policy: Default::default(),
        identity: None,
    });
    truth.add(r.now, metric::SESSION, "", 1);
    truth.add(r.now, metric::WORKSPACE, cwd, 1);
    for step in 0..rng.random_range(1..25) {
        // Up to nine hours between steps: sessions run across midnight.
        r.now += rng.random_range(0..9 * 3_600_000);
        let call_id = format!("c{step}");
        match rng.random_range(0..6) {
            0 | 1 => {
                let tool = TOOLS[rng.random_range(0..3)];
                let command = COMMANDS[rng.random_range(0..3)];
                r.push(shell_call(&call_id, tool, command));
                truth.add(r.now, metric::TOOL, tool, 1);
                let line = rng.random_range(1..4u32);
                let source = PolicySource::UserRules {
                    path: "/r/default.rules".into(),
                }
                .at_line(line);
                let verdict =
                    [Verdict::Allow, Verdict::Forbidden, Verdict::Prompt][rng.random_range(0..3)];
                let actor = [Actor::Rule, Actor::Requirement][rng.random_range(0..2)];
                r.push(EventMsg::Decision {
                    call_id: call_id.clone(),
                    verdict,
                    actor,
                    reasons: vec![Reason {
                        rule: "r".into(),
                        source: source.clone(),
                        justification: "j".into(),
                    }],
                });
                truth.add(r.now, metric::RULE, &source.to_string(), 1);
                match verdict {
                    Verdict::Allow => truth.add(
                        r.now,
                        metric::DECISION,
                        &format!("allow\t{}", actor.as_str()),
                        1,
                    ),
                    Verdict::Forbidden => {
                        truth.add(
                            r.now,
                            metric::DECISION,
                            &format!("refuse\t{}", actor.as_str()),
                            1,
                        );
                        truth.add(r.now, metric::REFUSAL, id, 1);
                    }
                    Verdict::Prompt => {
                        r.push(question(&call_id, tool, command));
                        truth.add(r.now, metric::ASKED, tool, 1);
                        let waited = rng.random_range(0..120_000);
                        r.now += waited;
                        let approved = rng.random_bool(0.7);
                        r.push(answer(&call_id, approved, Actor::User));
                        let outcome = if approved { "allow" } else { "refuse" };
                        truth.add(r.now, metric::DECISION, &format!("{outcome}\tuser"), 1);
                        truth.add(r.now, metric::ANSWER_MS, &waited.to_string(), 1);
                        if !approved {
                            truth.add(r.now, metric::REFUSAL, id, 1);
                        }
                        if tool == "shell" {
                            let said = if approved { "approved" } else { "refused" };
                            truth.add(r.now, metric::ASK_COMMAND, &format!("{said}\t{command}"), 1);
                        }
                    }
                }
            }
            2 => {
                let host = HOSTS[rng.random_range(0..3)];
                r.push(question(
                    &call_id,
                    "network",
                    &format!("curl wants {host}:443"),
                ));
                truth.add(r.now, metric::ASKED, "network", 1);
                truth.add(r.now, metric::NETWORK_ASKED, host, 1);
                let waited = rng.random_range(0..30_000);
                r.now += waited;
                // A person answers, or auto-review does (no wait counted for it).
                let by_person = rng.random_bool(0.8);
                let approved = rng.random_bool(0.5);
                let actor = if by_person {
                    Actor::User
                } else {
                    Actor::AutoReview
                };
                r.push(answer(&call_id, approved, actor));
                let outcome = if approved { "allow" } else { "refuse" };
                truth.add(
                    r.now,
                    metric::DECISION,
                    &format!("{outcome}\t{}", actor.as_str()),
                    1,
                );
                if !approved {
                    truth.add(r.now, metric::REFUSAL, id, 1);
                }
                if by_person {
                    truth.add(r.now, metric::ANSWER_MS, &waited.to_string(), 1);
                    let said = if approved { "approved" } else { "refused" };
                    truth.add(r.now, metric::ASK_HOST, &format!("{said}\t{host}"), 1);
                }
            }
            3 => {
                let host = HOSTS[rng.random_range(0..3)];
                let allowed = rng.random_bool(0.5);
                r.push(EventMsg::NetworkAccess {
                    call_id: Some(call_id.clone()),
                    access: NetworkAccess {
                        host: host.into(),
                        port: 443,
                        protocol: "connect".into(),
                        decision: if allowed { "allow" } else { "deny" }.into(),
                        reason: "rule".into(),
                        source: None,
                        actor: Actor::Rule,
                        address: None,
                        program: Some("curl".into()),
                        command: None,
                        error: None,
                        bytes_up: 0,
                        bytes_down: 0,
                        duration_ms: 0,
                    },
                });
                let outcome = if allowed { "allow" } else { "deny" };
                truth.add(r.now, metric::NETWORK, &format!("{outcome}\t{host}"), 1);
                if !allowed {
                    truth.add(r.now, metric::REFUSAL, id, 1);
                }
            }
            4 => {
                let operation = ["write", "read"][rng.random_range(0..2)];
                r.push(EventMsg::SandboxDenied {
                    call_id: call_id.clone(),
                    denial: SandboxDenial {
                        operation: operation.into(),
                        target: "/etc/x".into(),
                        layer: "landlock".into(),
                        detail: "d".into(),
                    },
                });
                truth.add(r.now, metric::DENIAL, &format!("{operation}\tlandlock"), 1);
            }
            _ => {
                let unavailable = rng.random_bool(0.2);
                let (tokens_in, tokens_out) = (rng.random_range(0..900), rng.random_range(0..90));
                r.push(EventMsg::AutoReview {
                    call_id: call_id.clone(),
                    tier: ReviewTier::Model,
                    kind: "shell".into(),
                    summary: "shell: make".into(),
                    action: serde_json::json!({}),
                    model: Some("reviewer".into()),
                    outcome: (!unavailable).then_some(ReviewOutcome::Approve),
                    risk: None,
                    user_authorized: None,
                    rationale: None,
                    unavailable: unavailable.then(|| "timeout after 20 s".into()),
                    latency_ms: 5,
                    tokens_in,
                    tokens_out,
                    cached: false,
                });
                let said = if unavailable {
                    "unavailable"
                } else {
                    "approve"
                };
                truth.add(r.now, metric::REVIEW, &format!("model\t{said}"), 1);
                if tokens_in > 0 {
                    truth.add(r.now, metric::REVIEW_TOKENS, "in", tokens_in as i64);
                }
                if tokens_out > 0 {
                    truth.add(r.now, metric::REVIEW_TOKENS, "out", tokens_out as i64);
                }
            }
        }
    }
    r.events
}

async fn counts_of(store: &AuditStore) -> Counts {
    store
        .rollups(i64::MIN / DAY_MS, i64::MAX / DAY_MS)
        .await
        .unwrap()
        .into_iter()
        .map(|r| ((r.day, r.metric, r.key), r.n))
        .collect()
}

/// Record generated sessions (appended in random-sized pieces, interleaved) into a new
/// store; returns it and the truth.
async fn generated_store(seed: u64, path: &std::path::Path) -> (AuditStore, Truth) {
    let mut rng = StdRng::seed_from_u64(seed);
    let store = AuditStore::open(path).await.unwrap();
    let mut truth = Truth::default();
    let base = 20_000 * DAY_MS + rng.random_range(0..DAY_MS);
    let mut sessions = Vec::new();
    for i in 0..rng.random_range(1..6) {
        let id = format!("0190c1f2-7abc-7def-8123-{i:012}");
        let start = base + rng.random_range(0..3 * DAY_MS);
        store.create_session(&id, "/w", start).await.unwrap();
        sessions.push(session(&mut rng, &id, start, &mut truth));
    }
    while sessions.iter().any(|s| !s.is_empty()) {
        let pick = rng.random_range(0..sessions.len());
        let take = rng.random_range(1..8).min(sessions[pick].len());
        let piece: Vec<Event> = sessions[pick].drain(..take).collect();
        if !piece.is_empty() {
            store.append(piece).await.unwrap();
        }
    }
    (store, truth)
}

#[tokio::test]
async fn counts_kept_while_recording_match_what_the_sessions_did() {
    for seed in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let (store, truth) = generated_store(seed, &dir.path().join("audit.db")).await;
        assert_eq!(counts_of(&store).await, truth.counts, "seed {seed}");
    }
}

#[tokio::test]
async fn a_store_from_before_the_counts_counts_its_events_the_same() {
    for seed in 100..112 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let (store, truth) = generated_store(seed, &path).await;
        drop(store);
        // As a store migrated from before the counts: none kept, every event to count.
        sqlite(
            &path,
            "DELETE FROM rollups; UPDATE rollup_backfill SET below_id = (SELECT MAX(id) + 1 FROM events);",
        );
        let store = AuditStore::open(&path).await.unwrap();
        assert!(store.rollup_backlog().await.unwrap() > 0);
        assert_eq!(counts_of(&store).await, truth.counts, "seed {seed}");
        assert_eq!(store.rollup_backlog().await.unwrap(), 0);
        // Counted once: asking again adds nothing.
        assert_eq!(counts_of(&store).await, truth.counts, "seed {seed}");
    }
}

#[tokio::test]
async fn a_periods_counts_are_the_daily_counts_summed_but_sessions_stay_per_day() {
    let dir = tempfile::tempdir().unwrap();
    let (store, truth) = generated_store(31, &dir.path().join("audit.db")).await;
    let days: Vec<i64> = truth.counts.keys().map(|(d, _, _)| *d).collect();
    let (first, last) = (days[0], *days.iter().max().unwrap());
    // Every window of the generated days, the empty ones around them included.
    for from in first - 1..=last + 1 {
        for to in from..=last + 1 {
            let mut expected = Counts::new();
            for ((day, metric, key), n) in &truth.counts {
                if (from..=to).contains(day) {
                    let day = if metric == metric::SESSION {
                        *day
                    } else {
                        from
                    };
                    *expected
                        .entry((day, metric.clone(), key.clone()))
                        .or_default() += n;
                }
            }
            let got: Counts = store
                .period_counts(from, to)
                .await
                .unwrap()
                .into_iter()
                .map(|r| ((r.day, r.metric, r.key), r.n))
                .collect();
            assert_eq!(got, expected, "days {from}..={to}");
        }
    }
}

#[tokio::test]
async fn retention_takes_the_counts_of_whole_days_before_its_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let (store, truth) = generated_store(7, &dir.path().join("audit.db")).await;
    let first_day = truth.counts.keys().next().unwrap().0;
    let cutoff = (first_day + 2) * DAY_MS + 5;
    store.apply_retention(cutoff, cutoff).await.unwrap();
    let kept = counts_of(&store).await;
    assert!(kept.keys().all(|(day, _, _)| *day >= first_day + 2));
    let expected: Counts = truth
        .counts
        .into_iter()
        .filter(|((day, _, _), _)| *day >= first_day + 2)
        .collect();
    assert_eq!(kept, expected);
}
