//! The decision filter: what each decision came to (policy verdicts, network
//! connections, answered approvals), found by search, checked by verify, and filled in
//! for events recorded before the column existed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::sqlite;
use warden_audit::{AuditStore, SearchQuery};
use warden_protocol::{
    Actor, DecisionOutcome, Event, EventMsg, NetworkAccess, ReviewDecision, Verdict,
};

fn event(seq: u64, msg: EventMsg) -> Event {
    Event {
        session_id: "s".into(),
        seq: Some(seq),
        created_at: 1_000 * seq as i64,
        turn: None,
        msg,
    }
}

fn verdict(verdict: Verdict) -> EventMsg {
    EventMsg::Decision {
        call_id: "c".into(),
        verdict,
        actor: Actor::Rule,
        reasons: Vec::new(),
    }
}

fn network(decision: &str) -> EventMsg {
    EventMsg::NetworkAccess {
        call_id: None,
        access: NetworkAccess {
            host: "registry.npmjs.org".into(),
            port: 443,
            protocol: "connect".into(),
            decision: decision.into(),
            reason: "rule".into(),
            source: None,
            actor: Actor::Rule,
            address: None,
            program: None,
            command: None,
            error: None,
            bytes_up: 0,
            bytes_down: 0,
            duration_ms: 1,
        },
    }
}

fn answer(decision: ReviewDecision) -> EventMsg {
    EventMsg::ApprovalAnswered {
        call_id: "c".into(),
        decision,
        actor: Actor::User,
        message: None,
    }
}

/// One session with every decision-bearing kind, and a prompt that carries none.
async fn store_with_decisions(path: &Path) -> AuditStore {
    let store = AuditStore::open(path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    let msgs = [
        EventMsg::UserPrompt {
            text: "forbid nothing".into(),
        },
        verdict(Verdict::Allow),
        verdict(Verdict::Prompt),
        verdict(Verdict::Forbidden),
        network("allow"),
        network("deny"),
        answer(ReviewDecision::ApproveOnce),
        answer(ReviewDecision::ApproveForSession),
        answer(ReviewDecision::Deny),
        answer(ReviewDecision::Abort),
    ];
    let events = msgs
        .into_iter()
        .enumerate()
        .map(|(i, msg)| event(i as u64 + 1, msg))
        .collect();
    store.append(events).await.unwrap();
    store
}

/// The seqs of the events that came to `decision`, newest first.
async fn seqs(store: &AuditStore, decision: DecisionOutcome) -> Vec<u64> {
    let query = SearchQuery {
        decision: Some(decision),
        limit: 50,
        ..Default::default()
    };
    let (hits, _) = store.search(&query).await.unwrap();
    hits.into_iter().map(|h| h.event.seq.unwrap()).collect()
}

#[tokio::test]
async fn decisions_are_found_by_what_they_came_to_whoever_made_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_decisions(&dir.path().join("audit.sqlite")).await;
    assert_eq!(seqs(&store, DecisionOutcome::Allow).await, [8, 7, 5, 2]);
    assert_eq!(seqs(&store, DecisionOutcome::Prompt).await, [3]);
    // A policy forbid, a denied connection, an approval denied and one aborted; the
    // prompt that only says "forbid" is not a decision.
    assert_eq!(seqs(&store, DecisionOutcome::Forbid).await, [10, 9, 6, 4]);

    // The filter combines with the others.
    let refused_connections = SearchQuery {
        decision: Some(DecisionOutcome::Forbid),
        kinds: vec!["networkAccess".into()],
        limit: 50,
        ..Default::default()
    };
    let (hits, _) = store.search(&refused_connections).await.unwrap();
    assert_eq!(hits.len(), 1);
    let with_text = SearchQuery {
        text: Some("registry.npmjs.org".into()),
        decision: Some(DecisionOutcome::Allow),
        limit: 50,
        ..Default::default()
    };
    let (hits, _) = store.search(&with_text).await.unwrap();
    assert_eq!(hits[0].event.seq, Some(5));
}

#[tokio::test]
async fn verify_names_a_decision_column_edited_to_hide_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    drop(store_with_decisions(&path).await);
    // The payload (and so the chain) is untouched: only the filter would be fooled.
    sqlite(
        &path,
        "DROP TRIGGER events_are_append_only_update; UPDATE events SET decision = 'allow' WHERE seq = 4;",
    );
    let store = AuditStore::open(&path).await.unwrap();
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "BROKEN: session s event 4: its decision column says \"allow\" but the record says \"forbid\" (edited outside Warden)"
    );
}

#[tokio::test]
async fn events_recorded_before_the_decision_column_are_filled_in_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    drop(store_with_decisions(&path).await);
    // Take the store back to the schema before the column (migration 7 not applied).
    sqlite(
        &path,
        "DROP INDEX events_decision; ALTER TABLE events DROP COLUMN decision; \
         DELETE FROM _sqlx_migrations WHERE version = 7;",
    );
    let store = AuditStore::open(&path).await.unwrap();
    assert_eq!(seqs(&store, DecisionOutcome::Forbid).await, [10, 9, 6, 4]);
    assert_eq!(seqs(&store, DecisionOutcome::Prompt).await, [3]);
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 10 events in 1 session"
    );
    // Events stay append-only after the migration lifted the guard to fill the column.
    drop(store);
    let out = Command::new("sqlite3")
        .arg(&path)
        .arg("UPDATE events SET payload = '{}' WHERE seq = 1;")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("audit events are append-only"),
        "{out:?}"
    );
}
