//! The `warden` command line: run governed agent sessions headless, run one command in
//! the sandbox, read the audit history, or serve the UI's API over HTTP.
//!
//! Two binaries share this parser. `warden` runs the commands that must start fast
//! (`exec`, `proxy`) itself and hands the others (`run`, `audit`, `serve`, `policy`,
//! `review`, `triage`, `admin`) to `warden-sessions` beside it, which links the agent, the audit store, the
//! web server and the rules language (Starlark). `exec` and `proxy` are handed over too
//! when a rules file is new or has changed since its rules were last kept. A binary's start is dominated by the loader
//! relocating its pointers (and running constructors) and its exit by unmapping it, so
//! `warden exec` stays free of what it never uses (docs/decisions.md).

mod admin_cmd;
mod audit_cmd;
mod egress;
mod embedded_ui;
mod exec;
mod exec_record;
mod insights_cmd;
mod keys;
mod policy_cmd;
mod proxy_cmd;
mod review_cmd;
mod run;
mod serve;
mod sessions;
mod signin_cmd;
mod transcript;
mod triage_cmd;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use warden_policy::PolicyError;
use warden_policy::rules::RulesLoader;
use warden_protocol::{ApprovalPolicy, SandboxMode};

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Govern and audit coding agents",
    help_expected = true
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// Options of every command.
#[derive(Args, Debug)]
struct Globals {
    /// Override a config value: `-c model.base_url=http://127.0.0.1:8080/v1`.
    #[arg(short = 'c', long = "set", value_name = "KEY=VALUE", global = true)]
    overrides: Vec<String>,
}

/// The same parser with `exec` alone. `warden exec` starts every sandboxed command, and
/// building the whole tree of commands and their arguments takes clap a quarter of a
/// millisecond; the tests check both parsers answer alike.
#[derive(Parser)]
#[command(name = "warden", version, about = "Govern and audit coding agents")]
struct ExecCli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: ExecOnly,
}

#[derive(Subcommand)]
enum ExecOnly {
    /// Run one command inside the sandbox and exit with its status.
    Exec(exec::ExecArgs),
}

impl Cli {
    fn parse_args() -> Self {
        if std::env::args_os()
            .nth(1)
            .is_some_and(|word| word == "exec")
        {
            let ExecCli {
                globals,
                command: ExecOnly::Exec(args),
            } = ExecCli::parse();
            return Cli {
                globals,
                command: Command::Exec(args),
            };
        }
        Cli::parse()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run one agent task in a workspace, streaming the transcript; approvals are asked
    /// on the terminal (without one, anything needing approval is denied).
    Run {
        /// The workspace folder.
        #[arg(long, default_value = ".")]
        cwd: PathBuf,
        /// read-only, workspace-write or full-access (default: the config's `sandbox`).
        #[arg(long, value_parser = parse_sandbox)]
        sandbox: Option<SandboxMode>,
        /// untrusted, on-request or never (default: the config's `approval`).
        #[arg(long, value_parser = parse_approval)]
        approval: Option<ApprovalPolicy>,
        /// The task for the agent.
        task: String,
    },
    /// Run one command inside the sandbox and exit with its status.
    Exec(exec::ExecArgs),
    /// Read the audit history.
    Audit {
        /// The audit database (default: the app's).
        #[arg(long, global = true)]
        db: Option<PathBuf>,
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Run the egress proxy on its own (for testing and scripting); prints the client
    /// environment and serves until interrupted.
    Proxy(proxy_cmd::ProxyArgs),
    /// Serve the API and the web UI on 127.0.0.1 with a bearer token.
    Serve(serve::ServeArgs),
    /// Check a command against the effective policy, or show that policy.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Tools for admins: validate requirements/rules files, build an MDM profile.
    Admin {
        #[command(subcommand)]
        command: admin_cmd::AdminCommand,
    },
    /// Triage an endpoint alert: find the governed session it came from and why, and
    /// recommend a verdict (the report is recorded in the audit store).
    Triage(triage_cmd::TriageArgs),
    /// How the rollout is going: sessions, tools, decisions, the network, the sandbox and
    /// auto-review over a period, and suggestions to tune the policy.
    Insights(insights_cmd::InsightsArgs),
    /// Auto-review: measure it on a labelled corpus.
    Review {
        #[command(subcommand)]
        command: review_cmd::ReviewCommand,
    },
    /// Sign in to remote MCP servers (OAuth; the grant is kept in the OS keyring).
    Mcp {
        #[command(subcommand)]
        command: signin_cmd::SignInCommand,
    },
    /// Sign in to the model's identity provider (when model.credentials = "oauth").
    Model {
        #[command(subcommand)]
        command: signin_cmd::SignInCommand,
    },
}

pub(crate) fn parse_sandbox(s: &str) -> Result<SandboxMode, String> {
    SandboxMode::ALL
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            format!(
                "unknown sandbox mode {s:?}; expected read-only, workspace-write or full-access"
            )
        })
}

fn parse_approval(s: &str) -> Result<ApprovalPolicy, String> {
    ApprovalPolicy::ALL
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            format!("unknown approval policy {s:?}; expected untrusted, on-request or never")
        })
}

/// `warden`'s `main`. It has no rules language (this crate never names `warden_rules`,
/// so `warden` does not link Starlark): `exec` and `proxy` run here unless they find a
/// rules file whose rules are not kept (`RulesCache`), in which case they stop before
/// doing anything and the command line goes to `warden-sessions`, as every other
/// command's does.
pub fn warden_main() -> std::process::ExitCode {
    // First thing: the command's process for `warden exec`, to make its namespaces while
    // this one parses and reads the policy.
    let early = exec::early_child(std::env::args_os());
    let cli = start();
    let failure = failure_status(&cli.command);
    let result = match cli.command {
        // `exec` needs no async runtime: keep it a plain clone/exec.
        Command::Exec(args) => exec::run(cli.globals.overrides, args, None, early),
        // The proxy runs on its own runtime.
        Command::Proxy(args) => proxy_cmd::run(cli.globals.overrides, args, None),
        Command::Run { .. }
        | Command::Audit { .. }
        | Command::Serve(_)
        | Command::Policy { .. }
        | Command::Review { .. }
        | Command::Triage(_)
        | Command::Insights(_)
        | Command::Mcp { .. }
        | Command::Model { .. }
        | Command::Admin { .. } => sessions::hand_over(),
    };
    let result = match result {
        Err(e) if needs_rules_language(&e) => sessions::hand_over(),
        other => other,
    };
    finish(result, failure)
}

/// The policy has rules files to load, and this binary cannot.
fn needs_rules_language(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<PolicyError>(),
        Some(PolicyError::NoRulesLanguage { .. })
    )
}

/// `warden-sessions`' `main`: every command (`warden` hands it the ones it does not
/// run, and `exec` and `proxy` when a rules file must be loaded).
/// `rules` is the rules language (`warden_rules::load_rules`), named only by that
/// binary's `main`.
pub fn sessions_main(rules: RulesLoader) -> std::process::ExitCode {
    let cli = start();
    let failure = failure_status(&cli.command);
    let overrides = cli.globals.overrides;
    let result = match cli.command {
        // As in `warden`: no async runtime around these (`exec` and the proxy start
        // their own, and block on it).
        Command::Exec(args) => exec::run(overrides, args, Some(rules), None),
        Command::Proxy(args) => proxy_cmd::run(overrides, args, Some(rules)),
        Command::Policy { command } => policy_cmd::run(overrides, command, rules),
        Command::Admin { command } => admin_cmd::run(command, rules),
        Command::Review { command } => review_cmd::run(overrides, command, rules),
        Command::Triage(args) => block_on(triage_cmd::run(overrides, args, rules)),
        Command::Insights(args) => block_on(insights_cmd::run(overrides, args, rules)),
        Command::Run {
            cwd,
            sandbox,
            approval,
            task,
        } => block_on(run::run(overrides, cwd, sandbox, approval, task, rules)),
        Command::Audit { db, command } => block_on(audit_cmd::run(db, command)),
        Command::Serve(args) => block_on(serve::run(overrides, args, rules)),
        Command::Mcp { command } => block_on(signin_cmd::run(
            overrides,
            signin_cmd::Kind::Mcp,
            command,
            rules,
        )),
        Command::Model { command } => block_on(signin_cmd::run(
            overrides,
            signin_cmd::Kind::Model,
            command,
            rules,
        )),
    };
    finish(result, failure)
}

fn block_on(
    command: impl Future<Output = anyhow::Result<std::process::ExitCode>>,
) -> anyhow::Result<std::process::ExitCode> {
    tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(command)
}

fn start() -> Cli {
    let log = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr());
    match tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG") {
        Ok(filter) => log
            .with_env_filter(warden_agent::oauth::limit_log(filter))
            .init(),
        // Warnings: a plain level, quicker to set up than a filter.
        Err(_) => log
            .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
            .init(),
    }
    Cli::parse_args()
}

/// Colours in log lines only for a person at a terminal: a pipe, a file or a CI log gets
/// plain text, and `NO_COLOR` (any value) turns them off.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The status when Warden itself fails: `exec` passes its command's statuses through, so
/// its own failures use one apart from theirs; every other command exits 2.
fn failure_status(command: &Command) -> u8 {
    match command {
        Command::Exec(_) => exec::WARDEN_FAILED,
        _ => 2,
    }
}

fn finish(result: anyhow::Result<std::process::ExitCode>, failure: u8) -> std::process::ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warden: {e:#}");
            std::process::ExitCode::from(failure)
        }
    }
}

/// Open the host for this profile (`$WARDEN_HOME` or the platform dirs), as the app does.
pub(crate) async fn open_host(
    overrides: Vec<String>,
    rules: RulesLoader,
) -> anyhow::Result<warden_agent::Host> {
    Ok(warden_agent::Host::open_default(overrides, rules).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parser makes of `argv`: the command's arguments, or its help or error.
    fn answer<P: Parser>(
        argv: &[&str],
        exec: impl Fn(P) -> Option<(Globals, exec::ExecArgs)>,
    ) -> String {
        match P::try_parse_from(argv) {
            Ok(parsed) => format!("{:?}", exec(parsed)),
            Err(e) => e.render().to_string(),
        }
    }

    /// Clap's own checks of the command tree, including a help line for every command,
    /// argument and option (`help_expected`).
    #[test]
    fn every_command_and_option_is_described() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn the_exec_parser_answers_like_the_whole_one() {
        let argvs: [&[&str]; 7] = [
            &["warden", "exec", "--help"],
            &["warden", "exec"],
            &["warden", "exec", "--bogus", "--", "true"],
            &["warden", "exec", "--sandbox", "nope", "--", "true"],
            &["warden", "exec", "--network", "open", "--", "true"],
            &["warden", "exec", "--", "true"],
            &[
                "warden",
                "exec",
                "-c",
                "a=b",
                "--sandbox",
                "read-only",
                "--cwd",
                "/tmp",
                "--writable",
                "/x",
                "--network",
                "deny",
                "--allow-env",
                "X",
                "--accept-weaker",
                "no-namespaces",
                "--set",
                "c=d",
                "--",
                "true",
                "-v",
            ],
        ];
        for argv in argvs {
            let whole = answer(argv, |cli: Cli| match cli.command {
                Command::Exec(args) => Some((cli.globals, args)),
                _ => None,
            });
            let alone = answer(argv, |cli: ExecCli| match cli.command {
                ExecOnly::Exec(args) => Some((cli.globals, args)),
            });
            assert_eq!(whole, alone, "{argv:?}");
            assert_ne!(whole, "None", "{argv:?}");
        }
    }
}
