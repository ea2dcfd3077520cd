//! Durable OpenTelemetry log export. The outbox is the append-only events table read
//! after a persisted cursor; the cursor moves only after the collector acknowledges a
//! batch, so a collector outage loses nothing and order is kept (one batch in flight).
//! Delivery is at least once: every record carries `warden.event.id` for de-duplication.

mod convert;
mod transport;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Row;

use crate::chain::StoredRecord;
use crate::export::{RECORD_COLUMNS, record};
use crate::{AuditError, AuditStore};
use transport::Transport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/HTTP with protobuf bodies (`POST {endpoint}/v1/logs`).
    HttpProtobuf,
    /// OTLP/gRPC (`LogsService/Export`).
    Grpc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterConfig {
    pub protocol: OtlpProtocol,
    pub endpoint: String,
    /// Extra headers (e.g. an API key for the collector).
    pub headers: Vec<(String, String)>,
    /// Export prompt text (otherwise replaced by `[REDACTED:prompt]`).
    pub export_prompts: bool,
    pub batch_size: usize,
    /// Backlog above which the status warns.
    pub backlog_warning: u64,
    /// Most events that may wait for the collector; past it the oldest are skipped (and
    /// the gap recorded) so retention can trim the store again. 0: no cap.
    pub backlog_cap: u64,
    pub timeout: Duration,
    /// For `https://` endpoints.
    pub tls: TlsSettings,
}

/// TLS for the collector connection: by default the system's trusted roots and no
/// client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate authorities to trust instead of the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate (chain) and private key, for mutual TLS.
    pub client_identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// What the exporter is doing, for settings screens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExporterStatus {
    /// `starting`, `connected` (last batch acknowledged), `retrying`, or `standby` (another
    /// Warden process on the same store is exporting it).
    pub state: String,
    /// Events recorded but not yet acknowledged by the collector.
    pub backlog: u64,
    pub exported: u64,
    pub last_error: Option<String>,
    /// True when the backlog is above the configured warning level.
    pub backlog_warning: bool,
    /// Events never sent because the backlog passed its cap (over the store's life).
    pub skipped: u64,
}

/// A running exporter; stops when dropped.
pub struct Exporter {
    status: Arc<Mutex<ExporterStatus>>,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    pub fn status(&self) -> ExporterStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const CURSOR: &str = "otlp";
/// Move the named export cursor to a position (name, last id).
const SET_CURSOR: &str = "INSERT INTO export_cursors (name, last_id, updated_at) \
     VALUES (?, ?, strftime('%s','now') * 1000) \
     ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at";
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How often a process in standby tries to take over the export.
const LEASE_POLL: Duration = Duration::from_secs(1);

/// The file whose lock is the export lease, beside the database.
fn lease_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push("-export-lease");
    std::path::PathBuf::from(name)
}

/// The export lease if no other process holds it; the file names the holder's pid.
fn take_lease(path: &std::path::Path) -> Result<Option<std::fs::File>, String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = writeln!(file, "{}", std::process::id());
            Ok(Some(file))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl AuditStore {
    /// Up to `limit` records stored after position `after_id`, in store order.
    pub(crate) async fn records_after(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoredRecord)>, AuditError> {
        let rows = sqlx::query(&format!(
            "SELECT id, {RECORD_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get::<i64, _>("id"), record(row)))
            .collect())
    }

    pub(crate) async fn max_event_id(&self) -> Result<i64, AuditError> {
        Ok(
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM events")
                .fetch_one(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    pub(crate) async fn export_cursor(&self, name: &str) -> Result<i64, AuditError> {
        let cursor =
            sqlx::query_scalar::<_, i64>("SELECT last_id FROM export_cursors WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(cursor.unwrap_or(0))
    }

    pub(crate) async fn set_export_cursor(
        &self,
        name: &str,
        last_id: i64,
    ) -> Result<(), AuditError> {
        sqlx::query(SET_CURSOR)
            .bind(name)
            .bind(last_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Events the exporter skipped because the backlog passed its cap, in all.
    pub(crate) async fn export_skipped(&self, name: &str) -> Result<u64, AuditError> {
        let skipped = sqlx::query_scalar::<_, Option<i64>>(
            "SELECT SUM(through_id - after_id) FROM export_skips WHERE name = ?",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(skipped.unwrap_or(0) as u64)
    }

    /// Skip the events after `cursor` through `through`: move the cursor past them and
    /// record the gap, in one transaction.
    pub(crate) async fn skip_export(
        &self,
        name: &str,
        cursor: i64,
        through: i64,
    ) -> Result<(), AuditError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO export_skips (name, after_id, through_id, skipped_at) \
             VALUES (?, ?, ?, strftime('%s','now') * 1000)",
        )
        .bind(name)
        .bind(cursor)
        .bind(through)
        .execute(&mut *tx)
        .await?;
        sqlx::query(SET_CURSOR)
            .bind(name)
            .bind(through)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Events recorded but not yet acknowledged by the collector.
    pub async fn export_backlog(&self) -> Result<u64, AuditError> {
        let cursor = self.export_cursor(CURSOR).await?;
        Ok((self.max_event_id().await? - cursor).max(0) as u64)
    }

    /// Start exporting every recorded event (from where the last run stopped).
    pub fn start_export(&self, config: ExporterConfig) -> Result<Exporter, AuditError> {
        let mut transport = Transport::new(&config).map_err(AuditError::Exporter)?;
        let status = Arc::new(Mutex::new(ExporterStatus {
            state: "starting".into(),
            ..Default::default()
        }));
        let store = self.clone();
        let shared = status.clone();
        let host_name = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let lease_path = lease_path(store.path());
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            let update = |f: &dyn Fn(&mut ExporterStatus)| {
                if let Ok(mut s) = shared.lock() {
                    f(&mut s);
                }
            };
            // One process exports a store at a time (the cursor is the store's); the others
            // wait for the lease, held until the process ends.
            let _lease = loop {
                match take_lease(&lease_path) {
                    Ok(Some(lease)) => break lease,
                    Ok(None) => update(&|s| s.state = "standby".into()),
                    Err(e) => update(&|s| s.last_error = Some(e.clone())),
                }
                tokio::time::sleep(LEASE_POLL).await;
            };
            update(&|s| s.state = "starting".into());
            if let Ok(skipped) = store.export_skipped(CURSOR).await {
                update(&|s| s.skipped = skipped);
            }
            loop {
                let cursor = match store.export_cursor(CURSOR).await {
                    Ok(c) => c,
                    Err(e) => {
                        update(&|s| s.last_error = Some(e.to_string()));
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                };
                let batch = match store.records_after(cursor, config.batch_size).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        update(&|s| s.last_error = Some(e.to_string()));
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                };
                // Counted after reading the batch, so the backlog covers it.
                let newest = store.max_event_id().await.unwrap_or(cursor);
                let backlog = (newest - cursor).max(0) as u64;
                if config.backlog_cap > 0 && backlog > config.backlog_cap {
                    let through = newest - config.backlog_cap as i64;
                    let skipped = (through - cursor) as u64;
                    tracing::warn!(
                        skipped,
                        cap = config.backlog_cap,
                        "OTLP backlog passed its cap: the oldest waiting events will not be sent"
                    );
                    match store.skip_export(CURSOR, cursor, through).await {
                        Ok(()) => update(&|s| s.skipped += skipped),
                        Err(e) => {
                            update(&|s| s.last_error = Some(e.to_string()));
                            tokio::time::sleep(backoff).await;
                        }
                    }
                    continue;
                }
                update(&|s| {
                    s.backlog = backlog;
                    s.backlog_warning = backlog > config.backlog_warning;
                });
                let Some(last_id) = batch.last().map(|(id, _)| *id) else {
                    tokio::time::sleep(IDLE_POLL).await;
                    continue;
                };
                let records: Vec<_> = batch.into_iter().map(|(_, r)| r).collect();
                let request = convert::request(&records, config.export_prompts, &host_name);
                match transport.send(request).await {
                    Ok(()) => {
                        if let Err(e) = store.set_export_cursor(CURSOR, last_id).await {
                            update(&|s| s.last_error = Some(e.to_string()));
                            continue;
                        }
                        backoff = Duration::from_millis(250);
                        let n = records.len() as u64;
                        update(&|s| {
                            s.state = "connected".into();
                            s.exported += n;
                            s.backlog = s.backlog.saturating_sub(n);
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, ?backoff, "OTLP export failed; retrying");
                        update(&|s| {
                            s.state = "retrying".into();
                            s.last_error = Some(e.clone());
                        });
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
        Ok(Exporter { status, task })
    }
}
