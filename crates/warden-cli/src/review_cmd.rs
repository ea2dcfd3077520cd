//! `warden review eval`: a labelled corpus through auto-review as a session would take
//! it, and how it came out per kind (docs/review.md).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use warden_policy::router::ReviewMode;
use warden_policy::rules::RulesLoader;
use warden_review::eval::{self, EvalReport, EvalSetup};

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Run a labelled corpus (one JSON case per line) through auto-review with the
    /// effective policy, and report per kind what ran without a person, the risky cases
    /// that did (false approvals), and what went to a person. Exits 1 when any risky
    /// case was approved.
    Eval {
        /// The corpus: one JSON object per line (docs/review.md).
        #[arg(long, value_name = "FILE.jsonl")]
        cases: PathBuf,
        /// Which tiers answer: `rules` (no model) or `model` (rules first, then the
        /// reviewer model). Default: the config's `auto_review` mode.
        #[arg(long, value_enum)]
        tier: Option<Tier>,
        /// The workspace the cases run in (relative paths and commands without a
        /// `cwd`); its trusted project policy applies.
        #[arg(long, default_value = ".")]
        cwd: PathBuf,
        /// More requirements files (added to the admin's, never replacing them).
        #[arg(long = "requirements", value_name = "FILE")]
        requirements: Vec<PathBuf>,
        /// Print JSON (`{"results": […], "summary": {…}}`) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Tier {
    Rules,
    Model,
}

pub fn run(
    overrides: Vec<String>,
    command: ReviewCommand,
    language: RulesLoader,
) -> anyhow::Result<ExitCode> {
    let ReviewCommand::Eval {
        cases,
        tier,
        cwd,
        requirements,
        json,
    } = command;
    let text = std::fs::read_to_string(&cases)
        .with_context(|| format!("cannot read {}", cases.display()))?;
    let corpus =
        eval::read_cases(&text).with_context(|| format!("{} is not a corpus", cases.display()))?;
    let workspace = cwd
        .canonicalize()
        .with_context(|| format!("the workspace {} does not exist", cwd.display()))?;
    let policy =
        crate::policy_cmd::resolve(overrides, &workspace, Vec::new(), requirements, language)?;
    let mode = match tier {
        Some(Tier::Rules) => ReviewMode::Rules,
        Some(Tier::Model) => ReviewMode::Model,
        None if policy.config.auto_review.mode == ReviewMode::Model => ReviewMode::Model,
        None => ReviewMode::Rules,
    };
    if mode != policy.config.auto_review.mode
        && let Some(lock) = policy
            .values
            .iter()
            .find(|v| v.key == "auto_review.mode")
            .and_then(|v| v.locked_by.as_ref())
    {
        eprintln!(
            "warden: note: auto_review.mode is fixed to `{}` by {lock}; sessions here do not use the `{}` tier measured",
            policy.config.auto_review.mode.as_str(),
            mode.as_str()
        );
    }
    let reviewer = match mode {
        ReviewMode::Model => {
            let key = warden_agent::load_reviewer_key().or_else(|| warden_agent::load_api_key().0);
            Some(warden_agent::reviewer::build(&policy.config, key).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let setup = EvalSetup {
        policy: &policy,
        workspace,
        mode,
        reviewer: reviewer
            .as_deref()
            .ok_or_else(|| "the rules tier alone is measured".to_string()),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(eval::run(&corpus, &setup));
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", table(&report, mode, reviewer.as_deref()))?;
    }
    Ok(if report.summary.false_approvals.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report as people read it.
fn table(
    report: &EvalReport,
    mode: ReviewMode,
    reviewer: Option<&warden_review::Reviewer>,
) -> String {
    let mut out = format!(
        "auto-review eval: {} cases, tier {}{}\n\n",
        report.results.len(),
        mode.as_str(),
        reviewer
            .map(|r| format!(" (reviewer model {})", r.model()))
            .unwrap_or_default()
    );
    out.push_str(&format!(
        "{:<8} {:>8} {:>20} {:>6} {:>16} {:>6} {:>8}\n",
        "kind", "routine", "approved unasked", "risky", "false approvals", "asked", "refused"
    ));
    let rows = report
        .summary
        .kinds
        .iter()
        .map(|(k, s)| (k.as_str(), s))
        .chain(std::iter::once(("total", &report.summary.total)));
    for (kind, s) in rows {
        let share = match (s.routine_approved * 100).checked_div(s.routine) {
            Some(percent) => format!("{} ({percent}%)", s.routine_approved),
            None => "-".to_string(),
        };
        out.push_str(&format!(
            "{:<8} {:>8} {:>20} {:>6} {:>16} {:>6} {:>8}\n",
            kind, s.routine, share, s.risky, s.risky_approved, s.asked, s.refused
        ));
    }
    if report.summary.false_approvals.is_empty() {
        out.push_str("\nno false approvals\n");
    } else {
        out.push_str("\nfalse approvals (risky cases that ran without a person):\n");
        for result in report
            .results
            .iter()
            .filter(|r| report.summary.false_approvals.contains(&r.id))
        {
            out.push_str(&format!(
                "  {} [{}] by {}{}\n",
                result.id,
                result.kind,
                result.tier,
                result
                    .rationale
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(reviewer) = reviewer {
        let spent = reviewer.spent();
        out.push_str(&format!(
            "\nreviewer spent: {} reviews, {} tokens in, {} tokens out\n",
            spent.reviews, spent.tokens_in, spent.tokens_out
        ));
    }
    out
}
