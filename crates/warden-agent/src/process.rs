//! A sandboxed command running under the async runtime: its piped streams as async
//! pipes, and its exit awaited on a blocking thread (the command is a child of this
//! process, started by `warden_sandbox`, not by tokio).

use std::process::ExitStatus;

use tokio::net::unix::pipe;
use warden_sandbox::SandboxCommand;

pub(crate) struct Running {
    pub pid: u32,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    /// Names the process until dropped, so killing it never hits a reused pid.
    pidfd: Option<std::os::fd::OwnedFd>,
    exit: Option<tokio::task::JoinHandle<std::io::Result<ExitStatus>>>,
}

/// Like tokio's `kill_on_drop`: a command nobody waits for any more is killed (the waiting
/// thread then reaps it).
impl Drop for Running {
    fn drop(&mut self) {
        if self.exit.is_some() {
            self.kill();
        }
    }
}

impl Running {
    /// Start `command` (its streams already chosen). Callers start it in a process group of
    /// its own and kill the group when done with it; that also ends the wait here.
    pub fn start(command: &mut SandboxCommand) -> std::io::Result<Self> {
        let mut child = command.spawn()?;
        let started = (|| {
            Ok::<_, std::io::Error>((
                child
                    .stdin
                    .take()
                    .map(pipe::Sender::from_owned_fd)
                    .transpose()?,
                child
                    .stdout
                    .take()
                    .map(pipe::Receiver::from_owned_fd)
                    .transpose()?,
                child
                    .stderr
                    .take()
                    .map(pipe::Receiver::from_owned_fd)
                    .transpose()?,
            ))
        })();
        let (stdin, stdout, stderr) = match started {
            Ok(streams) => streams,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let pidfd = child
            .pidfd()
            .map(|fd| fd.try_clone_to_owned())
            .transpose()?;
        Ok(Self {
            pid: child.id(),
            stdin,
            stdout,
            stderr,
            pidfd,
            exit: Some(tokio::task::spawn_blocking(move || child.wait())),
        })
    }

    /// SIGKILL the command itself (its group is the caller's to kill). Where there is no
    /// pidfd (not Linux) the group kill alone stops it.
    pub fn kill(&self) {
        #[cfg(target_os = "linux")]
        if let Some(pidfd) = &self.pidfd {
            let _ = warden_sandbox::signal_pidfd(pidfd, libc::SIGKILL);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = &self.pidfd;
    }

    /// Wait for it to end.
    pub async fn wait(mut self) -> std::io::Result<ExitStatus> {
        let exit = self
            .exit
            .take()
            .ok_or_else(|| std::io::Error::other("already waited for"))?;
        exit.await.map_err(std::io::Error::other)?
    }
}
