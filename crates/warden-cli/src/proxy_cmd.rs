//! `warden proxy`: the egress proxy on its own, for testing and scripting. It prints
//! the environment a client needs (with a credential issued for this run) and serves
//! until interrupted; every decision is printed on stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use warden_policy::config::WardenPaths;
use warden_policy::layers::{self, PolicyInputs};
use warden_policy::rules::RulesLoader;
use warden_proxy::Attribution;

use crate::egress::Egress;

#[derive(Args)]
pub struct ProxyArgs {
    /// Address to listen on, e.g. 127.0.0.1:3128 (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A rules file with `network_rule(...)` lines (repeatable), on top of the user's.
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Use this secret as the client credential instead of a random one.
    #[arg(long, value_name = "SECRET")]
    credential: Option<String>,
}

/// `rules`: as for `crate::exec::run`.
pub fn run(
    overrides: Vec<String>,
    args: ProxyArgs,
    rules: Option<RulesLoader>,
) -> anyhow::Result<ExitCode> {
    let paths = WardenPaths::discover()?;
    let mut inputs = PolicyInputs::new(paths.clone())?;
    inputs.rules = rules;
    inputs.overrides = overrides;
    inputs.extra_rules = args.rules;
    let policy = layers::resolve(&inputs)?;
    for warning in &policy.warnings {
        eprintln!("warden: {warning}");
    }
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {}: the proxy only listens on loopback addresses",
            args.listen
        );
    }
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let egress = Egress::start(listener, &policy, &paths, rules)?;
    let attribution = Attribution {
        command: "warden proxy client".into(),
        ..Attribution::default()
    };
    let credential = match &args.credential {
        Some(secret) => egress.proxy.credentials().issue_fixed(secret, attribution),
        None => egress.proxy.credentials().issue(attribution),
    };
    // The reader may stop reading after the line it wanted: never die of a closed pipe.
    let mut out = std::io::stdout();
    for (name, value) in credential.environment(egress.addr) {
        if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            let _ = writeln!(out, "{name}={value}");
        }
    }
    let _ = out.flush();
    eprintln!("warden: proxy listening on {}", egress.addr);
    loop {
        std::thread::park();
    }
}
