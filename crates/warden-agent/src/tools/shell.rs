//! The `shell` tool: one command inside the sandbox, output streamed and capped.
//! The same `warden_sandbox::command` path as `warden exec`.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use warden_protocol::OutputStream;
use warden_sandbox::{Io, SandboxError, SandboxPolicy};

use crate::process::Running;

/// How a command ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ShellOutcome {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    /// Combined stdout and stderr, head and tail kept when over the cap.
    pub output: String,
    /// What the boundary refused while the command ran, as the kernel reported it.
    pub denials: Vec<warden_protocol::SandboxDenial>,
    /// The process as the host saw it (its pid, when it started, what it runs).
    pub process: Option<StartedProcess>,
}

/// A command's process as an endpoint tool sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedProcess {
    pub pid: u32,
    /// Milliseconds since the epoch, from the kernel.
    pub started_at: i64,
    pub executable: String,
}

impl ShellOutcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// Keeps the first and last `cap / 2` bytes of a stream.
pub(crate) struct CappedBuffer {
    cap: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    dropped: usize,
}

impl CappedBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(2),
            head: Vec::new(),
            tail: Default::default(),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let half = self.cap / 2;
        for &b in bytes {
            if self.head.len() < half {
                self.head.push(b);
            } else {
                self.tail.push_back(b);
                if self.tail.len() > half {
                    self.tail.pop_front();
                    self.dropped += 1;
                }
            }
        }
    }

    pub(crate) fn into_string(self) -> String {
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            out.push_str(&format!("\n[… {} bytes omitted …]\n", self.dropped));
        }
        let tail: Vec<u8> = self.tail.into_iter().collect();
        out.push_str(&String::from_utf8_lossy(&tail));
        out
    }
}

/// Warden's egress proxy for one command: its address and the command's credential.
pub type ProxyAccess<'a> = (&'a warden_proxy::Credential, std::net::SocketAddr);

/// Run `argv` in `cwd` inside `policy`, streaming output chunks to `on_output`. With
/// `proxy`, the command gets the proxy settings (its only way out when the policy's
/// egress is the proxy) and the credential learns the command's pid.
pub async fn run(
    argv: &[String],
    cwd: &Path,
    timeout: Duration,
    output_cap: usize,
    policy: &SandboxPolicy,
    proxy: Option<ProxyAccess<'_>>,
    mut on_output: impl FnMut(OutputStream, String),
) -> Result<ShellOutcome, ShellError> {
    let program = argv.first().ok_or(ShellError::Empty)?;
    if !cwd.is_dir() {
        return Err(ShellError::NoWorkdir(cwd.display().to_string()));
    }
    let (mut command, confinement) = warden_sandbox::command(argv, cwd, policy)?;
    if let Some((credential, addr)) = proxy {
        command.envs(credential.environment(addr));
    }
    command
        .stdin(Io::Null)
        .stdout(Io::Piped)
        .stderr(Io::Piped)
        .process_group();
    let started = Instant::now();
    let mut child = Running::start(&mut command)
        .map_err(|e| ShellError::Spawn(program.clone(), e.to_string()))?;
    let pid = Some(child.pid);
    if let (Some((credential, _)), Some(pid)) = (proxy, pid) {
        credential.set_pid(pid);
    }
    let process = Some(StartedProcess {
        pid: child.pid,
        started_at: warden_sandbox::host::process_started_ms(child.pid)
            .unwrap_or_else(crate::now_ms),
        executable: warden_sandbox::host::resolve_program(program, cwd),
    });
    // However this ends (finished, timed out, or the turn was interrupted and this future
    // dropped), nothing the command started outlives it.
    let _group = KillGroupOnDrop(pid);
    let mut stdout = child.stdout.take().ok_or(ShellError::Pipes)?;
    let mut stderr = child.stderr.take().ok_or(ShellError::Pipes)?;
    let mut buffer = CappedBuffer::new(output_cap);
    let mut out_buf = [0u8; 8192];
    let mut err_buf = [0u8; 8192];
    let (mut out_open, mut err_open) = (true, true);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut timed_out = false;
    while out_open || err_open {
        tokio::select! {
            n = stdout.read(&mut out_buf), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => {
                    buffer.push(&out_buf[..n]);
                    on_output(OutputStream::Stdout, String::from_utf8_lossy(&out_buf[..n]).into_owned());
                }
            },
            n = stderr.read(&mut err_buf), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => {
                    buffer.push(&err_buf[..n]);
                    on_output(OutputStream::Stderr, String::from_utf8_lossy(&err_buf[..n]).into_owned());
                }
            },
            _ = &mut deadline => {
                timed_out = true;
                break;
            }
        }
    }
    if timed_out {
        kill_group(pid);
        child.kill();
    }
    let status = child
        .wait()
        .await
        .map_err(|e| ShellError::Spawn(program.clone(), e.to_string()))?;
    let mut output = buffer.into_string();
    if timed_out {
        output.push_str(&format!(
            "\n[command timed out after {} ms and was killed]",
            timeout.as_millis()
        ));
    }
    Ok(ShellOutcome {
        exit_code: status.code(),
        timed_out,
        duration: started.elapsed(),
        output,
        denials: confinement.denials(),
        process,
    })
}

/// Kills the command's process group when dropped.
pub(crate) struct KillGroupOnDrop(pub(crate) Option<u32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("the command is empty")]
    Empty,
    #[error("working directory {0} does not exist")]
    NoWorkdir(String),
    #[error("cannot start {0}: {1}")]
    Spawn(String, String),
    #[error("cannot capture the command's output")]
    Pipes,
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

impl ShellError {
    pub fn code(&self) -> warden_protocol::ErrorCode {
        use warden_protocol::ErrorCode;
        match self {
            Self::Empty => ErrorCode::CommandEmpty,
            Self::NoWorkdir(_) => ErrorCode::WorkspaceMissing,
            Self::Spawn(..) | Self::Pipes => ErrorCode::SandboxSpawn,
            Self::Sandbox(e) => e.code(),
        }
    }
}

impl warden_protocol::Coded for ShellError {
    fn code(&self) -> warden_protocol::ErrorCode {
        ShellError::code(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_over_the_cap_keeps_head_and_tail() {
        let mut b = CappedBuffer::new(10);
        b.push(b"0123456789abcdefghij");
        assert_eq!(b.into_string(), "01234\n[… 10 bytes omitted …]\nfghij");
    }
}
