//! The single writer: drains queued requests, links each record into its session's hash
//! chain (linking.rs), and hands the batch to the commit thread (commit.rs), which writes
//! it in one transaction and acknowledges it.
//!
//! Up to two batches are with the commit thread at once (one committing, one queued),
//! and requests that arrive meanwhile are linked into a third on top of their links: so
//! hashing never waits for SQLite, and SQLite never waits for hashing or for the writer
//! to hear back. If a commit fails, the batches linked on top of it come back unwritten
//! (commit.rs) and are linked again, in order, from what the database holds.

use std::collections::{HashSet, VecDeque};

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::AuditError;
use crate::linking::{Batch, Chains, Heads};
use crate::pipeline::{Job, Outcome, WriteRequest};

/// Batches with the commit thread at once: one committing, one waiting to.
const IN_FLIGHT: usize = 2;

/// A batch handed to the commit thread, not yet reported on.
struct InFlight {
    outcome: oneshot::Receiver<Outcome>,
    /// Sessions it gives a title.
    titles: Vec<String>,
}

/// The writer. `commits` is the commit thread (commit.rs); `pool` serves the chain-head
/// reads.
pub(crate) async fn run_writer(
    commits: std::sync::mpsc::Sender<Job>,
    pool: SqlitePool,
    mut rx: mpsc::Receiver<WriteRequest>,
) {
    let mut chains = Chains {
        pool: pool.clone(),
        committed: Heads::new(),
        committing: VecDeque::new(),
    };
    // Sessions whose title (first prompt) is already set, so later prompts cost no UPDATE.
    let mut titled: HashSet<String> = HashSet::new();
    // Raised after a failed commit: batches handed over before it come back unwritten.
    let mut epoch: u64 = 0;
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut next = Batch::default();
    let mut open = true;
    loop {
        // Hand the batch being formed over while the commit thread has room for it.
        if in_flight.len() < IN_FLIGHT {
            if next.requests.is_empty() && in_flight.is_empty() {
                if !open {
                    return;
                }
                match rx.recv().await {
                    Some(request) => chains.add(&mut next, request).await,
                    None => return,
                }
            }
            // Take whatever else is already queued into this transaction.
            while !next.is_full() {
                match rx.try_recv() {
                    Ok(request) => chains.add(&mut next, request).await,
                    Err(_) => break,
                }
            }
            if !next.requests.is_empty() {
                let batch = std::mem::take(&mut next);
                let titles = titles(&batch.requests, &titled);
                let titled_now = titles.iter().map(|(s, _)| s.clone()).collect();
                let (done, outcome) = oneshot::channel();
                let job = Job {
                    heads: batch.seal_body(),
                    requests: batch.requests,
                    titles,
                    epoch,
                    done,
                };
                if let Err(returned) = commits.send(job) {
                    tracing::error!("the audit writer stopped: its commit thread is gone");
                    refuse(returned.0.requests, &AuditError::WriterStopped);
                    return;
                }
                chains.committing.push_back(batch.heads);
                in_flight.push_back(InFlight {
                    outcome,
                    titles: titled_now,
                });
                continue;
            }
        }
        let Some(oldest) = in_flight.front_mut() else {
            continue;
        };
        tokio::select! {
            biased;
            outcome = &mut oldest.outcome => {
                let titled_now = in_flight.pop_front().map(|f| f.titles).unwrap_or_default();
                let heads = chains.committing.pop_front().unwrap_or_default();
                // What to link again: after a failure, everything handed over since (it was
                // linked on top of it); a batch handed back likewise.
                let mut again = match outcome {
                    // The batch's records are freed here, off the commit thread.
                    Ok(Outcome::Committed(_spent)) => {
                        chains.committed.extend(heads);
                        titled.extend(titled_now);
                        continue;
                    }
                    Ok(Outcome::Failed(e, _spent)) => {
                        tracing::error!(error = %e, "audit batch failed");
                        Vec::new()
                    }
                    // Only batches after a failure come back, and those are collected with
                    // it; link these again all the same rather than lose them.
                    Ok(Outcome::Returned(requests)) => requests,
                    Err(_) => {
                        tracing::error!("the audit writer stopped: its commit thread ended");
                        refuse(std::mem::take(&mut next).requests, &AuditError::WriterStopped);
                        return;
                    }
                };
                for later in in_flight.drain(..) {
                    match later.outcome.await {
                        Ok(Outcome::Returned(requests)) => again.extend(requests),
                        Ok(Outcome::Committed(_) | Outcome::Failed(..)) => {}
                        Err(_) => {
                            tracing::error!("the audit writer stopped: its commit thread ended");
                            return;
                        }
                    }
                }
                epoch += 1;
                again.extend(std::mem::take(&mut next).requests);
                next = chains.relink(again).await;
            }
            request = rx.recv(), if open && !next.is_full() => match request {
                Some(request) => chains.add(&mut next, request).await,
                None => open = false,
            },
        }
    }
}

/// Answer requests that will not be written.
fn refuse(requests: Vec<WriteRequest>, why: &AuditError) {
    for request in requests {
        let _ = request.ack.send(Err(why.for_each_request()));
    }
}

/// Sessions whose first prompt (or, for `warden exec`, command) becomes their title,
/// with that title.
fn titles(requests: &[WriteRequest], titled: &HashSet<String>) -> Vec<(String, String)> {
    let mut titles: Vec<(String, String)> = Vec::new();
    for r in requests.iter().flat_map(|r| r.records.iter()) {
        if !matches!(
            r.kind.as_str(),
            "userPrompt" | "commandStarted" | "triageReport"
        ) {
            continue;
        }
        if titled.contains(&r.session_id) || titles.iter().any(|(s, _)| *s == r.session_id) {
            continue;
        }
        let v = serde_json::from_str::<serde_json::Value>(&r.payload).unwrap_or_default();
        let title = match r.kind.as_str() {
            "userPrompt" => v["text"].as_str().map(str::to_string),
            "commandStarted" => v["command"].as_str().map(|c| format!("$ {c}")),
            _ => {
                let alert = &v["report"]["alert"];
                let what = alert["rule"]
                    .as_str()
                    .or(alert["commandLine"].as_str())
                    .unwrap_or("an alert");
                Some(format!("triage: {what}"))
            }
        };
        let title = title
            .map(|t| t.chars().take(200).collect::<String>())
            .unwrap_or_default();
        titles.push((r.session_id.clone(), title));
    }
    titles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditStore;
    use crate::chain::{StoredRecord, genesis, link};
    use crate::pipeline::Derived;

    type Acks = Vec<oneshot::Receiver<Result<Vec<u64>, AuditError>>>;

    fn request(session: &str, seqs: std::ops::RangeInclusive<u64>) -> (WriteRequest, Acks) {
        let records: Vec<StoredRecord> = seqs
            .map(|seq| StoredRecord {
                session_id: session.into(),
                seq,
                created_at: seq as i64,
                kind: "error".into(),
                actor: "warden".into(),
                event_id: format!("{session}-{seq}"),
                payload: "{}".into(),
                hash: None,
                turn: None,
            })
            .collect();
        let derived = records
            .iter()
            .map(|_| Derived {
                text: String::new(),
                decision: None,
                tallies: Vec::new(),
                answer: None,
            })
            .collect();
        let (ack, answer) = oneshot::channel();
        let request = WriteRequest {
            records,
            derived,
            ack,
        };
        (request, vec![answer])
    }

    async fn next_job(
        jobs: &std::sync::Arc<std::sync::Mutex<std::sync::mpsc::Receiver<Job>>>,
    ) -> Job {
        let jobs = jobs.clone();
        tokio::task::spawn_blocking(move || jobs.lock().unwrap().recv().unwrap())
            .await
            .unwrap()
    }

    fn record_hash(job: &Job) -> &str {
        job.requests[0].records[0].hash.as_deref().unwrap()
    }

    fn sessions_and_seqs(job: &Job) -> Vec<(String, u64)> {
        job.requests
            .iter()
            .flat_map(|r| r.records.iter().map(|e| (e.session_id.clone(), e.seq)))
            .collect()
    }

    /// The commit thread is played by the test: the first commit fails while a second
    /// batch waits behind it and a third request is linked on top of both.
    #[tokio::test]
    async fn a_failed_commit_sends_the_batches_on_top_of_it_back_to_be_linked_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuditStore::open(&dir.path().join("audit.sqlite"))
            .await
            .unwrap();
        store.create_session("a", "/w", 0).await.unwrap();
        store.create_session("b", "/w", 0).await.unwrap();
        let (commits, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(run_writer(commits, store.pool.clone(), rx));

        let (a12, a12_answer) = request("a", 1..=2);
        tx.send(a12).await.unwrap();
        let first = next_job(&jobs).await;
        assert_eq!(first.epoch, 0);
        let (b1, b1_answer) = request("b", 1..=1);
        tx.send(b1).await.unwrap();
        let second = next_job(&jobs).await;
        assert_eq!(second.epoch, 0);
        // Linked after a's first two events, which are still being committed.
        let (a3, a3_answer) = request("a", 3..=3);
        tx.send(a3).await.unwrap();

        // The first commit fails: its requests are answered, the outcome reported.
        crate::commit::tests_support::fail(first, "disk full");
        // The second was linked on top of it: it comes back unwritten.
        let returned = second.requests;
        let _ = second.done.send(Outcome::Returned(returned));

        // Linked again from the database: b's event stands on its own (new epoch), a's
        // third event no longer follows anything stored and is refused.
        let third = next_job(&jobs).await;
        assert_eq!(third.epoch, 1);
        assert_eq!(
            third.heads,
            crate::seal::heads_body([("b", 1, record_hash(&third))].into_iter())
        );
        assert_eq!(sessions_and_seqs(&third), [("b".to_string(), 1)]);
        let record = &third.requests[0].records[0];
        assert_eq!(record.hash, Some(link(&genesis("b"), record)));
        crate::commit::tests_support::commit(third);

        let answer = |mut acks: Acks| acks.remove(0).blocking_recv().unwrap();
        let (a12, b1, a3) = tokio::task::spawn_blocking(move || {
            (answer(a12_answer), answer(b1_answer), answer(a3_answer))
        })
        .await
        .unwrap();
        assert!(a12.unwrap_err().to_string().contains("disk full"));
        assert_eq!(b1.unwrap(), [0]);
        let refused = a3.unwrap_err().to_string();
        assert!(
            refused.contains("session a event 3 would follow 0"),
            "{refused}"
        );
    }
}
