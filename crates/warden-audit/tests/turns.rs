//! Turns: every stored event knows which of the session's turns it belongs to (the user
//! prompts so far), across appends, reopening, retention and older stores; verify and
//! exports check the numbering against the chained order of events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sqlite;
use warden_audit::{AuditStore, verify_export};
use warden_protocol::{Event, EventMsg};

/// `p` is a user prompt, `m` a model turn: what opens a turn and what happens in one.
fn events(session: &str, first_seq: u64, shape: &str) -> Vec<Event> {
    shape
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let seq = first_seq + i as u64;
            let msg = match c {
                'p' => EventMsg::UserPrompt {
                    text: format!("prompt at {seq}"),
                },
                _ => EventMsg::ModelTurn {
                    text: format!("answer at {seq}"),
                    reasoning: String::new(),
                    tool_calls: 0,
                },
            };
            Event {
                session_id: session.into(),
                seq: Some(seq),
                created_at: 1_000 * seq as i64,
                turn: None,
                msg,
            }
        })
        .collect()
}

async fn turns(store: &AuditStore, session: &str) -> Vec<u64> {
    let (events, _) = store.timeline(session, 0, 100).await.unwrap();
    events.iter().map(|e| e.turn.unwrap()).collect()
}

#[tokio::test]
async fn turns_count_the_prompts_across_appends_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    // Before the first prompt is turn 0; each prompt opens the next turn.
    store.append(events("s", 1, "mpmm")).await.unwrap();
    store.append(events("s", 5, "pm")).await.unwrap();
    assert_eq!(turns(&store, "s").await, [0, 1, 1, 1, 2, 2]);
    drop(store);
    // A new writer picks the numbering up from the store.
    let store = AuditStore::open(&path).await.unwrap();
    store.append(events("s", 7, "mp")).await.unwrap();
    assert_eq!(turns(&store, "s").await, [0, 1, 1, 1, 2, 2, 2, 3]);
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 8 events in 1 session"
    );
}

#[tokio::test]
async fn verify_and_an_export_name_a_turn_edited_outside_warden() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    store.append(events("s", 1, "pmpm")).await.unwrap();
    let mut exported = Vec::new();
    store.export_session("s", &mut exported).await.unwrap();
    let text = String::from_utf8(exported).unwrap();
    assert!(
        text.lines().nth(3).unwrap().contains(r#""turn":2"#),
        "{text}"
    );
    assert_eq!(
        verify_export(text.as_bytes()).unwrap().to_string(),
        "intact: 4 events in 1 session"
    );
    let edited = text.replace(r#""turn":2"#, r#""turn":1"#);
    assert_eq!(
        verify_export(edited.as_bytes()).unwrap().to_string(),
        "BROKEN: session s event 3: its turn is 1 but the prompts before it make it 2 (edited outside Warden)"
    );
    drop(store);

    // Moving an event into another turn in the database is found the same way.
    sqlite(
        &path,
        "DROP TRIGGER events_are_append_only_update; UPDATE events SET turn = 1 WHERE seq = 4;",
    );
    let store = AuditStore::open(&path).await.unwrap();
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "BROKEN: session s event 4: its turn is 1 but the prompts before it make it 2 (edited outside Warden)"
    );
}

#[tokio::test]
async fn numbering_goes_on_after_retention_trims_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("a", "/w", 0).await.unwrap();
    store.create_session("b", "/w", 0).await.unwrap();
    store.append(events("a", 1, "pmpm")).await.unwrap();
    store.append(events("b", 1, "pp")).await.unwrap();
    // Keep a's last two events; b goes entirely (created_at = 1000 * seq).
    store.apply_retention(3_000, 10_000).await.unwrap();
    assert_eq!(turns(&store, "a").await, [2, 2]);
    assert_eq!(turns(&store, "b").await, Vec::<u64>::new());
    drop(store);
    let store = AuditStore::open(&path).await.unwrap();
    store.append(events("a", 5, "p")).await.unwrap();
    store.append(events("b", 3, "mp")).await.unwrap();
    assert_eq!(turns(&store, "a").await, [2, 2, 3]);
    assert_eq!(turns(&store, "b").await, [2, 3]);
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 5 events in 2 sessions"
    );
}

#[tokio::test]
async fn events_recorded_before_turns_were_stored_are_numbered_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    store.append(events("s", 1, "mpmpm")).await.unwrap();
    drop(store);
    // Take the store back to the schema before the column (migration 8 not applied).
    sqlite(
        &path,
        "ALTER TABLE events DROP COLUMN turn; ALTER TABLE chain_anchors DROP COLUMN turn; \
         DELETE FROM _sqlx_migrations WHERE version = 8;",
    );
    let store = AuditStore::open(&path).await.unwrap();
    assert_eq!(turns(&store, "s").await, [0, 1, 1, 2, 2]);
    store.append(events("s", 6, "p")).await.unwrap();
    assert_eq!(turns(&store, "s").await, [0, 1, 1, 2, 2, 3]);
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 6 events in 1 session"
    );
}
