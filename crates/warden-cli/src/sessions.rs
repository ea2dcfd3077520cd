//! Handing a command to `warden-sessions`, the binary beside `warden` that runs agent
//! sessions, reads the audit store and serves the UI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

const BINARY: &str = "warden-sessions";

/// Run this process's command line in `warden-sessions` (on Unix in place of this
/// process, so signals, streams and the exit status are its own).
pub fn hand_over() -> anyhow::Result<ExitCode> {
    let path = beside_this_binary()?;
    let mut command = std::process::Command::new(&path);
    command.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        Err(error).with_context(|| format!("cannot run {}", path.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", path.display()))?;
        Ok(ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ))
    }
}

/// Check a rules file with `warden-sessions admin validate`, for `warden`, which has
/// no rules language of its own.
pub fn validate_rules(file: &Path) -> anyhow::Result<()> {
    let path = beside_this_binary()?;
    let output = std::process::Command::new(&path)
        .args(["admin", "validate"])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if output.status.success() {
        return Ok(());
    }
    anyhow::bail!("{}", String::from_utf8_lossy(&output.stderr).trim_end())
}

pub(crate) fn beside_this_binary() -> anyhow::Result<PathBuf> {
    let this = std::env::current_exe().context("cannot find the warden binary's path")?;
    let path = this.with_file_name(format!("{BINARY}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        anyhow::bail!(
            "{} is missing: `warden` runs `run`, `audit`, `serve`, `policy`, `admin` and \
             whatever reads rules files through it; install it beside {} (cargo build -p \
             warden-cli builds both)",
            path.display(),
            this.display()
        );
    }
    Ok(path)
}
