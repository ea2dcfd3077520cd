//! Audit store benchmarks: sustained ingest with redaction and hashing, then a filtered
//! timeline page and full-text search on the resulting store.
//!
//! `cargo bench -p warden-audit --bench audit -- [EVENTS]` (default 5,000,000).
//! `AUDIT_BENCH_INGEST_ONLY=1` stops after ingest; `AUDIT_BENCH_STORES=N` spreads the
//! sessions over N independent stores (files) to measure how ingest scales with writers;
//! `AUDIT_BENCH_PROCESSES=N` runs the ingest in N processes writing to one store at once
//! (each EVENTS/N events in sessions of its own) and reports their combined rate.
//! The store is written under `target/bench-audit/` and removed afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use warden_audit::{AuditStore, ExporterConfig, OtlpProtocol, SearchQuery};
use warden_protocol::{Actor, DecisionOutcome, Event, EventMsg, PolicySource, Reason, Verdict};
use warden_testkit::cpu::cpu_seconds;

const SESSIONS: u64 = 1000;
const BATCH: usize = 2000;
const WORDS: &[&str] = &[
    "cargo",
    "test",
    "build",
    "npm",
    "install",
    "git",
    "status",
    "diff",
    "push",
    "curl",
    "registry",
    "deploy",
    "migrate",
    "lint",
    "format",
    "docker",
    "python",
    "pytest",
    "kubectl",
    "terraform",
];

fn event(session: u64, seq: u64, n: u64) -> Event {
    let word = |k: u64| WORDS[((n * 7 + k * 13) % WORDS.len() as u64) as usize];
    let msg = match seq % 4 {
        0 => EventMsg::UserPrompt {
            text: format!("please {} the {} and {} it", word(1), word(2), word(3)),
        },
        1 => EventMsg::ToolCallProposed {
            call_id: format!("call_{n}"),
            tool: "shell".into(),
            summary: format!(
                "{} {} --flag src/module_{}/file_{}.rs",
                word(4),
                word(5),
                n % 97,
                n % 1013
            ),
            cwd: format!("/home/dev/project-{}", session % 50),
            arguments: serde_json::json!({"command": [word(4), word(5)]}),
        },
        2 => EventMsg::Decision {
            call_id: format!("call_{n}"),
            // One decision in 50 refuses, so the decision filter has rare hits to find.
            verdict: if n % 200 == 2 {
                Verdict::Forbidden
            } else {
                Verdict::Allow
            },
            actor: Actor::Rule,
            reasons: vec![Reason {
                rule: "known-safe".into(),
                source: PolicySource::BuiltIn,
                justification: "a known read-only command".into(),
            }],
        },
        _ => EventMsg::ToolResult {
            call_id: format!("call_{n}"),
            success: true,
            exit_code: Some(0),
            duration_ms: n % 500,
            output: format!(
                "{} finished: {} files checked in {} ms",
                word(6),
                n % 300,
                n % 900
            ),
        },
    };
    Event {
        session_id: session_name(session),
        seq: Some(seq),
        created_at: 1_700_000_000_000 + n as i64,
        turn: None,
        msg,
    }
}

/// Sessions of this process: `session-NNNNN`, or `pK-session-NNNNN` in child process K.
fn session_name(session: u64) -> String {
    match std::env::var("AUDIT_BENCH_CHILD") {
        Ok(k) => format!("p{k}-session-{session:05}"),
        Err(_) => format!("session-{session:05}"),
    }
}

/// Run the ingest in `processes` child processes on one store; report the combined rate.
fn ingest_in_processes(processes: u64, total: u64) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-audit");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|k| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .arg((total / processes).to_string())
                .env_remove("AUDIT_BENCH_PROCESSES")
                .env("AUDIT_BENCH_CHILD", k.to_string())
                .env("AUDIT_BENCH_INGEST_ONLY", "1")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        print!("  child: {}", String::from_utf8_lossy(&out.stdout));
    }
    let elapsed = started.elapsed();
    let written = (total / processes / SESSIONS) * SESSIONS * processes;
    println!(
        "ingest in {processes} processes on one store: {written} events in {:.1} s = {:.0} events/s (wall time of all, opening included)",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    if std::env::var_os("AUDIT_BENCH_PARTS").is_some() {
        let payloads: Vec<String> = (0..200_000u64)
            .map(|n| serde_json::to_string(&event(n % 7, n, n).msg).unwrap())
            .collect();
        let t = Instant::now();
        let mut changed = 0;
        for p in &payloads {
            if matches!(warden_audit::redact(p), std::borrow::Cow::Owned(_)) {
                changed += 1;
            }
        }
        println!(
            "parts: redact {:.2} µs/event ({changed} changed)",
            t.elapsed().as_secs_f64() * 1e6 / payloads.len() as f64
        );
        let t = Instant::now();
        for n in 0..200_000u64 {
            std::hint::black_box(serde_json::to_string(&event(n % 7, n, n).msg).unwrap());
        }
        println!(
            "parts: build + serialize {:.2} µs/event",
            t.elapsed().as_secs_f64() * 1e6 / 200_000.0
        );
        return;
    }
    if let Some(processes) = std::env::var("AUDIT_BENCH_PROCESSES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
    {
        ingest_in_processes(processes, total);
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-audit");
    if std::env::var_os("AUDIT_BENCH_CHILD").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    // AUDIT_BENCH_STORES=N spreads the sessions over N independent stores (files), each
    // with its own writer: how ingest would scale if the store were split across files.
    let store_count: u64 = std::env::var("AUDIT_BENCH_STORES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let mut stores = Vec::new();
    for k in 0..store_count {
        let name = if k == 0 {
            "audit.sqlite".to_string()
        } else {
            format!("audit-{k}.sqlite")
        };
        stores.push(AuditStore::open(&dir.join(name)).await.unwrap());
    }
    let store_of = move |session: u64| (session % store_count) as usize;
    for s in 0..SESSIONS {
        stores[store_of(s)]
            .create_session(&session_name(s), "/home/dev", 0)
            .await
            .unwrap();
    }

    // Ingest: producers (one per core) append batches; the writer chains and commits.
    let per_session = total / SESSIONS;
    let cpu_before = cpu_seconds(std::process::id());
    let started = Instant::now();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2) as u64;
    let mut tasks = Vec::new();
    for p in 0..cores {
        let stores = stores.clone();
        tasks.push(tokio::spawn(async move {
            let mut batches: Vec<Vec<Event>> = stores.iter().map(|_| Vec::new()).collect();
            for s in (p..SESSIONS).step_by(cores as usize) {
                let k = store_of(s);
                for seq in 1..=per_session {
                    batches[k].push(event(s, seq, s * per_session + seq));
                    if batches[k].len() == BATCH {
                        stores[k]
                            .append(std::mem::take(&mut batches[k]))
                            .await
                            .unwrap();
                    }
                }
            }
            for (store, batch) in stores.iter().zip(batches) {
                if !batch.is_empty() {
                    store.append(batch).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let ingest = started.elapsed();
    let cpu = cpu_seconds(std::process::id()) - cpu_before;
    let ingested = per_session * SESSIONS;
    println!(
        "ingest: {ingested} events in {:.1} s = {:.0} events/s (redaction + hash chain + FTS index; {store_count} store(s))",
        ingest.as_secs_f64(),
        ingested as f64 / ingest.as_secs_f64()
    );
    let cpu_per_event = cpu * 1e6 / ingested as f64;
    println!(
        "ingest CPU: {cpu:.1} CPU-s = {cpu_per_event:.1} CPU-µs per event ({:.2} of {cores} cores busy); \
         at that cost {cores} cores allow at most {:.0} events/s",
        cpu / ingest.as_secs_f64(),
        cores as f64 * 1e6 / cpu_per_event
    );
    // The reading measures below look in one store.
    if std::env::var_os("AUDIT_BENCH_INGEST_ONLY").is_some() || store_count > 1 {
        return;
    }
    let store = stores.swap_remove(0);

    // Timeline page: 100 events of one kind in one session, random sessions.
    let mut samples = Vec::new();
    for i in 0..1000u64 {
        let q = SearchQuery {
            session_id: Some(format!("session-{:05}", (i * 7919) % SESSIONS)),
            kinds: vec!["toolCallProposed".into()],
            limit: 100,
            ..Default::default()
        };
        let t = Instant::now();
        let (hits, _) = store.search(&q).await.unwrap();
        samples.push(t.elapsed());
        assert!(!hits.is_empty());
    }
    let p50 = percentile(&mut samples, 0.5);
    println!(
        "timeline page (100 events, filtered by session and kind): p50 {} p99 {}",
        ms(p50),
        ms(percentile(&mut samples, 0.99))
    );

    // Everything refused: 100 newest, across all sessions, then page by page.
    let mut samples = Vec::new();
    let mut before_id = None;
    for _ in 0..200 {
        let q = SearchQuery {
            decision: Some(DecisionOutcome::Forbid),
            before_id,
            limit: 100,
            ..Default::default()
        };
        let t = Instant::now();
        let (hits, next) = store.search(&q).await.unwrap();
        samples.push(t.elapsed());
        assert!(!hits.is_empty());
        before_id = next;
    }
    let p50 = percentile(&mut samples, 0.5);
    println!(
        "decision filter (100 newest refusals, paged): p50 {} p99 {}",
        ms(p50),
        ms(percentile(&mut samples, 0.99))
    );

    // Plain timeline page by cursor.
    let mut samples = Vec::new();
    for i in 0..1000u64 {
        let session = format!("session-{:05}", (i * 104_729) % SESSIONS);
        let t = Instant::now();
        let (events, _) = store
            .timeline(&session, (i * 31) % per_session.max(1), 100)
            .await
            .unwrap();
        samples.push(t.elapsed());
        assert!(!events.is_empty() || per_session < 100);
    }
    let p50 = percentile(&mut samples, 0.5);
    println!(
        "timeline page (100 events by cursor): p50 {} p99 {}",
        ms(p50),
        ms(percentile(&mut samples, 0.99))
    );

    // Full-text search: two words, newest 50 hits.
    let mut samples = Vec::new();
    for i in 0..200usize {
        let text = format!(
            "{} {}",
            WORDS[i % WORDS.len()],
            WORDS[(i * 3 + 1) % WORDS.len()]
        );
        let q = SearchQuery {
            text: Some(text),
            limit: 50,
            ..Default::default()
        };
        let t = Instant::now();
        store.search(&q).await.unwrap();
        samples.push(t.elapsed());
    }
    let p50 = percentile(&mut samples, 0.5);
    println!(
        "full-text search (2 words, 50 newest hits): p50 {} p99 {}",
        ms(p50),
        ms(percentile(&mut samples, 0.99))
    );

    let t = Instant::now();
    let report = store.verify().await.unwrap();
    println!("verify: {report} in {:.1} s", t.elapsed().as_secs_f64());

    // OTLP export of everything recorded, to the local receiver, both transports.
    let to_export = ingested.min(500_000);
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        println!(
            "otlp {protocol:?}: {}",
            export_rate(protocol, to_export).await
        );
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Export the first `n` events to tests/otlp/receiver.py (count-only) and report the rate.
async fn export_rate(protocol: OtlpProtocol, n: u64) -> String {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = root.join("target/bench-audit/otlp-count");
    let _ = std::fs::remove_file(&out);
    // Run scripts/setup.sh first: the receiver runs in its .venv.
    let (mut receiver, ready) = warden_testkit::start_with_first_line(
        std::process::Command::new(root.join(".venv/bin/python3"))
            .arg(root.join("tests/otlp/receiver.py"))
            .args(["--count-only", "--out", out.to_str().unwrap()]),
    );
    let port = |name: &str| {
        ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let endpoint = match protocol {
        OtlpProtocol::HttpProtobuf => format!("http://127.0.0.1:{}", port("http=")),
        OtlpProtocol::Grpc => format!("http://127.0.0.1:{}", port("grpc=")),
    };
    // A fresh copy of the store per run, so the export cursor starts at zero.
    let copy = root.join(format!("target/bench-audit/export-{protocol:?}.sqlite"));
    let _ = std::fs::remove_file(&copy);
    let source = AuditStore::open(&copy).await.unwrap();
    let sessions = (n / 200).max(1);
    for s in 0..sessions {
        source
            .create_session(&format!("session-{s:05}"), "/home/dev", 0)
            .await
            .unwrap();
        source
            .append((1..=200).map(|seq| event(s, seq, s * 200 + seq)).collect())
            .await
            .unwrap();
    }
    let total = sessions * 200;
    let started = Instant::now();
    let exporter = source
        .start_export(ExporterConfig {
            protocol,
            endpoint,
            headers: Vec::new(),
            export_prompts: false,
            batch_size: 5000,
            backlog_warning: u64::MAX,
            backlog_cap: 0,
            timeout: Duration::from_secs(30),
            tls: Default::default(),
        })
        .unwrap();
    while exporter.status().exported < total {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let counted: u64 = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0);
    let _ = receiver.kill();
    let _ = receiver.wait();
    format!(
        "{total} events acknowledged ({counted} counted by the receiver) in {:.2} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    )
}
