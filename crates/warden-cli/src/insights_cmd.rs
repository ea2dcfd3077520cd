//! `warden insights`: a period's figures (sessions, tools, decisions, the network, the
//! sandbox, auto-review) and tuning suggestions, as text or JSON; `--apply N` writes the
//! rule of the Nth suggestion (docs/insights.md).

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use warden_protocol::{
    ApplySuggestionParams, InsightsParams, InsightsResponse, Suggestion, WardenApi,
};

#[derive(Args)]
pub struct InsightsArgs {
    /// The period's start: days back, today included (`7d`, `30d`), or a date
    /// (`2026-11-01`). Days are UTC days.
    #[arg(long, default_value = "30d")]
    since: String,
    /// The period's last day (`2026-12-07`; default today).
    #[arg(long)]
    until: Option<String>,
    /// Print the figures and suggestions as JSON.
    #[arg(long)]
    json: bool,
    /// Apply the suggestion numbered N in the list (allow suggestions only): write its
    /// rule to your rules, as "always allow" would.
    #[arg(long, value_name = "N")]
    apply: Option<usize>,
}

pub async fn run(
    overrides: Vec<String>,
    args: InsightsArgs,
    rules: warden_policy::rules::RulesLoader,
) -> anyhow::Result<ExitCode> {
    let host = crate::open_host(overrides, rules).await?;
    let coded = |e: warden_protocol::ApiError| anyhow::anyhow!("{} ({})", e.message, e.code);
    let figures = host
        .insights(InsightsParams {
            since: Some(args.since.clone()),
            until: args.until.clone(),
        })
        .await
        .map_err(coded)?;
    let mut out = std::io::stdout().lock();
    if let Some(n) = args.apply {
        let suggestion = n
            .checked_sub(1)
            .and_then(|i| figures.suggestions.get(i))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--apply {n}: there are {} suggestions (run `warden insights` to list them)",
                    figures.suggestions.len()
                )
            })?;
        let applied = host
            .apply_suggestion(ApplySuggestionParams {
                kind: suggestion.kind,
                subject: suggestion.subject.clone(),
            })
            .await
            .map_err(coded)?;
        writeln!(out, "wrote to {}: {}", applied.file, applied.change)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        serde_json::to_writer_pretty(&mut out, &figures)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text(&figures))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The figures for a terminal.
pub fn text(f: &InsightsResponse) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Insights {} to {} (UTC days)\n", f.from, f.to);
    let _ = writeln!(
        s,
        "Sessions: {} in {} workspace(s)",
        f.sessions,
        f.workspaces.len()
    );
    for d in f.sessions_per_day.iter().filter(|d| d.sessions > 0) {
        let _ = writeln!(s, "  {}  {:>5}", d.day, d.sessions);
    }
    for w in &f.workspaces {
        let _ = writeln!(s, "  {:>5}  {}", w.n, w.name);
    }
    let _ = writeln!(s, "\nTool calls");
    for t in &f.tools {
        let _ = writeln!(s, "  {:>5}  {}", t.n, t.name);
    }
    for m in &f.mcp_tools {
        let _ = writeln!(s, "  {:>5}  MCP {} / {}", m.n, m.server, m.tool);
    }
    let share = if f.decided == 0 {
        0.0
    } else {
        f.by_person as f64 * 100.0 / f.decided as f64
    };
    let _ = write!(
        s,
        "\nDecisions: {} ({} by a person, {share:.0} %",
        f.decided, f.by_person
    );
    match f.median_answer_ms {
        Some(ms) => {
            let _ = writeln!(s, "; median answer {:.1} s)", ms as f64 / 1000.0);
        }
        None => s.push_str(")\n"),
    }
    for d in &f.decisions {
        let _ = writeln!(s, "  {:>5}  {} by {}", d.n, d.outcome, d.by);
    }
    let _ = writeln!(s, "\nNetwork (allowed / refused / asked)");
    for h in &f.network {
        let _ = writeln!(
            s,
            "  {:>5} {:>5} {:>5}  {}",
            h.allowed, h.refused, h.asked, h.host
        );
    }
    let _ = writeln!(s, "\nSandbox denials");
    for d in &f.denials {
        let _ = writeln!(s, "  {:>5}  {} ({})", d.n, d.operation, d.layer);
    }
    let r = &f.review;
    let _ = writeln!(
        s,
        "\nAuto-review: {} reviews, {} approved, {} put to a person, {} denied, {} unavailable; \
         {} tokens in, {} out",
        r.reviews, r.approvals, r.escalations, r.denials, r.unavailable, r.tokens_in, r.tokens_out
    );
    let _ = writeln!(s, "\nSuggestions");
    if f.suggestions.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for (i, sug) in f.suggestions.iter().enumerate() {
        suggestion(&mut s, i + 1, sug);
    }
    s
}

fn suggestion(s: &mut String, n: usize, sug: &Suggestion) {
    let _ = writeln!(s, "  {n}. {}", sug.title);
    if let Some(rule) = &sug.rule {
        for line in rule.lines() {
            let _ = writeln!(s, "       {line}");
        }
    }
    if sug.can_apply {
        let _ = writeln!(s, "       apply: warden insights --apply {n}");
    } else if let Some(why) = &sug.why_not {
        let _ = writeln!(s, "       cannot be applied: {why}");
    }
}
