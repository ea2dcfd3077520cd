//! Kind, actor and session filters, which the full-text index narrows (filter tokens) and
//! SQL decides: every kind and actor is found alone and combined with text, a session and
//! a cursor; sessions whose tokens collide stay apart; text cannot pose as a filter; and a
//! store from before the tokens is migrated so its older events are found too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sqlite;
use warden_audit::{AuditStore, SearchQuery};
use warden_protocol::{Actor, Event, EventMsg, Verdict};

/// Two sessions whose last 16 characters (the filter token's) are the same.
const S1: &str = "0190c1f2-7abc-7def-8123-456789abcdef";
const S2: &str = "0290c1f2-7abc-7def-8123-456789abcdef";

fn event(session: &str, seq: u64, msg: EventMsg) -> Event {
    Event {
        session_id: session.into(),
        seq: Some(seq),
        created_at: seq as i64,
        turn: None,
        msg,
    }
}

fn prompt(text: &str) -> EventMsg {
    EventMsg::UserPrompt { text: text.into() }
}

fn call(summary: &str) -> EventMsg {
    EventMsg::ToolCallProposed {
        call_id: "c".into(),
        tool: "shell".into(),
        summary: summary.into(),
        cwd: "/w".into(),
        arguments: serde_json::json!({}),
    }
}

fn decision(verdict: Verdict) -> EventMsg {
    EventMsg::Decision {
        call_id: "c".into(),
        verdict,
        actor: Actor::Rule,
        reasons: Vec::new(),
    }
}

/// Session 1: prompt, call, decision, call, turn complete (no text); session 2 the same
/// prompt and call.
async fn store_with_events(path: &std::path::Path) -> AuditStore {
    let store = AuditStore::open(path).await.unwrap();
    store.create_session(S1, "/w", 0).await.unwrap();
    store.create_session(S2, "/w", 0).await.unwrap();
    store
        .append(vec![
            event(S1, 1, prompt("run the tests")),
            event(S1, 2, call("cargo test")),
            event(S1, 3, decision(Verdict::Allow)),
            event(S1, 4, call("git push --force")),
            event(S1, 5, EventMsg::TurnComplete { last_message: None }),
        ])
        .await
        .unwrap();
    store
        .append(vec![
            event(S2, 1, prompt("run the tests")),
            event(S2, 2, call("cargo test")),
        ])
        .await
        .unwrap();
    store
}

async fn found(store: &AuditStore, query: SearchQuery) -> Vec<(String, u64)> {
    let query = SearchQuery { limit: 50, ..query };
    store
        .search(&query)
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|h| (h.event.session_id[..2].to_string(), h.event.seq.unwrap()))
        .collect()
}

fn kinds(kinds: &[&str]) -> SearchQuery {
    SearchQuery {
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        ..Default::default()
    }
}

fn pair(session: &str, seq: u64) -> (String, u64) {
    (session[..2].to_string(), seq)
}

async fn assert_filters_find_everything(store: &AuditStore) {
    assert_eq!(
        found(store, kinds(&["toolCallProposed"])).await,
        [pair(S2, 2), pair(S1, 4), pair(S1, 2)]
    );
    assert_eq!(found(store, kinds(&["turnComplete"])).await, [pair(S1, 5)]);
    assert_eq!(
        found(store, kinds(&["decision", "userPrompt"])).await,
        [pair(S2, 1), pair(S1, 3), pair(S1, 1)]
    );
    assert!(found(store, kinds(&["sandboxDenied"])).await.is_empty());
    // Colliding tokens narrow to both sessions; SQL keeps each to its own.
    let in_s1 = SearchQuery {
        session_id: Some(S1.into()),
        ..kinds(&["toolCallProposed"])
    };
    assert_eq!(found(store, in_s1).await, [pair(S1, 4), pair(S1, 2)]);
    let in_s2 = SearchQuery {
        session_id: Some(S2.into()),
        ..kinds(&["toolCallProposed", "userPrompt"])
    };
    assert_eq!(found(store, in_s2).await, [pair(S2, 2), pair(S2, 1)]);
    let by_user = SearchQuery {
        actor: Some("user".into()),
        ..Default::default()
    };
    assert_eq!(found(store, by_user).await, [pair(S2, 1), pair(S1, 1)]);
    let by_rule_in_s1 = SearchQuery {
        actor: Some("rule".into()),
        session_id: Some(S1.into()),
        ..Default::default()
    };
    assert_eq!(found(store, by_rule_in_s1).await, [pair(S1, 3)]);
    let text_and_kind = SearchQuery {
        text: Some("cargo".into()),
        session_id: Some(S1.into()),
        ..kinds(&["toolCallProposed"])
    };
    assert_eq!(found(store, text_and_kind).await, [pair(S1, 2)]);
    // Paging through a kind filter by cursor.
    let mut page = SearchQuery {
        limit: 2,
        ..kinds(&["toolCallProposed"])
    };
    let (first, next) = store.search(&page).await.unwrap();
    page.before_id = next;
    let (second, next) = store.search(&page).await.unwrap();
    assert_eq!((first.len(), second.len(), next), (2, 1, None));
    // A session alone is read by sequence, newest first.
    let session = SearchQuery {
        session_id: Some(S1.into()),
        ..Default::default()
    };
    let seqs: Vec<u64> = found(store, session).await.iter().map(|p| p.1).collect();
    assert_eq!(seqs, [5, 4, 3, 2, 1]);
}

#[tokio::test]
async fn kinds_actors_and_sessions_are_found_alone_and_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_events(&dir.path().join("audit.sqlite")).await;
    assert_filters_find_everything(&store).await;
}

#[tokio::test]
async fn recorded_text_cannot_pose_as_a_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_events(&dir.path().join("audit.sqlite")).await;
    // A prompt that spells out the decision kind's token, mark and all.
    store
        .append(vec![event(
            S2,
            3,
            prompt("\u{e000}kdecision and kdecision"),
        )])
        .await
        .unwrap();
    assert_eq!(found(&store, kinds(&["decision"])).await, [pair(S1, 3)]);
    // Searching for it finds the text, as text.
    let text = SearchQuery {
        text: Some("kdecision".into()),
        ..Default::default()
    };
    assert_eq!(found(&store, text).await, [pair(S2, 3)]);
    let marked = SearchQuery {
        text: Some("\u{e000}kdecision".into()),
        ..Default::default()
    };
    assert_eq!(found(&store, marked).await, [pair(S2, 3)]);
}

#[tokio::test]
async fn events_recorded_before_the_filter_tokens_are_found_after_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    drop(store_with_events(&path).await);
    // Take the store back to the schema before migration 10: kind indexes, an event id
    // index, and a full-text index of the text alone (events without text have no row).
    sqlite(
        &path,
        "CREATE UNIQUE INDEX events_event_id ON events (event_id); \
         CREATE INDEX events_kind ON events (kind, id); \
         CREATE INDEX events_session_kind ON events (session_id, kind, id); \
         CREATE VIRTUAL TABLE old_text USING fts5 (text); \
         INSERT INTO old_text (rowid, text) SELECT rowid, rtrim(substr(text, 1, instr(text, char(57344)) - 1), char(10)) \
           FROM events_fts WHERE instr(text, char(57344)) > 1; \
         DROP TRIGGER events_fts_delete; DROP TABLE events_fts; \
         ALTER TABLE old_text RENAME TO events_fts; \
         CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.id; END; \
         DELETE FROM _sqlx_migrations WHERE version = 10;",
    );
    let store = AuditStore::open(&path).await.unwrap();
    assert_filters_find_everything(&store).await;
    let push = SearchQuery {
        text: Some("push --force".into()),
        ..Default::default()
    };
    assert_eq!(found(&store, push).await, [pair(S1, 4)]);
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 7 events in 2 sessions"
    );
    // New events join the old ones in the same filters.
    store
        .append(vec![event(S2, 3, call("cargo build"))])
        .await
        .unwrap();
    assert_eq!(
        found(&store, kinds(&["toolCallProposed"])).await,
        [pair(S2, 3), pair(S2, 2), pair(S1, 4), pair(S1, 2)]
    );
}

/// A time window bounds the ids the full-text index walks: whatever the windows (empty,
/// narrow, wide, open on one side) and even with clocks out of order across sessions,
/// a text search with a window finds exactly what the same search without one finds
/// within that window.
#[tokio::test]
async fn text_with_a_time_window_finds_what_the_window_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = AuditStore::open(&dir.path().join("audit.sqlite"))
        .await
        .unwrap();
    let sessions = ["a", "b", "c"];
    for s in sessions {
        store.create_session(s, "/w", 0).await.unwrap();
    }
    // Times jump back and forth between writes: ids and times disagree in places.
    let mut seqs = [0u64; 3];
    for n in 0..600u64 {
        let s = (n % 3) as usize;
        seqs[s] += 1;
        let at = ((n * 7919) % 1000) as i64 * 10 + (n % 3) as i64;
        let word = if n % 5 == 0 { "needle" } else { "hay" };
        store
            .append(vec![Event {
                session_id: sessions[s].into(),
                seq: Some(seqs[s]),
                created_at: at,
                turn: None,
                msg: call(&format!("grep {word} file{n}")),
            }])
            .await
            .unwrap();
    }
    let search = |since: Option<i64>, until: Option<i64>| {
        let store = &store;
        async move {
            let (hits, _) = store
                .search(&SearchQuery {
                    text: Some("needle".into()),
                    since,
                    until,
                    limit: 1000,
                    ..SearchQuery::default()
                })
                .await
                .unwrap();
            let mut ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
            ids.sort_unstable();
            ids
        }
    };
    let everything: Vec<(i64, i64)> = {
        let (hits, _) = store
            .search(&SearchQuery {
                text: Some("needle".into()),
                limit: 1000,
                ..SearchQuery::default()
            })
            .await
            .unwrap();
        hits.iter().map(|h| (h.id, h.event.created_at)).collect()
    };
    assert_eq!(everything.len(), 120);
    for (since, until) in [
        (Some(0), Some(10_000)),
        (Some(500), Some(520)),
        (Some(4_000), Some(4_003)),
        (Some(9_999), None),
        (None, Some(30)),
        (Some(3_000), Some(3_000)),
        (Some(7_000), Some(9_000)),
    ] {
        let mut expected: Vec<i64> = everything
            .iter()
            .filter(|(_, at)| since.is_none_or(|s| *at >= s) && until.is_none_or(|u| *at < u))
            .map(|(id, _)| *id)
            .collect();
        expected.sort_unstable();
        assert_eq!(search(since, until).await, expected, "{since:?}..{until:?}");
    }
}
