//! Committing batches: a thread of its own with the writer's own connection (direct.rs)
//! writes each linked batch in one transaction, acknowledges its requests, and reports
//! the outcome to the writer, which meanwhile links the next batch.
//!
//! Other Warden processes may write to the same file. Each transaction takes the write
//! lock at once (`BEGIN IMMEDIATE`, waiting as long as another process holds it) and asks
//! SQLite whether any other connection committed since this one last did
//! (`PRAGMA data_version`); if so, the next event id and the last seal are read again
//! inside the transaction. Event ids are therefore handed out here, under the lock, in
//! commit order across every process. Each commit appends a seal (seal.rs) and, once
//! committed, forwards the witness (witness.rs).

use std::path::Path;
use std::sync::mpsc;

use tokio::sync::mpsc as async_mpsc;

use crate::AuditError;
use crate::committer::Committer;
use crate::pipeline::{Job, Outcome};

/// Open the writer's connection to `path` (already migrated) and start its thread.
/// `checkpoints` is nudged after each commit (checkpoint.rs). The thread ends when the
/// returned sender is dropped.
pub(crate) fn spawn(
    path: &Path,
    checkpoints: async_mpsc::Sender<()>,
) -> Result<mpsc::Sender<Job>, AuditError> {
    let mut committer = Committer::open(path)?;
    let (jobs, incoming) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("audit-commit".into())
        .spawn(move || {
            let mut failed = None;
            while let Ok(job) = incoming.recv() {
                let committed = serve(job, &mut failed, |job| committer.write(job));
                if committed {
                    // Full means a checkpoint is already due: this commit joins it.
                    let _ = checkpoints.try_send(());
                }
            }
        })
        .map_err(|e| AuditError::Write(format!("cannot start the commit thread: {e}")))?;
    Ok(jobs)
}

/// Write one job with `write`, report the outcome and answer its requests; `failed` is
/// the epoch of the last batch that failed. A job of that epoch or before was linked on
/// top of it and is handed back unwritten. Returns whether the job was committed.
///
/// The writer hears the outcome before any request is answered: someone answered (say,
/// refused) who sends more at once reaches the writer after it has taken the outcome in,
/// so the new request is linked on what the database holds.
fn serve(
    job: Job,
    failed: &mut Option<u64>,
    write: impl FnOnce(&Job) -> Result<(), AuditError>,
) -> bool {
    if failed.is_some_and(|epoch| job.epoch <= epoch) {
        let _ = job.done.send(Outcome::Returned(job.requests));
        return false;
    }
    let result = write(&job);
    let Job {
        requests,
        epoch,
        done,
        ..
    } = job;
    let mut answers = Vec::with_capacity(requests.len());
    let mut spent = Vec::with_capacity(requests.len());
    for request in requests {
        let turns: Vec<u64> = request
            .records
            .iter()
            .map(|r| r.turn.unwrap_or_default())
            .collect();
        answers.push((request.ack, turns));
        spent.push((request.records, request.derived));
    }
    match result {
        Ok(()) => {
            let _ = done.send(Outcome::Committed(spent));
            for (ack, turns) in answers {
                let _ = ack.send(Ok(turns));
            }
            true
        }
        Err(e) => {
            *failed = Some(epoch);
            let why = e.for_each_request();
            let _ = done.send(Outcome::Failed(e, spent));
            for (ack, _) in answers {
                let _ = ack.send(Err(why.for_each_request()));
            }
            false
        }
    }
}

/// The commit thread's answers, for tests that play it.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// Fail `job`: its requests are answered with `why`.
    pub(crate) fn fail(job: Job, why: &str) {
        let mut failed = None;
        serve(job, &mut failed, |_| Err(AuditError::Write(why.into())));
    }

    /// Report `job` committed (nothing is written).
    pub(crate) fn commit(job: Job) {
        serve(job, &mut None, |_| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::WriteRequest;
    use tokio::sync::oneshot;

    fn job(epoch: u64) -> (Job, oneshot::Receiver<Outcome>) {
        let (done, outcome) = oneshot::channel();
        let (ack, _) = oneshot::channel();
        let request = WriteRequest {
            records: Vec::new(),
            derived: Vec::new(),
            ack,
        };
        let job = Job {
            requests: vec![request],
            titles: Vec::new(),
            heads: String::new(),
            epoch,
            done,
        };
        (job, outcome)
    }

    #[test]
    fn batches_linked_on_a_failed_one_come_back_unwritten() {
        let mut failed = None;
        let (first, outcome) = job(0);
        assert!(!serve(first, &mut failed, |_| Err(AuditError::Write(
            "disk full".into()
        ))));
        assert!(matches!(outcome.blocking_recv(), Ok(Outcome::Failed(..))));
        // Handed over before the writer heard of the failure: not written, handed back.
        let (queued, outcome) = job(0);
        let mut written = false;
        assert!(!serve(queued, &mut failed, |_| {
            written = true;
            Ok(())
        }));
        assert!(!written);
        assert!(matches!(outcome.blocking_recv(), Ok(Outcome::Returned(r)) if r.len() == 1));
        // Linked again afterwards: written.
        let (relinked, outcome) = job(1);
        assert!(serve(relinked, &mut failed, |_| Ok(())));
        assert!(matches!(outcome.blocking_recv(), Ok(Outcome::Committed(_))));
    }
}
