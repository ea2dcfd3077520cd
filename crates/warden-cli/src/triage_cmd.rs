//! `warden triage ALERT`: an endpoint alert (a file, or `-` for standard input) matched
//! to the governed sessions it came from, with a verdict for a person to act on
//! (docs/triage.md). The report is also recorded in the audit store.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::Value;
use warden_protocol::{TriageParams, WardenApi};

#[derive(Args)]
pub struct TriageArgs {
    /// The alert: a file, or `-` for standard input (ECS JSON, Falco JSON, an osquery
    /// result-log line, or a CrowdStrike detection summary event).
    alert: PathBuf,
    /// Print the report as JSON (snake_case fields, with `matches` and `analysis`).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Text for a terminal (default) or Markdown for a ticket.
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
    /// Minutes either side of the alert's time to look in (default: `triage.window_minutes`, 10).
    #[arg(long, value_name = "MINUTES")]
    window: Option<u32>,
    /// Decide with Warden's rules only, without the triage model.
    #[arg(long)]
    rules: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    Text,
    Md,
}

pub async fn run(
    mut overrides: Vec<String>,
    args: TriageArgs,
    rules: warden_policy::rules::RulesLoader,
) -> anyhow::Result<ExitCode> {
    let alert = if args.alert.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the alert from standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.alert)
            .with_context(|| format!("cannot read the alert {}", args.alert.display()))?
    };
    if args.rules {
        overrides.push("triage.analysis=\"rules\"".into());
    }
    let host = crate::open_host(overrides, rules).await?;
    let answer = host
        .triage(TriageParams {
            alert,
            window_minutes: args.window,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut report = serde_json::to_value(&answer.report)?;
        snake_keys(&mut report);
        report["report_session_id"] = Value::String(answer.report_session_id.clone());
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        match args.format {
            Some(ReportFormat::Md) => write!(out, "{}", answer.markdown)?,
            _ => write!(out, "{}", warden_triage::report::text(&answer.report))?,
        }
        writeln!(
            out,
            "\n(recorded in the audit store as session {})",
            answer.report_session_id
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The wire's camelCase keys as the command line's snake_case (`nextSteps` → `next_steps`).
fn snake_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                snake_keys(&mut v);
                let mut key = String::with_capacity(k.len() + 4);
                for c in k.chars() {
                    if c.is_ascii_uppercase() {
                        key.push('_');
                        key.push(c.to_ascii_lowercase());
                    } else {
                        key.push(c);
                    }
                }
                map.insert(key, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(snake_keys),
        _ => {}
    }
}
