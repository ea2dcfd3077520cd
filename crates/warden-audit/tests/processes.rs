//! Several processes on one store at once, as the desktop app, CLI sessions, `warden
//! exec` and `warden serve` are: they open (and create, and migrate) it together, append
//! together, and one runs retention meanwhile. Every acknowledged event must be stored,
//! ids must stay unique and in commit order, and the store must verify.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use warden_audit::AuditStore;
use warden_protocol::{Event, EventMsg};

fn prompt(session: &str, seq: u64) -> Event {
    Event {
        session_id: session.into(),
        seq: Some(seq),
        created_at: 1_000 * seq as i64,
        turn: None,
        msg: EventMsg::UserPrompt {
            text: format!("step {seq} of {session}"),
        },
    }
}

/// Runs in a child process: opens the store named by WARDEN_AUDIT_DB, records
/// WARDEN_AUDIT_EVENTS events in each of two sessions of its own in appends of 1–5, and
/// prints "acked SESSION SEQ" for every event once `append` returned. A child named
/// "pruner" also runs retention between appends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the multi-process tests in child processes"]
async fn process_child_appends() {
    let path = std::env::var("WARDEN_AUDIT_DB").unwrap();
    let name = std::env::var("WARDEN_AUDIT_NAME").unwrap();
    let events: u64 = std::env::var("WARDEN_AUDIT_EVENTS")
        .unwrap()
        .parse()
        .unwrap();
    let store = AuditStore::open(Path::new(&path)).await.unwrap();
    let sessions = [format!("{name}-a"), format!("{name}-b")];
    for s in &sessions {
        store.create_session(s, "/w", 0).await.unwrap();
    }
    let mut next = [1u64, 1u64];
    let mut turn = 0u64;
    while next.iter().any(|n| *n <= events) {
        turn += 1;
        let which = (turn % 2) as usize;
        if next[which] > events {
            continue;
        }
        let n = 1 + turn % 5;
        let batch: Vec<Event> = (0..n)
            .map(|i| next[which] + i)
            .filter(|seq| *seq <= events)
            .map(|seq| prompt(&sessions[which], seq))
            .collect();
        let stored = store.append(batch).await.unwrap();
        for e in &stored {
            println!("acked {} {}", e.session_id, e.seq.unwrap());
        }
        next[which] += stored.len() as u64;
        if name == "pruner" && turn.is_multiple_of(10) {
            store.apply_retention(0, 1).await.unwrap();
        }
    }
}

fn spawn_children(path: &Path, names: &[&str], events: u64) -> Vec<std::process::Child> {
    names
        .iter()
        .map(|name| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "process_child_appends",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("WARDEN_AUDIT_DB", path)
                .env("WARDEN_AUDIT_NAME", name)
                .env("WARDEN_AUDIT_EVENTS", events.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Collect each child's acknowledged events; every child must succeed.
fn acknowledged(children: Vec<std::process::Child>) -> Vec<(String, u64)> {
    let mut acked = Vec::new();
    for mut child in children {
        let out = child.stdout.take().unwrap();
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            // The first may share a line with the harness's "test NAME ... ".
            if let Some(rest) = line.split("acked ").nth(1) {
                let (session, seq) = rest.split_once(' ').unwrap();
                acked.push((session.to_string(), seq.parse().unwrap()));
            }
        }
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a writer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    acked
}

async fn assert_all_there(path: &Path, acked: &[(String, u64)], expected: usize) {
    assert_eq!(acked.len(), expected, "every event acknowledged");
    let store = AuditStore::open(path).await.unwrap();
    let report = store.verify().await.unwrap();
    assert_eq!(report.broken, None, "{report}");
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    for (session, seq) in acked {
        let (events, _) = store.timeline(session, seq - 1, 1).await.unwrap();
        assert_eq!(
            events.first().and_then(|e| e.seq),
            Some(*seq),
            "{session} {seq}"
        );
    }
}

/// Four processes create, migrate and fill a store that did not exist, at once.
#[tokio::test]
async fn processes_that_start_together_on_a_new_store_all_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let names = ["p1", "p2", "p3", "p4"];
    let acked = acknowledged(spawn_children(&path, &names, 150));
    assert_all_there(&path, &acked, names.len() * 2 * 150).await;
}

/// Writers on an existing store while another process appends and runs retention; the
/// store is opened by this process too, and records meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_in_several_processes_and_retention_keep_the_store_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let here = AuditStore::open(&path).await.unwrap();
    here.create_session("here", "/w", 0).await.unwrap();
    let children = spawn_children(&path, &["w1", "w2", "pruner"], 300);
    for seq in 1..=300 {
        here.append(vec![prompt("here", seq)]).await.unwrap();
    }
    let mut acked = acknowledged(children);
    acked.extend((1..=300).map(|seq| ("here".to_string(), seq)));
    drop(here);
    // Retention removed events older than 0 ms: none; everything is there.
    assert_all_there(&path, &acked, 4 * 300 + 2 * 300 * 2 - 300).await;
}
