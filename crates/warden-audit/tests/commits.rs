//! Commits that fail for real (a row written with sqlite3 in the writer's way): the
//! batch is refused with SQLite's reason, nothing of it is stored, and the store goes on
//! with later events, the chain intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sqlite;
use warden_audit::{AuditStore, SearchQuery};
use warden_protocol::{Event, EventMsg};

fn prompt(session: &str, seq: u64) -> Event {
    Event {
        session_id: session.into(),
        seq: Some(seq),
        created_at: seq as i64,
        turn: None,
        msg: EventMsg::UserPrompt {
            text: format!("step {seq} of {session}"),
        },
    }
}

#[tokio::test]
async fn a_failed_commit_is_refused_whole_and_later_events_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("a", "/w", 0).await.unwrap();
    store.create_session("b", "/w", 0).await.unwrap();
    store.append(vec![prompt("a", 1)]).await.unwrap();
    // The database refuses the next commit (a trigger standing in for a full disk).
    sqlite(
        &path,
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN new.seq = 3 \
         BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    );
    let refused = store
        .append(vec![prompt("a", 2), prompt("a", 3)])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "audit_write");
    assert_eq!(
        refused.to_string(),
        "audit write failed: disk full (SQLite code 1811)"
    );
    sqlite(&path, "DROP TRIGGER refuse;");
    // Nothing of the refused batch was stored; the same events go in on a retry, and
    // other sessions are unaffected.
    store
        .append(vec![prompt("a", 2), prompt("a", 3)])
        .await
        .unwrap();
    store.append(vec![prompt("b", 1)]).await.unwrap();
    let (events, _) = store.timeline("a", 0, 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq.unwrap()).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let hits = store
        .search(&SearchQuery {
            text: Some("step 2 of a".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .0;
    assert_eq!(hits.len(), 1);
    let report = store.verify().await.unwrap();
    assert_eq!(report.broken, None, "{report}");
    assert_eq!((report.events, report.notes.len()), (4, 0));
}

/// Many sessions append at once while commits fail: every append that returned Ok is
/// stored, none that failed is, and the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_every_answer_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    let sessions: Vec<String> = (0..20).map(|n| format!("s{n}")).collect();
    for s in &sessions {
        store.create_session(s, "/w", 0).await.unwrap();
    }
    store.append(vec![prompt("s0", 1)]).await.unwrap();
    // The database refuses about one event in six, at random: some batches will fail.
    sqlite(
        &path,
        "CREATE TRIGGER flaky BEFORE INSERT ON events WHEN abs(random()) % 6 = 0 \
         BEGIN SELECT RAISE(ABORT, 'flaky disk'); END;",
    );
    let mut tasks = Vec::new();
    for s in sessions.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Like a session's recorder: the next seq only moves on once one is stored.
            let (mut stored, mut refused) = (u64::from(s == "s0"), 0u64);
            for _ in 0..10 {
                let batch = vec![prompt(&s, stored + 1), prompt(&s, stored + 2)];
                match store.append(batch).await {
                    Ok(_) => stored += 2,
                    Err(_) => refused += 1,
                }
            }
            (s, stored, refused)
        }));
    }
    let mut refusals = 0;
    for task in tasks {
        let (session, stored, refused) = task.await.unwrap();
        refusals += refused;
        let (events, _) = store.timeline(&session, 0, 1000).await.unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq.unwrap()).collect();
        assert_eq!(seqs, (1..=stored).collect::<Vec<_>>(), "{session}");
    }
    assert!(refusals > 0, "the flaky trigger failed some commits");
    let report = store.verify().await.unwrap();
    assert_eq!(report.broken, None, "{report}");
}

/// One append larger than a statement can bind (two values per event for the full-text
/// index, 32,766 at most), and many appends folded into one batch: all written, all found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_larger_than_one_statement_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = AuditStore::open(&dir.path().join("audit.sqlite"))
        .await
        .unwrap();
    store.create_session("big", "/w", 0).await.unwrap();
    store
        .append((1..=20_000).map(|seq| prompt("big", seq)).collect())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..12 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let session = format!("many-{n}");
            store.create_session(&session, "/w", 0).await.unwrap();
            let events = (1..=2_000).map(|seq| prompt(&session, seq)).collect();
            store.append(events).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for text in ["step 19999 of big", "step 1999 of many-11"] {
        let hits = store
            .search(&SearchQuery {
                text: Some(text.into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .0;
        assert_eq!(hits.len(), 1, "{text}");
    }
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 44000 events in 13 sessions"
    );
}

/// Retention while sessions record: each run waits its turn for the write lock instead
/// of failing because the writer committed between its first read and its first write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_runs_while_sessions_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = AuditStore::open(&dir.path().join("audit.sqlite"))
        .await
        .unwrap();
    store.create_session("busy", "/w", 0).await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for seq in 1..=3_000 {
                store.append(vec![prompt("busy", seq)]).await.unwrap();
            }
        })
    };
    for run in 0..40 {
        store
            .apply_retention(100 * run, 1_000_000)
            .await
            .unwrap_or_else(|e| panic!("retention run {run}: {e}"));
    }
    writer.await.unwrap();
    assert_eq!(store.verify().await.unwrap().broken, None);
}
