//! Fill an audit store with realistic events through the real write path (redaction,
//! hash chain, full-text index), for UI benchmarks:
//! `cargo run --release -p warden-audit --example seed -- DB EVENTS`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_audit::AuditStore;
use warden_protocol::{Actor, Event, EventMsg, PolicySource, Reason, Verdict};

const SESSIONS: u64 = 100;

fn event(session: u64, seq: u64) -> Event {
    let file = format!("src/module_{}/file_{}.rs", seq % 37, seq % 211);
    let msg = match seq % 4 {
        1 => EventMsg::UserPrompt {
            text: format!("please tidy {file} and run the tests"),
        },
        2 => EventMsg::ToolCallProposed {
            call_id: format!("call_{seq}"),
            tool: "shell".into(),
            summary: format!("cargo test -p module_{}", seq % 37),
            cwd: format!("/home/dev/project-{}", session % 10),
            arguments: serde_json::json!({"command": ["cargo", "test"]}),
        },
        3 => EventMsg::Decision {
            call_id: format!("call_{}", seq - 1),
            verdict: Verdict::Allow,
            actor: Actor::Rule,
            reasons: vec![Reason {
                rule: "sandboxed".into(),
                source: PolicySource::BuiltIn,
                justification: "runs inside the workspace-write sandbox".into(),
            }],
        },
        _ => EventMsg::ToolResult {
            call_id: format!("call_{}", seq - 2),
            success: !seq.is_multiple_of(13),
            exit_code: Some(if seq.is_multiple_of(13) { 101 } else { 0 }),
            duration_ms: seq % 900,
            output: format!("test result: ok. {} passed", seq % 50),
        },
    };
    Event {
        session_id: format!("seeded-{session:03}"),
        seq: Some(seq),
        created_at: 1_763_000_000_000 + (session * 1_000_000 + seq) as i64,
        turn: None,
        msg,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(total)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: seed DB EVENTS");
        std::process::exit(2);
    };
    let store = AuditStore::open(std::path::Path::new(db)).await.unwrap();
    let per_session = total.div_ceil(SESSIONS);
    for s in 0..SESSIONS {
        store
            .create_session(&format!("seeded-{s:03}"), "/home/dev", 0)
            .await
            .unwrap();
        let events: Vec<Event> = (1..=per_session).map(|seq| event(s, seq)).collect();
        for chunk in events.chunks(2_000) {
            store.append(chunk.to_vec()).await.unwrap();
        }
    }
    println!("{} events in {SESSIONS} sessions", per_session * SESSIONS);
}
