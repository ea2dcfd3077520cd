//! `warden exec`: one command inside the boundary, the same path the agent's shell tool
//! uses. Output passes through; after the command ends, each operation the kernel
//! reported as blocked is printed on stderr in one line.

use std::ffi::OsString;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use warden_policy::config::NetworkMode;
use warden_policy::config::WardenPaths;
use warden_policy::layers::{self, PolicyInputs};
use warden_policy::rules::RulesLoader;
use warden_protocol::SandboxMode;
use warden_proxy::Attribution;
use warden_sandbox::{CommandProxy, EarlyChild};

use crate::egress::Egress;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// read-only, workspace-write or full-access (full-access: no boundary, where the
    /// requirements allow it). Default: the config's `sandbox` (workspace-write unless
    /// set).
    #[arg(long, value_parser = crate::parse_sandbox)]
    sandbox: Option<SandboxMode>,
    /// Working directory (and first writable root); default: the current directory.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Another folder the command may write to.
    #[arg(long = "writable", value_name = "DIR")]
    writable: Vec<PathBuf>,
    /// Network access: `proxy` (only through Warden's egress proxy, host by host) or
    /// `deny` (none). Default: the `network.mode` setting.
    #[arg(long, value_parser = ["deny", "proxy"])]
    network: Option<String>,
    /// Pass this sensitive environment variable through (exact name; repeatable).
    #[arg(long = "allow-env", value_name = "NAME")]
    allow_env: Vec<String>,
    /// Run even though this kernel layer is missing (`no-namespaces`, `old-landlock`).
    #[arg(long = "accept-weaker", value_name = "LAYER")]
    accept_weaker: Vec<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

const NO_NAMESPACE_FOR_PROXY: &str = "the egress proxy needs the sandbox's network namespace, \
     which cannot be made here; run with `--network deny` (no network) or set \
     network.mode = \"deny\"";

/// The command's process, started before the command line is parsed (see
/// `warden_sandbox::EarlyChild`) when `argv` asks for `exec`: it makes its namespaces
/// on the other core while this one parses, reads the policy and builds the boundary. A
/// conservative look at the words: any `full-access` before `--` (full access has no
/// namespaces to make) means none. Unused, it is killed: on drop, or with this thread if
/// parsing ends the process.
pub fn early_child(argv: impl Iterator<Item = OsString>) -> Option<EarlyChild> {
    let mut words = argv.skip(1);
    if words.next()? != "exec" {
        return None;
    }
    let full_access = words
        .take_while(|word| word != "--")
        .any(|word| word.to_string_lossy().contains("full-access"));
    if full_access {
        return None;
    }
    EarlyChild::start()
}

/// `warden exec`'s own failures (bad config, policy refusals, a sandbox it cannot build):
/// as `timeout` and `env` do, a status that commands rarely use themselves.
pub(crate) const WARDEN_FAILED: u8 = 125;
/// The command was found but could not be run.
const NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
const NOT_FOUND: u8 = 127;

/// `rules`: the rules language, if this binary has it (`warden` does not, and hands the
/// command over when a rules file must be loaded: see `crate::warden_main`). `early`:
/// see [`early_child`]; without one, it is started here.
pub fn run(
    overrides: Vec<String>,
    args: ExecArgs,
    rules: Option<RulesLoader>,
    early: Option<EarlyChild>,
) -> anyhow::Result<ExitCode> {
    refuse_conflicting_sandbox(&overrides, args.sandbox)?;
    let started_at = crate::exec_record::now_ms();
    let cwd = match args.cwd {
        Some(dir) => dir,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let cwd = cwd
        .canonicalize()
        .with_context(|| format!("working directory {} does not exist", cwd.display()))?;
    let mut writable_roots = Vec::new();
    for dir in args.writable {
        writable_roots.push(
            dir.canonicalize()
                .with_context(|| format!("--writable {} does not exist", dir.display()))?,
        );
    }
    let paths = WardenPaths::discover()?;
    let mut inputs = PolicyInputs::new(paths.clone())?;
    inputs.rules = rules;
    inputs.overrides = overrides;
    inputs.workspace = Some(cwd.clone());
    // `--sandbox` is a session choice: admin requirements still apply to it. Without it
    // the config's value (a `-c sandbox=…`, the user's file) applies, as for sessions.
    inputs.session.sandbox = args.sandbox;
    let effective = layers::resolve(&inputs)?;
    // The command's process, made early where its namespaces are needed (full access has
    // none: one started on a guess is dropped, which kills it).
    let early = match effective.config.sandbox {
        SandboxMode::FullAccess => None,
        _ => early.or_else(EarlyChild::start),
    };
    for warning in &effective.warnings {
        eprintln!("warden: {warning}");
    }
    let config = effective.config.clone();
    let policy = &effective;
    if !args.accept_weaker.is_empty()
        && let Some(source) = &policy.requirements.weaker_sandbox_forbidden
    {
        anyhow::bail!("--accept-weaker is not allowed by {source}");
    }
    let mut boundary = config.boundary.clone();
    boundary.allow_env.extend(args.allow_env);
    boundary.accept_weaker.extend(args.accept_weaker);
    writable_roots.extend(config.writable_roots.iter().cloned());
    let mut policy = warden_agent::boundary::sandbox_policy(
        config.sandbox,
        &cwd,
        &writable_roots,
        &boundary,
        Some(&paths),
    )
    .map_err(anyhow::Error::msg)?;
    let proxied = match args.network.as_deref() {
        Some(word) => word == "proxy",
        None => config.network.mode == NetworkMode::Proxy,
    };
    // The proxy serves inside the command's network namespace, whose child makes the
    // listener (no shared namespaces to create first); full access has none.
    let egress = if proxied && config.sandbox != SandboxMode::FullAccess {
        if let Some(early) = &early {
            early.bring_up_loopback();
        }
        let own = CommandProxy::new().context(NO_NAMESPACE_FOR_PROXY)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], own.port()));
        policy.egress = warden_sandbox::Egress::Proxy(own.port());
        Some((Egress::new(addr, &effective, &paths, rules)?, own))
    } else {
        None
    };
    let program = args.command.first().context("no command given")?;
    let (mut command, confinement) = warden_sandbox::command_behind(
        &args.command,
        &cwd,
        &policy,
        egress.as_ref().map(|(_, own)| own),
    )?;
    let credential = egress.as_ref().map(|(egress, _)| {
        let credential = egress.proxy.credentials().issue(Attribution {
            command: warden_policy::shell::command_line(&args.command),
            ..Attribution::default()
        });
        command.envs(credential.environment(egress.addr));
        credential
    });
    command.stderr(warden_sandbox::Io::Piped);
    let spawned = match early {
        Some(early) => command.spawn_from(early),
        None => command.spawn(),
    };
    let mut child = match spawned {
        Ok(child) => child,
        // The child could not make its namespaces (e.g. inside another sandbox).
        Err(e) if egress.is_some() && e.raw_os_error() == Some(libc::EPERM) => {
            anyhow::bail!("cannot start {program}: {e}: {NO_NAMESPACE_FOR_PROXY}")
        }
        // As `env`, `timeout` and shells do: 127 not found, 126 found but not runnable,
        // so a script can tell these from the command's own statuses.
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
            eprintln!("warden: cannot start {program}: {e}");
            let status = match e.kind() {
                ErrorKind::NotFound => NOT_FOUND,
                _ => NOT_EXECUTABLE,
            };
            return Ok(ExitCode::from(status));
        }
        Err(e) => return Err(e).with_context(|| format!("cannot start {program}")),
    };
    // The child sent its listener before exec; connections made since wait in its queue.
    let egress = match egress {
        Some((mut egress, own)) => match own
            .listener()
            .map_err(anyhow::Error::from)
            .and_then(|listener| egress.serve(listener))
        {
            Ok(()) => Some(egress),
            Err(e) => {
                // Never leave the command running without its only way out explained.
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        },
        None => None,
    };
    let pid = child.id();
    if let Some(credential) = &credential {
        credential.set_pid(pid);
    }
    if let Some(stderr) = child.stderr.take() {
        let mut stderr = std::fs::File::from(stderr);
        let mut buf = [0u8; 8192];
        let mut out = std::io::stderr();
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                }
            }
        }
    }
    let status = child.wait().context("waiting for the command")?;
    if let (Some(egress), Some(credential)) = (&egress, &credential) {
        egress.settle(credential);
    }
    drop(credential);
    let denials = confinement.denials();
    for denial in &denials {
        eprintln!("warden: {} [{}]", denial.detail, denial.layer);
    }
    let code = match status.code() {
        Some(code) => code,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    let decisions = egress
        .as_ref()
        .map(Egress::take_decisions)
        .unwrap_or_default();
    if !decisions.is_empty() || !denials.is_empty() {
        let record = crate::exec_record::build(
            &effective,
            &args.command,
            &cwd,
            egress.is_some(),
            (pid, started_at),
            code,
            decisions,
            denials,
        );
        if let Err(e) = crate::exec_record::hand_to_store(&record) {
            eprintln!(
                "warden: WARNING: this run's network decisions and sandbox denials were not recorded in the audit store: {e:#}"
            );
        }
    }
    // Warden exits next: the proxy's runtime threads end with the process, and stopping
    // them first would only delay the exit.
    std::mem::forget(egress);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// `--sandbox` and `-c sandbox=…` on one command line must agree: one silently replacing
/// the other would run the command under a boundary nobody asked for.
fn refuse_conflicting_sandbox(
    overrides: &[String],
    flag: Option<SandboxMode>,
) -> anyhow::Result<()> {
    let Some(flag) = flag else {
        return Ok(());
    };
    for raw in overrides {
        let Some((key, value)) = raw.split_once('=') else {
            continue;
        };
        if key.trim() != "sandbox" {
            continue;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        if crate::parse_sandbox(value).ok() != Some(flag) {
            anyhow::bail!(
                "--sandbox {} conflicts with -c {raw}: give one of them",
                flag.as_str()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_flag_and_a_conflicting_override_are_refused() {
        let set = |v: &str| vec![format!("sandbox={v}")];
        assert!(
            refuse_conflicting_sandbox(&set("full-access"), Some(SandboxMode::ReadOnly)).is_err()
        );
        assert!(
            refuse_conflicting_sandbox(&set("\"read-only\""), Some(SandboxMode::ReadOnly)).is_ok()
        );
        assert!(refuse_conflicting_sandbox(&set("full-access"), None).is_ok());
        let err = refuse_conflicting_sandbox(
            &[" sandbox = 'full-access'".into()],
            Some(SandboxMode::WorkspaceWrite),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "--sandbox workspace-write conflicts with -c  sandbox = 'full-access': give one of them"
        );
    }

    fn early(words: &[&str]) -> bool {
        early_child(words.iter().map(OsString::from)).is_some()
    }

    #[test]
    fn the_early_child_starts_for_exec_without_full_access_only() {
        if !early(&["warden", "exec", "--", "true"]) {
            // No user namespaces here: nothing to start early anywhere.
            assert!(EarlyChild::start().is_none());
            return;
        }
        assert!(early(&[
            "warden",
            "exec",
            "--sandbox",
            "read-only",
            "--",
            "true"
        ]));
        assert!(early(&["warden", "exec", "--", "echo", "full-access"]));
        assert!(!early(&[
            "warden",
            "exec",
            "--sandbox",
            "full-access",
            "--",
            "true"
        ]));
        assert!(!early(&[
            "warden",
            "exec",
            "--sandbox=full-access",
            "--",
            "true"
        ]));
        assert!(!early(&["warden", "proxy"]));
        assert!(!early(&["warden"]));
    }
}
