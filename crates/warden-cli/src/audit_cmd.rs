//! `warden audit list | show`: the recorded history, read straight from the store.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use warden_audit::AuditStore;

use crate::transcript;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Sessions, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One session's events, in order.
    Show {
        session: String,
        /// Print each event as a JSON line.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(db: Option<PathBuf>, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let path = match db {
        Some(path) => {
            anyhow::ensure!(path.exists(), "no audit database at {}", path.display());
            path
        }
        None => warden_policy::config::WardenPaths::discover()?.audit_db(),
    };
    let store = AuditStore::open(&path).await?;
    match command {
        AuditCommand::List { limit } => {
            let (sessions, _) = store.list_sessions(None, limit).await?;
            if sessions.is_empty() {
                println!("no sessions recorded in {}", path.display());
            }
            for s in sessions {
                let state = if s.ended_at.is_some() {
                    "ended"
                } else {
                    "open"
                };
                println!(
                    "{}  {}  {:>4} events  {:<5}  {}  {}",
                    s.session_id,
                    time(s.created_at),
                    s.event_count,
                    state,
                    s.cwd,
                    s.title
                );
            }
        }
        AuditCommand::Show { session, json } => {
            store.session(&session).await?;
            let mut after = 0;
            loop {
                let (events, next) = store.timeline(&session, after, 1000).await?;
                for event in &events {
                    if json {
                        println!("{}", serde_json::to_string(event)?);
                    } else {
                        let seq = event.seq.unwrap_or_default();
                        println!(
                            "{seq:>5}  {}  {:<18} {}",
                            time(event.created_at),
                            event.msg.kind(),
                            transcript::line(&event.msg)
                        );
                    }
                }
                match next {
                    Some(n) => after = n,
                    None => break,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// UTC `YYYY-MM-DD HH:MM:SS` from epoch milliseconds.
fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00");
        assert_eq!(super::time(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}
