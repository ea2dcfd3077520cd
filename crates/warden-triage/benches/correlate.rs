//! Correlating one alert against a large audit store (issue 23: p99 ≤ 100 ms against
//! 5,000,000 events, the model's time aside). The store holds 1,000 sessions over 30
//! days (`TRIAGE_BENCH_DAYS`) on one host, each a mix of prompts, tool calls, decisions, processes (pids drawn
//! from the kernel's range, so they are reused), connections and results. Alerts cycle
//! through four shapes: a process by pid and parent at a time (ECS), a connection by
//! address and port (Falco-like), a command line with its start time (CrowdStrike-like),
//! and activity no session did (a stranger). Prints p50, p99 and the slowest.
//!
//! `cargo bench -p warden-triage --bench correlate -- [EVENTS] [ALERTS]` (defaults
//! 5,000,000 and 400). The store is written under `target/bench-triage/` and removed,
//! unless `TRIAGE_BENCH_KEEP=1`, which keeps it and reuses a kept one of that size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use warden_audit::AuditStore;
use warden_protocol::*;
use warden_triage::alert;

const SESSIONS: u64 = 1000;
const BATCH: usize = 2000;
const START: i64 = 1_790_000_000_000;
/// Days the store's events span (`TRIAGE_BENCH_DAYS`, default 30).
fn span_ms() -> i64 {
    let days: i64 = std::env::var("TRIAGE_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(30);
    days * 24 * 3_600_000
}
const WORDS: &[&str] = &[
    "cargo", "test", "build", "npm", "install", "git", "status", "diff", "curl", "pytest", "lint",
    "format", "docker", "python", "make", "deploy",
];

/// Deterministic facts of event `n` (session `s`, position `seq`).
struct Gen {
    events: u64,
}

impl Gen {
    fn at(&self, n: u64) -> i64 {
        START + (n as i64) * span_ms() / self.events as i64
    }

    fn pid(n: u64) -> u32 {
        (n.wrapping_mul(2_654_435_761) % 4_000_000) as u32 + 100
    }

    fn line(n: u64) -> String {
        let w = |k: u64| WORDS[((n * 7 + k * 13) % WORDS.len() as u64) as usize];
        format!(
            "{} {} --flag src/module_{}/file_{}.rs",
            w(1),
            w(2),
            n % 97,
            n % 1013
        )
    }

    fn address(n: u64) -> String {
        format!("198.51.{}.{}", (n / 251) % 250, n % 251)
    }

    fn event(&self, s: u64, seq: u64, n: u64) -> Event {
        let call_id = format!("c{n}");
        let msg = match seq {
            1 => EventMsg::SessionStarted {
                cwd: format!("/home/dev/p{}", s % 50),
                sandbox: SandboxMode::WorkspaceWrite,
                approval: ApprovalPolicy::OnRequest,
                model: "m".into(),
                wire_api: "responses".into(),
                policy: SessionPolicy::default(),
                identity: Some(SessionIdentity {
                    hostname: "dev1".into(),
                    user: "ana".into(),
                    uid: 1000,
                }),
            },
            _ => match seq % 6 {
                0 => EventMsg::UserPrompt {
                    text: format!("please {} it", Self::line(n)),
                },
                1 => EventMsg::ToolCallProposed {
                    call_id,
                    tool: "shell".into(),
                    summary: Self::line(n),
                    cwd: "/home/dev/p".into(),
                    arguments: serde_json::json!({}),
                },
                2 => EventMsg::Decision {
                    call_id,
                    verdict: Verdict::Allow,
                    actor: Actor::Rule,
                    reasons: vec![Reason {
                        rule: "on-request".into(),
                        source: PolicySource::BuiltIn,
                        justification: "sandboxed".into(),
                    }],
                },
                3 => EventMsg::ProcessStarted {
                    call_id,
                    pid: Self::pid(n),
                    started_at: self.at(n) - 400,
                    executable: "/usr/bin/sh".into(),
                    command_line: Self::line(n),
                    parent_pid: 77,
                    parent_executable: "/usr/bin/warden-sessions".into(),
                },
                4 => EventMsg::NetworkAccess {
                    call_id: Some(call_id),
                    access: NetworkAccess {
                        host: format!("h{}.example.com", n % 5000),
                        port: 443,
                        protocol: "connect".into(),
                        decision: "allow".into(),
                        reason: "rule".into(),
                        source: None,
                        actor: Actor::Rule,
                        address: Some(Self::address(n)),
                        program: Some("curl".into()),
                        command: Some(Self::line(n)),
                        error: None,
                        bytes_up: 10,
                        bytes_down: 10,
                        duration_ms: 5,
                    },
                },
                _ => EventMsg::ToolResult {
                    call_id,
                    success: true,
                    exit_code: Some(0),
                    duration_ms: 3,
                    output: "ok".into(),
                },
            },
        };
        Event {
            session_id: format!("s{s:04}"),
            seq: Some(seq),
            created_at: self.at(n),
            turn: None,
            msg,
        }
    }
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let events = args.next().unwrap_or(5_000_000);
    let alerts = args.next().unwrap_or(400) as usize;
    let keep = std::env::var_os("TRIAGE_BENCH_KEEP").is_some();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../target/bench-triage/{events}-{}", span_ms()));
    let reuse = keep && dir.join("audit.sqlite").exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = AuditStore::open(&dir.join("audit.sqlite")).await.unwrap();
        let facts = Gen { events };
        if !reuse {
        for s in 0..SESSIONS {
            store.create_session(&format!("s{s:04}"), "/home/dev/p", START).await.unwrap();
        }
        // Event n belongs to session n % SESSIONS, at seq n / SESSIONS + 1: sessions run
        // side by side over the whole span.
        let started = Instant::now();
        let mut batch = Vec::with_capacity(BATCH);
        let mut pending = Vec::new();
        for n in 0..events {
            let (s, seq) = (n % SESSIONS, n / SESSIONS + 1);
            batch.push(facts.event(s, seq, n));
            if batch.len() == BATCH {
                pending.push(store.append(std::mem::take(&mut batch)));
                if pending.len() == 8 {
                    for p in pending.drain(..) {
                        p.await.unwrap();
                    }
                }
            }
        }
        for p in pending.drain(..) {
            p.await.unwrap();
        }
        if !batch.is_empty() {
            store.append(batch).await.unwrap();
        }
        println!("store: {events} events in {SESSIONS} sessions over {} days, written in {:.1} s", span_ms() / 86_400_000, started.elapsed().as_secs_f64());
        }

        let iso = |ms: i64| format!("{}.{:03}Z", utc_time(ms).replacen(' ', "T", 1), ms % 1000);
        let mut samples: Vec<(usize, f64)> = Vec::new();
        let mut matched = [0usize; 4];
        for i in 0..alerts {
            // An event of the wanted kind: seq ≡ k (mod 6), well inside the store.
            let pick = |k: u64| {
                let seq = 6 * (1 + (i as u64 * 7919) % (events / SESSIONS / 6 - 2)) + k;
                let s = (i as u64 * 104_729) % SESSIONS;
                (seq - 1) * SESSIONS + s
            };
            let shape = i % 4;
            let text = match shape {
                0 => {
                    let n = pick(3);
                    format!(
                        r#"{{"@timestamp": "{}", "host.hostname": "dev1", "process.pid": 999999, "process.parent.pid": {}, "process.executable": "/usr/bin/curl", "process.command_line": "curl https://x"}}"#,
                        iso(facts.at(n) - 100),
                        Gen::pid(n)
                    )
                }
                1 => {
                    let n = pick(4);
                    format!(
                        r#"{{"rule": "Outbound", "priority": "Notice", "hostname": "dev1", "time": "{}", "output_fields": {{"fd.sip": "{}", "fd.sport": 443, "proc.cmdline": "curl"}}}}"#,
                        iso(facts.at(n)),
                        Gen::address(n)
                    )
                }
                2 => {
                    let n = pick(3);
                    format!(
                        r#"{{"ComputerName": "dev1", "DetectName": "Suspicious", "CommandLine": "{}", "ProcessStartTime": {}, "UTCTimestamp": "{}"}}"#,
                        Gen::line(n),
                        (facts.at(n) - 400) / 1000,
                        iso(facts.at(n))
                    )
                }
                _ => format!(
                    r#"{{"@timestamp": "{}", "host.hostname": "dev1", "process.pid": 4194000, "process.command_line": "vim notes-{i}.txt"}}"#,
                    iso(START + span_ms() / 2 + i as i64 * 1000)
                ),
            };
            let alert = alert::parse(&text).unwrap();
            let started = Instant::now();
            let found = warden_triage::correlate::correlate(&store, &alert, 10 * 60_000).await.unwrap();
            samples.push((shape, started.elapsed().as_secs_f64() * 1000.0));
            if !found.matches.is_empty() {
                matched[shape] += 1;
            }
        }
        let mut all: Vec<f64> = samples.iter().map(|(_, ms)| *ms).collect();
        let names = ["process + parent (ECS)", "connection (Falco)", "command + start (CrowdStrike)", "stranger (no match)"];
        for (shape, name) in names.iter().enumerate() {
            let mut these: Vec<f64> = samples.iter().filter(|(s, _)| *s == shape).map(|(_, ms)| *ms).collect();
            println!(
                "{name}: p50 {:.2} ms, p99 {:.2} ms; matched {}/{}",
                percentile(&mut these, 0.5),
                percentile(&mut these, 0.99),
                matched[shape],
                these.len()
            );
        }
        println!(
            "all {alerts} alerts: p50 {:.2} ms, p99 {:.2} ms, slowest {:.2} ms",
            percentile(&mut all, 0.5),
            percentile(&mut all, 0.99),
            percentile(&mut all, 1.0)
        );
    });
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
