//! Insights over a large audit store (issue 24: 30 days of figures over 5,000,000 events
//! in ≤ 300 ms, and the view responsive while a session records). The store holds 1,000
//! sessions over 30 days, each a cycle of prompts, tool calls (four tools, one of them an
//! MCP server's), decisions (most by rules, some asked and answered by a person a few
//! seconds later, some refused), connections to forty hosts, sandbox denials, auto-reviews
//! and results; the daily counts are kept as it is written, through the real write path.
//! Prints the ingest rate, then the 30-day figures' p50 and p99 with the store idle and
//! while another task keeps recording a session.
//!
//! `cargo bench -p warden-insights --bench insights -- [EVENTS] [RUNS]` (defaults
//! 5,000,000 and 100). The store is written under `target/bench-insights/` and removed,
//! unless `INSIGHTS_BENCH_KEEP=1`, which keeps it and reuses a kept one of that size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use warden_audit::{AuditStore, DAY_MS};
use warden_insights::{Period, PolicyNow};
use warden_protocol::*;

const SESSIONS: u64 = 1000;
const BATCH: usize = 2000;
const DAYS: i64 = 30;
const HOSTS: u64 = 40;
const TOOLS: &[&str] = &["shell", "read_file", "apply_patch", "mcp__docs__search"];

struct Nothing;

impl PolicyNow for Nothing {
    fn allows_command(&self, _: &[String]) -> bool {
        false
    }
    fn allows_host(&self, _: &str) -> bool {
        false
    }
    fn rules(&self) -> Vec<(String, String)> {
        (1..=20)
            .map(|l| {
                (
                    format!("user rules /r/default.rules:{l}"),
                    format!("rule {l}"),
                )
            })
            .collect()
    }
    fn rules_locked(&self) -> Option<String> {
        None
    }
    fn today(&self) -> String {
        "2026-12-07".into()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Event `seq` of session `s`, the `n`th of the store, at `at`.
fn event(s: u64, seq: u64, n: u64, at: i64) -> Event {
    let call_id = format!("c{}", seq / 12);
    let host = format!("host{}.example", n % HOSTS);
    let command = format!("make target_{}", n % 30);
    let msg = if seq == 1 {
        EventMsg::SessionStarted {
            cwd: format!("/home/dev/p{}", s % 50),
            sandbox: SandboxMode::WorkspaceWrite,
            approval: ApprovalPolicy::OnRequest,
            model: "m".into(),
            wire_api: "responses".into(),
            policy: Default::default(),
            identity: None,
        }
    } else {
        match seq % 12 {
            0 => EventMsg::UserPrompt {
                text: format!("please fix test {n}"),
            },
            1 => EventMsg::ToolCallProposed {
                call_id,
                tool: TOOLS[(n % 4) as usize].into(),
                summary: command,
                cwd: "/w".into(),
                arguments: serde_json::json!({"command": ["make"]}),
            },
            2 => EventMsg::Decision {
                call_id,
                verdict: match n % 10 {
                    0..=6 => Verdict::Allow,
                    7 | 8 => Verdict::Prompt,
                    _ => Verdict::Forbidden,
                },
                actor: Actor::Rule,
                reasons: vec![Reason {
                    rule: "r".into(),
                    source: PolicySource::UserRules {
                        path: "/r/default.rules".into(),
                    }
                    .at_line((n % 10) as u32 + 1),
                    justification: "j".into(),
                }],
            },
            3 => EventMsg::ApprovalRequested {
                call_id,
                tool: "shell".into(),
                summary: command,
                cwd: "/w".into(),
                reason: "asked".into(),
                risk: None,
                can_always: true,
                expires_at: None,
                review: None,
                hints: Vec::new(),
            },
            4 => EventMsg::ApprovalAnswered {
                call_id,
                decision: if n.is_multiple_of(5) {
                    ReviewDecision::Deny
                } else {
                    ReviewDecision::ApproveOnce
                },
                actor: Actor::User,
                message: None,
            },
            5 | 6 => EventMsg::NetworkAccess {
                call_id: Some(call_id),
                access: NetworkAccess {
                    host,
                    port: 443,
                    protocol: "connect".into(),
                    decision: if n.is_multiple_of(7) { "deny" } else { "allow" }.into(),
                    reason: "rule".into(),
                    source: None,
                    actor: Actor::Rule,
                    address: None,
                    program: Some("curl".into()),
                    command: None,
                    error: None,
                    bytes_up: 100,
                    bytes_down: 1000,
                    duration_ms: 20,
                },
            },
            7 => EventMsg::SandboxDenied {
                call_id,
                denial: SandboxDenial {
                    operation: if n.is_multiple_of(2) { "write" } else { "read" }.into(),
                    target: "/etc/x".into(),
                    layer: "landlock".into(),
                    detail: "d".into(),
                },
            },
            8 => EventMsg::AutoReview {
                call_id,
                tier: ReviewTier::Model,
                kind: "shell".into(),
                summary: "shell: make".into(),
                action: serde_json::json!({}),
                model: Some("reviewer".into()),
                outcome: Some(ReviewOutcome::Approve),
                risk: None,
                user_authorized: None,
                rationale: None,
                unavailable: None,
                latency_ms: 5,
                tokens_in: 900,
                tokens_out: 40,
                cached: false,
            },
            9 => EventMsg::McpCall {
                call_id,
                server: "docs".into(),
                tool: "search".into(),
                arguments: serde_json::json!({"q": "x"}),
                is_error: false,
                duration_ms: 3,
                result: "found".into(),
            },
            10 => EventMsg::ToolResult {
                call_id,
                success: true,
                exit_code: Some(0),
                duration_ms: 40,
                output: format!("ok {n}"),
            },
            _ => EventMsg::ModelTurn {
                text: "done".into(),
                reasoning: String::new(),
                tool_calls: 1,
            },
        }
    };
    Event {
        session_id: format!("0190c1f2-7abc-7def-8123-{s:012}"),
        seq: Some(seq),
        created_at: at,
        turn: None,
        msg,
    }
}

async fn build(store: &AuditStore, events: u64, end: i64) -> f64 {
    // From the first of the period's 30 days to now.
    let start = (end.div_euclid(DAY_MS) - (DAYS - 1)) * DAY_MS;
    let span = end - start;
    for s in 0..SESSIONS {
        let id = format!("0190c1f2-7abc-7def-8123-{s:012}");
        store.create_session(&id, "/w", start).await.unwrap();
    }
    let per_session = events / SESSIONS;
    let began = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut pending = Vec::new();
    // Sessions interleave in time: event i of every session, then i + 1.
    for seq in 1..=per_session {
        for s in 0..SESSIONS {
            let n = (seq - 1) * SESSIONS + s;
            let at = start + (n as i64) * span / events as i64;
            batch.push(event(s, seq, n, at));
            if batch.len() == BATCH {
                pending.push(store.append(std::mem::take(&mut batch)));
                if pending.len() == 8 {
                    // Polled together, first to last: each hands its batch to the writer
                    // in order, and the writer links the next while SQLite commits one.
                    for done in futures_util::future::join_all(pending.drain(..)).await {
                        done.unwrap();
                    }
                }
            }
        }
    }
    for done in futures_util::future::join_all(pending).await {
        done.unwrap();
    }
    if !batch.is_empty() {
        store.append(batch).await.unwrap();
    }
    events as f64 / began.elapsed().as_secs_f64()
}

async fn measure(store: &AuditStore, period: Period, runs: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let f = warden_insights::insights(store, period, &Nothing)
            .await
            .unwrap();
        times.push(t.elapsed());
        assert!(f.sessions > 0 && !f.tools.is_empty());
    }
    times.sort();
    times
}

fn report(label: &str, times: &[Duration]) {
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{label}: p50 {:.1} ms, p99 {:.1} ms, slowest {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let events = args.first().copied().unwrap_or(5_000_000);
    let runs = args.get(1).copied().unwrap_or(100) as usize;
    let keep = std::env::var("INSIGHTS_BENCH_KEEP").is_ok_and(|v| v == "1");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/bench-insights")
        .join(events.to_string());
    let path = dir.join("audit.sqlite");
    let end = now();
    let reuse = keep && path.exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let store = AuditStore::open(&path).await.unwrap();
    if !reuse {
        let rate = build(&store, events, end).await;
        println!("built {events} events: {rate:.0} events/s with the daily counts");
    }
    let period = Period::parse(Some("30d"), None, end).unwrap();
    // The first read after opening warms SQLite's page cache, as a running app's would be.
    measure(&store, period, 3).await;
    report("30 days, idle store", &measure(&store, period, runs).await);

    // A session recording meanwhile: small batches, as a live session appends.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, stop, written) = (store.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            // A new id each run, so a kept store can be measured again.
            let id = &format!("0190c1f2-7abc-7def-8123-f{:011}", now() % 100_000_000_000);
            store.create_session(id, "/w", now()).await.unwrap();
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<Event> = (0..8)
                    .map(|_| {
                        seq += 1;
                        let mut e = event(0, seq, seq, now());
                        e.session_id = id.to_string();
                        e
                    })
                    .collect();
                store.append(batch).await.unwrap();
                written.fetch_add(8, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let began = Instant::now();
    let busy = measure(&store, period, runs).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    report("30 days, a session recording", &busy);
    println!(
        "  the session recorded {} events meanwhile ({:.0}/s)",
        written.load(Ordering::Relaxed),
        written.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64()
    );
    drop(store);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
