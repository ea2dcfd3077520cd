//! `warden mcp login|logout|status` and `warden model login|logout|status`: OAuth
//! sign-ins, kept in the OS keyring (docs/mcp.md). `login` prints the page and opens it
//! in the browser (`WARDEN_BROWSER` names another program), then waits for the redirect.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use warden_protocol::CredentialState;

#[derive(Subcommand)]
pub enum SignInCommand {
    /// Sign in (OAuth, through the system browser); the grant goes to the OS keyring.
    Login {
        /// The MCP server's name in `mcp_servers` (not for `warden model`).
        name: Option<String>,
    },
    /// Forget the sign-in (remove it from the OS keyring).
    Logout {
        /// The MCP server's name (not for `warden model`).
        name: Option<String>,
    },
    /// Show the sign-ins: who, until when, whether it can be renewed. Never the token.
    Status {
        /// Only this MCP server.
        name: Option<String>,
        /// Also connect with it and list the server's tools (MCP servers).
        #[arg(long)]
        check: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which kind of sign-in the command is about.
#[derive(Clone, Copy)]
pub enum Kind {
    Mcp,
    Model,
}

fn target(kind: Kind, name: Option<&str>) -> anyhow::Result<String> {
    match (kind, name) {
        (Kind::Mcp, Some(name)) => Ok(format!("mcp:{name}")),
        (Kind::Mcp, None) => anyhow::bail!("name the MCP server (`warden mcp login NAME`)"),
        (Kind::Model, None) => Ok("model".into()),
        (Kind::Model, Some(name)) => {
            anyhow::bail!(
                "`warden model` signs in to the model's identity provider; it takes no name ({name:?})"
            )
        }
    }
}

pub async fn run(
    overrides: Vec<String>,
    kind: Kind,
    command: SignInCommand,
    rules: warden_policy::rules::RulesLoader,
) -> anyhow::Result<ExitCode> {
    let host = crate::open_host(overrides, rules).await?;
    let mut out = std::io::stdout().lock();
    match command {
        SignInCommand::Login { name } => {
            let target = target(kind, name.as_deref())?;
            let state = host
                .sign_in_and_wait(&target, |page| {
                    eprintln!("Opening the sign-in page in your browser. If it does not open, visit:\n  {page}");
                    if let Err(e) = warden_agent::oauth::open_in_browser(page) {
                        eprintln!("({e})");
                    }
                    Ok(())
                })
                .await?;
            writeln!(out, "{}", describe(&state))?;
        }
        SignInCommand::Logout { name } => {
            let target = target(kind, name.as_deref())?;
            let state = host.sign_out(&target).await?;
            writeln!(out, "{}", describe(&state))?;
        }
        SignInCommand::Status { name, check, json } => {
            let wanted = match (kind, &name) {
                (Kind::Mcp, Some(name)) => Some(format!("mcp:{name}")),
                (Kind::Mcp, None) => None,
                (Kind::Model, _) => Some("model".to_string()),
            };
            let all = host.credentials().await?.credentials;
            let shown: Vec<&CredentialState> = all
                .iter()
                .filter(|c| match &wanted {
                    Some(w) => &c.target == w,
                    None => c.target.starts_with("mcp:"),
                })
                .collect();
            if let Some(w) = &wanted
                && shown.is_empty()
            {
                host.sign_in_target(w)?;
            }
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&shown)?)?;
            } else if shown.is_empty() {
                writeln!(out, "No remote MCP servers are configured.")?;
            }
            let mut failed = false;
            for state in shown {
                if !json {
                    writeln!(out, "{}", describe(state))?;
                }
                if check && let Some(server) = state.target.strip_prefix("mcp:") {
                    match host.check_remote(server).await {
                        Ok(tools) => writeln!(
                            out,
                            "  connects: {} tools ({})",
                            tools.len(),
                            tools.join(", ")
                        )?,
                        Err(e) => {
                            failed = true;
                            writeln!(out, "  does not connect: {e}")?;
                        }
                    }
                }
            }
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per sign-in, for people.
fn describe(state: &CredentialState) -> String {
    if !state.signed_in {
        return format!("{} ({}): not signed in", state.target, state.url);
    }
    let mut line = format!("{} ({}): signed in", state.target, state.url);
    if let Some(account) = &state.account {
        line.push_str(&format!(" as {account}"));
    }
    if let Some(issuer) = &state.issuer {
        line.push_str(&format!(" with {issuer}"));
    }
    if let Some(client) = &state.client_id {
        line.push_str(&format!(" (client {client})"));
    }
    if !state.scopes.is_empty() {
        line.push_str(&format!(", scopes {}", state.scopes.join(" ")));
    }
    if let Some(at) = state.expires_at {
        let left = (at - now_ms()) / 1000;
        if left > 0 {
            line.push_str(&format!(", token expires in {left} s"));
        } else {
            line.push_str(", token expired");
        }
    }
    line.push_str(if state.refreshable {
        ", renewable"
    } else {
        ", not renewable"
    });
    line.push_str(&format!("; kept in the {}", state.store));
    line
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
