//! The `warden` command line: run governed agent sessions headless, run one command in
//! the sandbox, read the audit history, or serve the UI's API over HTTP.
//!
//! Two binaries share this parser. `warden` runs the commands that must start fast
//! (`exec`, `proxy`, `policy`, `admin`) itself and hands the others (`run`, `audit`,
//! `serve`) to `warden-sessions` beside it, which links the agent, the audit store and
//! the web server. A binary's start is dominated by the loader relocating its pointers
//! and its exit by unmapping it, so `warden exec` stays free of what it never uses
//! (docs/decisions.md).

mod admin_cmd;
mod audit_cmd;
mod egress;
mod exec;
mod policy_cmd;
mod proxy_cmd;
mod run;
mod serve;
mod sessions;
mod transcript;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use warden_protocol::{ApprovalPolicy, SandboxMode};

#[derive(Parser)]
#[command(name = "warden", version, about = "Govern and audit coding agents")]
struct Cli {
    /// Override a config value: `-c model.base_url=http://127.0.0.1:8080/v1`.
    #[arg(short = 'c', long = "set", value_name = "KEY=VALUE", global = true)]
    overrides: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one agent task in a workspace, streaming the transcript; approvals are asked
    /// on the terminal (without one, anything needing approval is denied).
    Run {
        /// The workspace folder.
        #[arg(long, default_value = ".")]
        cwd: PathBuf,
        #[arg(long, value_parser = parse_sandbox)]
        sandbox: Option<SandboxMode>,
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

/// `warden`'s `main`.
pub fn warden_main() -> std::process::ExitCode {
    let cli = start();
    let result = match cli.command {
        // `exec` needs no async runtime: keep it a plain clone/exec.
        Command::Exec(args) => exec::run(cli.overrides, args),
        // The proxy runs on its own runtime.
        Command::Proxy(args) => proxy_cmd::run(cli.overrides, args),
        // Policy and admin commands are pure: no async runtime either.
        Command::Policy { command } => policy_cmd::run(cli.overrides, command),
        Command::Admin { command } => admin_cmd::run(command),
        Command::Run { .. } | Command::Audit { .. } | Command::Serve(_) => sessions::hand_over(),
    };
    finish(result)
}

/// `warden-sessions`' `main`: every command (`warden` hands it `run`, `audit` and
/// `serve`).
pub fn sessions_main() -> std::process::ExitCode {
    let cli = start();
    let result = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(dispatch(cli.command, cli.overrides)),
        Err(e) => Err(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    finish(result)
}

fn start() -> Cli {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    Cli::parse()
}

fn finish(result: anyhow::Result<std::process::ExitCode>) -> std::process::ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warden: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn dispatch(
    command: Command,
    overrides: Vec<String>,
) -> anyhow::Result<std::process::ExitCode> {
    match command {
        Command::Run {
            cwd,
            sandbox,
            approval,
            task,
        } => run::run(overrides, cwd, sandbox, approval, task).await,
        Command::Audit { db, command } => audit_cmd::run(db, command).await,
        Command::Serve(args) => serve::run(overrides, args).await,
        Command::Exec(args) => exec::run(overrides, args),
        Command::Proxy(args) => proxy_cmd::run(overrides, args),
        Command::Policy { command } => policy_cmd::run(overrides, command),
        Command::Admin { command } => admin_cmd::run(command),
    }
}

/// Open the host for this profile (`$WARDEN_HOME` or the platform dirs).
pub(crate) async fn open_host(overrides: Vec<String>) -> anyhow::Result<warden_agent::Host> {
    let paths = warden_policy::config::WardenPaths::discover()?;
    Ok(warden_agent::Host::open(paths, overrides).await?)
}
