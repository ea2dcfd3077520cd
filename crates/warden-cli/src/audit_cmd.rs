//! `warden audit list | show`: the recorded history, read straight from the store.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use warden_audit::{AuditStore, SearchQuery, counted, verify_export};
use warden_protocol::DecisionOutcome;

use crate::transcript;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Sessions, newest first.
    List {
        /// At most this many sessions (the newest).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One session's events, in order.
    Show {
        /// The session's id, as `list` shows it.
        session: String,
        /// Print each event as a JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Find events: words in prompts, commands, hosts and paths, plus filters. Newest first.
    Search {
        /// Words that must all appear.
        text: Vec<String>,
        /// Only this session's events (its id, as `list` shows it).
        #[arg(long)]
        session: Option<String>,
        /// Event kind (repeatable): userPrompt, toolCallProposed, decision, sandboxDenied, …
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Who acted or decided: user, agent, rule, requirement (an admin requirement's
        /// rule), default, session-cache, auto-review, sandbox, warden.
        #[arg(long)]
        actor: Option<String>,
        /// Only decisions that came to this: policy verdicts, network connections allowed
        /// or denied, approvals answered yes (allow) or no (forbid).
        #[arg(long, value_parser = clap::value_parser!(DecisionOutcome))]
        decision: Option<DecisionOutcome>,
        /// From this time (UTC `YYYY-MM-DD[THH:MM[:SS]]` or epoch milliseconds).
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
        /// Before this time (same forms as --since).
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
        /// At most this many hits (the newest).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print each hit as a JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Check the store: every session's hash chain, the seals over its commits, its
    /// retention anchors and its witness; or an exported file on its own.
    Verify {
        /// An exported session (JSONL) instead of the database.
        #[arg(long, conflicts_with = "witness")]
        file: Option<PathBuf>,
        /// Also check the store against an outside copy of its events: a Warden export, or
        /// what a collector received over OTLP (OTLP/JSON lines, `-` for standard input).
        #[arg(long, value_name = "FILE")]
        witness: Option<PathBuf>,
    },
    /// Delete events older than DAYS (keeping a chain anchor so the rest still verifies).
    Prune {
        /// Delete the events older than this many days.
        #[arg(long = "older-than", value_name = "DAYS")]
        older_than: u32,
    },
    /// Store a `warden exec` run handed over on standard input (used by `warden exec`).
    #[command(hide = true)]
    Record,
    /// Export one session as a self-contained JSONL file that `verify --file` can check.
    Export {
        /// The session's id, as `list` shows it.
        session: String,
        /// The file format (JSON lines, one event each, after a header).
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// The line over a turn's events in `show`: a turn opens with a user prompt.
fn turn_heading(turn: u64) -> String {
    if turn == 0 {
        "── before the first prompt".into()
    } else {
        format!("── turn {turn}")
    }
}

pub async fn run(db: Option<PathBuf>, command: AuditCommand) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Verify {
        file: Some(file), ..
    } = &command
    {
        let reader =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let report = verify_export(std::io::BufReader::new(reader))
            .with_context(|| format!("{}", file.display()))?;
        println!("{report}");
        return Ok(if report.broken.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
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
            let mut turn = None;
            loop {
                let (events, next) = store.timeline(&session, after, 1000).await?;
                for event in &events {
                    if json {
                        println!("{}", serde_json::to_string(event)?);
                    } else {
                        if event.turn.is_some() && event.turn != turn {
                            turn = event.turn;
                            println!("{}", turn_heading(event.turn.unwrap_or_default()));
                        }
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
        AuditCommand::Search {
            text,
            session,
            kinds,
            actor,
            decision,
            since,
            until,
            limit,
            json,
        } => {
            let query = SearchQuery {
                text: Some(text.join(" ")).filter(|t| !t.trim().is_empty()),
                session_id: session,
                kinds,
                actor,
                decision,
                since,
                until,
                before_id: None,
                limit,
            };
            let (hits, next) = store.search(&query).await?;
            for hit in &hits {
                let e = &hit.event;
                if json {
                    println!("{}", serde_json::to_string(e)?);
                } else {
                    let seq = e.seq.unwrap_or_default();
                    println!(
                        "{}  {}#{seq:<4} {:<18} {}",
                        time(e.created_at),
                        e.session_id,
                        e.msg.kind(),
                        transcript::line(&e.msg)
                    );
                }
            }
            if !json {
                eprintln!(
                    "{} match(es){}",
                    hits.len(),
                    if next.is_some() {
                        "; more with a higher --limit"
                    } else {
                        ""
                    }
                );
            }
        }
        AuditCommand::Prune { older_than } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let report = store
                .apply_retention(now - i64::from(older_than) * 86_400_000, now)
                .await?;
            println!(
                "deleted {} older than {} from {}; the chain still verifies from their anchors",
                counted(report.events_deleted, "event"),
                counted(u64::from(older_than), "day"),
                counted(report.sessions_trimmed, "session")
            );
        }
        AuditCommand::Record => {
            let session = crate::exec_record::store(&store, std::io::stdin().lock()).await?;
            println!("{session}");
        }
        AuditCommand::Verify { witness, .. } => {
            let report = store.verify().await?;
            println!("{report}");
            for note in &report.notes {
                println!("note: {note}");
            }
            let mut failed = report.broken.is_some();
            if let Some(copy) = witness {
                let against = if copy.as_os_str() == "-" {
                    store.verify_against(std::io::stdin().lock()).await
                } else {
                    let file = std::fs::File::open(&copy)
                        .with_context(|| format!("cannot open {}", copy.display()))?;
                    store.verify_against(std::io::BufReader::new(file)).await
                }
                .with_context(|| format!("{}", copy.display()))?;
                println!("{against}");
                failed |= against.broken.is_some();
            }
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        AuditCommand::Export {
            session, output, ..
        } => match output {
            Some(file) => {
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(&file)
                        .with_context(|| format!("cannot create {}", file.display()))?,
                );
                let n = store.export_session(&session, &mut out).await?;
                eprintln!(
                    "exported {n} events of session {session} to {}",
                    file.display()
                );
            }
            None => {
                store
                    .export_session(&session, &mut std::io::stdout().lock())
                    .await?;
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD[THH:MM[:SS]]` (UTC) or epoch milliseconds.
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        format!(
            "{s:?} is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or epoch milliseconds"
        )
    };
    let (date, clock) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let c: Vec<i64> = clock
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [year, month, day] = d[..] else {
        return Err(bad());
    };
    let (hour, minute, second) = match c[..] {
        [h, m] => (h, m, 0),
        [h, m, sec] => (h, m, sec),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 86_400) + hour * 3600 + minute * 60 + second) * 1000)
}

/// UTC `YYYY-MM-DD HH:MM:SS` from epoch milliseconds.
fn time(ms: i64) -> String {
    warden_protocol::utc_time(ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_parse_and_print_as_utc() {
        assert_eq!(
            super::parse_time("2026-11-18T11:06:40"),
            Ok(1_795_000_000_000)
        );
        assert_eq!(super::parse_time("1970-01-02"), Ok(86_400_000));
        assert_eq!(super::parse_time("1795000000000"), Ok(1_795_000_000_000));
        assert!(super::parse_time("yesterday").is_err());
        assert!(super::parse_time("2026-13-01").is_err());
        assert_eq!(super::time(0), "1970-01-01 00:00:00");
        assert_eq!(super::time(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}
