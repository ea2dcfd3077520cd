//! The audit store against real SQLite files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_audit::{AuditError, AuditStore};
use warden_protocol::{Event, EventMsg};

fn event(session: &str, seq: u64, msg: EventMsg) -> Event {
    Event {
        session_id: session.into(),
        seq: Some(seq),
        created_at: 1_000 + seq as i64,
        turn: None,
        msg,
    }
}

#[tokio::test]
async fn events_survive_reopening_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let events = [
        event(
            "s1",
            1,
            EventMsg::UserPrompt {
                text: "list the files".into(),
            },
        ),
        event(
            "s1",
            2,
            EventMsg::ModelTurn {
                text: "ok".into(),
                reasoning: String::new(),
                tool_calls: 1,
            },
        ),
        event(
            "s1",
            3,
            EventMsg::SessionEnded {
                reason: "done".into(),
            },
        ),
    ];
    let stored = {
        let store = AuditStore::open(&path).await.unwrap();
        store.create_session("s1", "/w", 1_000).await.unwrap();
        let mut stored = store.append(events[..2].to_vec()).await.unwrap();
        stored.extend(store.append(events[2..].to_vec()).await.unwrap());
        stored
    };
    // As stored: the same events, each in the turn the prompt opened.
    let in_turn_1: Vec<Event> = events
        .iter()
        .map(|e| Event {
            turn: Some(1),
            ..e.clone()
        })
        .collect();
    assert_eq!(stored, in_turn_1);
    let store = AuditStore::open(&path).await.unwrap();
    let (read, next) = store.timeline("s1", 0, 100).await.unwrap();
    assert_eq!(read, stored);
    assert_eq!(next, None);
    let session = store.session("s1").await.unwrap();
    assert_eq!(session.title, "list the files");
    assert_eq!(session.ended_at, Some(1_003));
    assert_eq!(session.event_count, 3);
}

#[tokio::test]
async fn pages_follow_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = AuditStore::open(&dir.path().join("a.sqlite"))
        .await
        .unwrap();
    for i in 0..5 {
        store
            .create_session(&format!("s{i}"), "/w", i)
            .await
            .unwrap();
    }
    let (first, cursor) = store.list_sessions(None, 2).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["s4", "s3"]
    );
    let (second, cursor) = store.list_sessions(cursor.as_deref(), 2).await.unwrap();
    assert_eq!(
        second
            .iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["s2", "s1"]
    );
    let (third, cursor) = store.list_sessions(cursor.as_deref(), 2).await.unwrap();
    assert_eq!(
        third
            .iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["s0"]
    );
    assert_eq!(cursor, None);

    let events: Vec<Event> = (1..=7)
        .map(|s| {
            event(
                "s0",
                s,
                EventMsg::UserPrompt {
                    text: s.to_string(),
                },
            )
        })
        .collect();
    let events = store.append(events).await.unwrap();
    let (page, next) = store.timeline("s0", 0, 3).await.unwrap();
    assert_eq!(page, events[..3].to_vec());
    let (page, next) = store.timeline("s0", next.unwrap(), 10).await.unwrap();
    assert_eq!(page, events[3..].to_vec());
    assert_eq!(next, None);
}

#[tokio::test]
async fn recorded_events_cannot_be_changed_or_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    store
        .append(vec![event(
            "s",
            1,
            EventMsg::UserPrompt { text: "x".into() },
        )])
        .await
        .unwrap();
    drop(store);
    let status = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg("UPDATE events SET payload = '{}'")
        .output()
        .unwrap();
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("append-only"));
}

#[tokio::test]
async fn a_corrupt_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let garbage = b"this is not a database, but it is someone's file".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let err = AuditStore::open(&path).await.err().unwrap();
    assert!(matches!(err, AuditError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("audit.sqlite"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[tokio::test]
async fn an_event_without_seq_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = AuditStore::open(&dir.path().join("a.sqlite"))
        .await
        .unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    let mut e = event("s", 1, EventMsg::UserPrompt { text: "x".into() });
    e.seq = None;
    assert!(store.append(vec![e]).await.is_err());
}

/// Commits never checkpoint (the writer would wait for it); a task beside the writer
/// copies the WAL back into the database file while the store stays open.
#[tokio::test]
async fn committed_events_reach_the_database_file_while_the_store_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();
    for batch in 0..10u64 {
        let events = (1..=500)
            .map(|n| {
                let seq = batch * 500 + n;
                event(
                    "s",
                    seq,
                    EventMsg::UserPrompt {
                        text: format!("prompt {seq} with some words to index and store"),
                    },
                )
            })
            .collect();
        store.append(events).await.unwrap();
    }
    for _ in 0..100 {
        if size() > before + 512 * 1024 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the database file stayed at {} bytes (from {before}): nothing was checkpointed",
        size()
    );
}
