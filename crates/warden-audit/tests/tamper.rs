//! Tampering by someone with the same rights as the user (docs/audit.md, "What verify
//! proves"): the real `sqlite3` tool edits a store that real appends wrote, and `verify`
//! must name what was done. Each class of edit runs over many generated variations
//! (which session, how many events, where), each on a store of its own; an untouched
//! store built the same way must stay intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::sqlite;
use warden_audit::{AuditStore, StoredRecord, genesis, link};
use warden_protocol::{Event, EventMsg};

/// A small deterministic generator, so a failure names a case that can be run again.
struct Cases(u64);

impl Cases {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

const SESSIONS: [&str; 3] = ["alpha", "beta", "gamma"];

/// Three sessions recorded in interleaved appends of 1–3 events; `alpha` and `beta` end,
/// `gamma` is still running. Returns each session's event count.
async fn recorded(path: &Path, cases: &mut Cases) -> Vec<(String, u64)> {
    let store = AuditStore::open(path).await.unwrap();
    let mut counts: Vec<(String, u64)> = SESSIONS.iter().map(|s| (s.to_string(), 0)).collect();
    for (s, count) in &mut counts {
        store.create_session(s, "/w", 0).await.unwrap();
        let first = EventMsg::UserPrompt {
            text: format!("begin {s}"),
        };
        store.append(vec![event(s, 1, first)]).await.unwrap();
        *count = 1;
    }
    for _ in 0..12 {
        let which = cases.next(3) as usize;
        let n = 1 + cases.next(3);
        let (session, count) = &mut counts[which];
        let events = (0..n)
            .map(|i| {
                let seq = *count + 1 + i;
                event(
                    session,
                    seq,
                    EventMsg::UserPrompt {
                        text: format!("step {seq} of {session}"),
                    },
                )
            })
            .collect();
        store.append(events).await.unwrap();
        *count += n;
    }
    for (session, count) in counts.iter_mut().take(2) {
        *count += 1;
        let end = EventMsg::SessionEnded {
            reason: "done".into(),
        };
        store
            .append(vec![event(session, *count, end)])
            .await
            .unwrap();
    }
    counts
}

fn event(session: &str, seq: u64, msg: EventMsg) -> Event {
    Event {
        session_id: session.into(),
        seq: Some(seq),
        created_at: 1_000 * seq as i64,
        turn: None,
        msg,
    }
}

async fn verify(path: &Path) -> warden_audit::VerifyReport {
    AuditStore::open(path)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap()
}

/// A fresh store of its own for one case.
async fn case(n: u64) -> (tempfile::TempDir, PathBuf, Vec<(String, u64)>, Cases) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let mut cases = Cases(n * 7919 + 1);
    let counts = recorded(&path, &mut cases).await;
    (dir, path, counts, cases)
}

#[tokio::test]
async fn untouched_stores_verify_intact_with_nothing_to_note() {
    for n in 0..6 {
        let (_dir, path, counts, _) = case(n).await;
        let report = verify(&path).await;
        let total: u64 = counts.iter().map(|(_, c)| c).sum();
        assert_eq!(report.broken, None, "case {n}: {report}");
        assert_eq!((report.events, report.notes.len()), (total, 0), "case {n}");
    }
}

/// The last k events of a session deleted (its final command, result and end), with or
/// without clearing its end time: the seal of the commit that wrote them names them.
#[tokio::test]
async fn a_session_cut_at_its_end_is_named() {
    for n in 0..24 {
        let (_dir, path, counts, mut cases) = case(n).await;
        let (session, count) = &counts[cases.next(3) as usize];
        let k = 1 + cases.next((*count).min(4));
        let clear_end = if cases.next(2) == 0 {
            format!("UPDATE sessions SET ended_at = NULL WHERE session_id = '{session}';")
        } else {
            String::new()
        };
        sqlite(
            &path,
            &format!(
                "DROP TRIGGER events_are_append_only_delete; \
                 DELETE FROM events WHERE session_id = '{session}' AND seq > {}; {clear_end}",
                count - k
            ),
        );
        let report = verify(&path).await;
        let broken = report
            .broken
            .unwrap_or_else(|| panic!("case {n}: cut not found"));
        assert_eq!(broken.session_id, *session, "case {n}: {broken}");
        assert!(
            broken.reason.contains("missing") || broken.reason.contains("end was cut"),
            "case {n}: {broken}"
        );
    }
}

/// The newest commits cut with their events and seals: the witness beside the database
/// says more was committed.
#[tokio::test]
async fn the_store_cut_at_its_end_with_its_seals_is_named_by_the_witness() {
    for n in 0..12 {
        let (_dir, path, _, mut cases) = case(n).await;
        let seals: i64 = scalar(&path, "SELECT MAX(id) FROM seals");
        let keep = 1 + cases.next(seals as u64 - 1) as i64;
        sqlite(
            &path,
            &format!(
                "DROP TRIGGER events_are_append_only_delete; DROP TRIGGER seals_are_append_only_delete; \
                 DELETE FROM events WHERE id > (SELECT last_id FROM seals WHERE id = {keep}); \
                 DELETE FROM seals WHERE id > {keep}; UPDATE sessions SET ended_at = NULL;"
            ),
        );
        let broken = verify(&path).await.broken.unwrap();
        assert_eq!(
            broken.to_string(),
            format!(
                "the store ends at commit #{keep} but its witness says commit #{seals} was made: the newest {} were cut",
                warden_audit::counted((seals - keep) as u64, "commit")
            ),
            "case {n}"
        );
    }
    // Deleting the witness too is no way out.
    let (_dir, path, _, _) = case(99).await;
    std::fs::remove_file(path.with_file_name("audit.sqlite-witness")).unwrap();
    let broken = verify(&path).await.broken.unwrap();
    assert!(
        broken.reason.contains("witness") && broken.reason.contains("missing"),
        "{broken}"
    );
}

/// A hash cleared anywhere (the tail included, where no later link would notice).
#[tokio::test]
async fn a_cleared_hash_is_named_wherever_it_is() {
    for n in 0..24 {
        let (_dir, path, counts, mut cases) = case(n).await;
        let (session, count) = &counts[cases.next(3) as usize];
        let seq = 1 + cases.next(*count);
        sqlite(
            &path,
            &format!(
                "DROP TRIGGER events_are_append_only_update; \
                 UPDATE events SET hash = NULL WHERE session_id = '{session}' AND seq = {seq};"
            ),
        );
        let broken = verify(&path).await.broken.unwrap();
        assert_eq!(
            (broken.session_id.as_str(), broken.seq),
            (session.as_str(), seq),
            "case {n}: {broken}"
        );
        assert!(
            broken.reason.contains("hash was cleared"),
            "case {n}: {broken}"
        );
    }
}

/// A prefix removed and replaced by an anchor made to fit (the stored link of the last
/// removed event), with or without a retention run recorded for it, in stores that a real
/// retention run trimmed before or not.
#[tokio::test]
async fn a_forged_anchor_is_named() {
    for n in 0..16 {
        let (_dir, path, counts, mut cases) = case(n).await;
        // Half the cases: a genuine run first removes every session's first two events.
        let trimmed = if cases.next(2) == 0 {
            let store = AuditStore::open(&path).await.unwrap();
            store.apply_retention(2_500, 10_000).await.unwrap();
            assert_eq!(store.verify().await.unwrap().broken, None, "case {n}");
            2
        } else {
            0
        };
        let (session, count) = &counts[cases.next(3) as usize];
        if *count <= trimmed + 1 {
            continue;
        }
        let k = trimmed + 1 + cases.next(count - trimmed - 1);
        let fake_run = if cases.next(2) == 0 {
            "INSERT INTO retention_runs (ran_at, cutoff, events_deleted, last_deleted_id) VALUES (5, 5, 1, 0);"
        } else {
            ""
        };
        sqlite(
            &path,
            &format!(
                "INSERT OR REPLACE INTO chain_anchors (session_id, seq, hash, created_at, turn) \
                 SELECT session_id, seq, hash, 0, turn FROM events WHERE session_id = '{session}' AND seq = {k}; \
                 {fake_run} \
                 DROP TRIGGER events_are_append_only_delete; \
                 DELETE FROM events WHERE session_id = '{session}' AND seq <= {k};"
            ),
        );
        let broken = verify(&path).await.broken.unwrap();
        assert!(broken.reason.contains("anchor"), "case {n}: {broken}");
    }
}

/// An event appended by hand at a session's end, linked correctly: no seal covers it.
#[tokio::test]
async fn an_event_written_outside_warden_is_named_even_with_a_correct_link() {
    for n in 0..8 {
        let (_dir, path, counts, mut cases) = case(n).await;
        let (session, count) = &counts[2 + cases.next(1) as usize]; // gamma, still running
        let store = AuditStore::open(&path).await.unwrap();
        let (events, _) = store.timeline(session, 0, 100).await.unwrap();
        drop(store);
        assert_eq!(events.len() as u64, *count);
        let previous: String = scalar(
            &path,
            &format!("SELECT hash FROM events WHERE session_id = '{session}' AND seq = {count}"),
        );
        let mut forged = StoredRecord {
            session_id: session.clone(),
            seq: count + 1,
            created_at: 99_000,
            kind: "userPrompt".into(),
            actor: "user".into(),
            event_id: "forged".into(),
            payload: r#"{"type":"userPrompt","text":"nothing to see"}"#.into(),
            hash: None,
            turn: None,
        };
        let hash = link(&previous, &forged);
        forged.hash = Some(hash.clone());
        sqlite(
            &path,
            &format!(
                "INSERT INTO events (id, session_id, seq, created_at, kind, actor, payload, event_id, hash, turn) \
                 VALUES ((SELECT MAX(id) + 1 FROM events), '{session}', {}, 99000, 'userPrompt', 'user', '{}', 'forged', '{hash}', \
                 (SELECT turn + 1 FROM events WHERE session_id = '{session}' AND seq = {count}));",
                count + 1,
                forged.payload
            ),
        );
        let broken = verify(&path).await.broken.unwrap();
        assert_eq!(
            (broken.session_id.as_str(), broken.seq),
            (session.as_str(), count + 1),
            "case {n}: {broken}"
        );
        assert!(
            broken.reason.contains("not covered by any commit's seal"),
            "case {n}: {broken}"
        );
    }
    assert_ne!(genesis("a"), genesis("b"));
}

/// The collector acknowledged more than the store holds.
#[tokio::test]
async fn events_the_collector_acknowledged_cannot_vanish_unnoticed() {
    let (_dir, path, _, _) = case(3).await;
    sqlite(
        &path,
        "INSERT INTO export_cursors (name, last_id, updated_at) VALUES ('otlp', (SELECT MAX(id) + 5 FROM events), 0);",
    );
    let broken = verify(&path).await.broken.unwrap();
    assert!(broken.reason.contains("collector acknowledged"), "{broken}");
}

fn scalar<T: std::str::FromStr>(path: &Path, sql: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A store recorded before seals existed keeps verifying after the upgrade, says which of
/// its events lack the new guarantee, and seals everything recorded after it.
#[tokio::test]
async fn an_older_store_verifies_and_says_what_it_lacks() {
    let (_dir, path, counts, _) = case(5).await;
    // Take the store back to the schema before seals (migration 12 not applied).
    sqlite(
        &path,
        "DROP TABLE seals; DROP TABLE store_meta; DELETE FROM _sqlx_migrations WHERE version = 12;",
    );
    std::fs::remove_file(path.with_file_name("audit.sqlite-witness")).unwrap();
    let total: u64 = counts.iter().map(|(_, c)| c).sum();
    let report = verify(&path).await;
    assert_eq!(report.broken, None, "{report}");
    assert_eq!(
        report.notes,
        [format!(
            "{total} events recorded before commits were sealed (an upgrade): a cut at the end of their sessions before then cannot be detected"
        )]
    );
    // Recorded after the upgrade: sealed, so cutting it is found.
    let gamma = counts[2].1;
    let store = AuditStore::open(&path).await.unwrap();
    let more = (1..=3)
        .map(|i| {
            event(
                "gamma",
                gamma + i,
                EventMsg::UserPrompt {
                    text: "after the upgrade".into(),
                },
            )
        })
        .collect();
    store.append(more).await.unwrap();
    assert_eq!(store.verify().await.unwrap().broken, None);
    drop(store);
    sqlite(
        &path,
        &format!(
            "DROP TRIGGER events_are_append_only_delete; DELETE FROM events WHERE session_id = 'gamma' AND seq > {};",
            gamma + 1
        ),
    );
    let broken = verify(&path).await.broken.unwrap();
    assert_eq!(
        broken.to_string(),
        format!(
            "session gamma event {}: events {}–{} are missing: commit #1 sealed the session up to event {}, and no retention run removed them (cut outside Warden)",
            gamma + 2,
            gamma + 2,
            gamma + 3,
            gamma + 3
        )
    );
}
