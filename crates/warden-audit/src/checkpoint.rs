//! WAL checkpoints beside the writer. SQLite's automatic checkpoint runs inside the commit
//! that crosses its threshold, so copying WAL pages back into the database used to hold
//! up the single writer. Here the writer's connection never checkpoints
//! (`wal_autocheckpoint = 0`); after each commit it nudges this task, which runs a PASSIVE
//! checkpoint (it never blocks writers or readers) on another connection, on another
//! thread, while the writer goes on with the next batch.

use sqlx::SqlitePool;
use tokio::sync::mpsc;

/// Start the checkpointer. Nudges that arrive while one runs fold into one more run; it
/// ends when the returned sender (the writer's) is dropped.
pub(crate) fn spawn(pool: SqlitePool) -> mpsc::Sender<()> {
    let (nudge, mut nudged) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        while nudged.recv().await.is_some() {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "audit store checkpoint failed; the next commit retries");
            }
        }
    });
    nudge
}
