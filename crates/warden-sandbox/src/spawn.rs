//! A command ready to start inside the boundary ([`SandboxCommand`]) and the process it
//! becomes ([`Child`]).
//!
//! On Linux a confined command starts with `clone(CLONE_VM | CLONE_VFORK)` and enters the
//! boundary in that child (see `linux/vfork.rs`): unlike `fork`, which std must use for
//! any `pre_exec` hook, its cost does not grow with the memory of the process that
//! spawns it. Everything else (macOS under `sandbox-exec`, full access, Windows) starts
//! through std.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;

pub use crate::stdio::Io;

/// A command built by [`crate::command`]: program, arguments, scrubbed environment and
/// working directory, and (on Linux) the hook that enters the boundary.
pub struct SandboxCommand {
    pub(crate) command: std::process::Command,
    /// The hook that enters the boundary, until the command starts.
    #[cfg(target_os = "linux")]
    hook: Option<crate::linux::Hook>,
    /// The boundary's supervisor, started once the command has: its thread costs the
    /// start nothing then.
    #[cfg(target_os = "linux")]
    supervisor: Option<crate::linux::Supervisor>,
    #[cfg(target_os = "linux")]
    confined: bool,
    stdio: [Io; 3],
    process_group: bool,
}

impl SandboxCommand {
    pub(crate) fn new(command: std::process::Command) -> Self {
        Self {
            command,
            #[cfg(target_os = "linux")]
            hook: None,
            #[cfg(target_os = "linux")]
            supervisor: None,
            #[cfg(target_os = "linux")]
            confined: false,
            stdio: [Io::Inherit; 3],
            process_group: false,
        }
    }

    /// Start inside the boundary `hook` enters.
    #[cfg(target_os = "linux")]
    pub(crate) fn confine(
        &mut self,
        hook: crate::linux::Hook,
        supervisor: crate::linux::Supervisor,
    ) {
        self.hook = Some(hook);
        self.supervisor = Some(supervisor);
        self.confined = true;
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.command.env(key, value);
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        &mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        self.command.envs(vars);
        self
    }

    pub fn stdin(&mut self, io: Io) -> &mut Self {
        self.stdio[0] = io;
        self
    }

    pub fn stdout(&mut self, io: Io) -> &mut Self {
        self.stdio[1] = io;
        self
    }

    pub fn stderr(&mut self, io: Io) -> &mut Self {
        self.stdio[2] = io;
        self
    }

    /// Start the command as the leader of a new process group (so the whole group can be
    /// signalled).
    pub fn process_group(&mut self) -> &mut Self {
        self.process_group = true;
        self
    }

    /// Start it. A confined command starts once: a second call fails (its boundary was
    /// used by the first).
    pub fn spawn(&mut self) -> std::io::Result<Child> {
        self.start(None)
    }

    /// [`Self::spawn`] in `early`, the process started ahead of it (its namespaces made
    /// while this one decided what to run). An unconfined command (full access) starts
    /// as usual and `early` is ended.
    pub fn spawn_from(&mut self, early: EarlyChild) -> std::io::Result<Child> {
        self.start(Some(early))
    }

    fn start(&mut self, early: Option<EarlyChild>) -> std::io::Result<Child> {
        #[cfg(target_os = "linux")]
        if let Some(mut hook) = self.hook.take() {
            let (id, pidfd, ours) = crate::linux::spawn::start(
                &self.command,
                self.stdio,
                self.process_group,
                &mut hook,
                early.map(|e| e.inner),
            )?;
            let mut child = Child::cloned(id, pidfd, ours);
            if let Some(supervisor) = self.supervisor.take()
                && let Err(e) = supervisor.start()
            {
                // Nothing would record its denials or check its writes (the filter fails
                // the calls it would notify once the listener is gone).
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot start the sandbox supervisor: {e}"),
                ));
            }
            return Ok(child);
        }
        drop(early);
        // Never run a confined command a second time without its boundary.
        #[cfg(target_os = "linux")]
        if self.confined {
            return Err(std::io::Error::other(
                "this sandboxed command has already started",
            ));
        }
        let [stdin, stdout, stderr] = self.stdio.map(Io::std);
        self.command.stdin(stdin).stdout(stdout).stderr(stderr);
        #[cfg(unix)]
        if self.process_group {
            std::os::unix::process::CommandExt::process_group(&mut self.command, 0);
        }
        let mut child = self.command.spawn()?;
        Ok(Child {
            id: child.id(),
            stdin: child.stdin.take().map(OwnedFd::from),
            stdout: child.stdout.take().map(OwnedFd::from),
            stderr: child.stderr.take().map(OwnedFd::from),
            process: Process::Std(child),
        })
    }
}

/// The process a one-off confined command will become, started before the command is
/// known (Linux): it makes the command's namespaces on another core while this process
/// reads its policy and builds the boundary, then becomes the command in
/// [`SandboxCommand::spawn_from`]. Start it, and spawn from it, on the same thread, which
/// must outlive the start (the child is killed if that thread ends first; it is not
/// `Send`, so it cannot move to another); dropped unused, it is killed and reaped.
pub struct EarlyChild {
    #[cfg(target_os = "linux")]
    inner: crate::linux::early::Early,
    #[cfg(not(target_os = "linux"))]
    _none: std::convert::Infallible,
}

impl EarlyChild {
    /// Start one; None where it would not help: not Linux, an architecture without raw
    /// system calls here, no user namespaces, or a process that shares namespaces across
    /// its commands (see [`crate::warm_up`]).
    pub fn start() -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            crate::linux::early::Early::start().map(|inner| Self { inner })
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// The command's network will go through a proxy on its namespace's loopback: bring
    /// that interface up while waiting (off the command's start; done anyway otherwise).
    pub fn bring_up_loopback(&self) {
        #[cfg(target_os = "linux")]
        self.inner.bring_up_loopback();
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        #[cfg(target_os = "linux")]
        {
            self.inner.id()
        }
        #[cfg(not(target_os = "linux"))]
        {
            match self._none {}
        }
    }
}

/// A started command. Its piped streams are taken as descriptors (wrap them in a `File`
/// or an async pipe); it is reaped by [`Child::wait`].
pub struct Child {
    id: u32,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    process: Process,
}

enum Process {
    Std(std::process::Child),
    #[cfg(target_os = "linux")]
    Clone {
        pidfd: OwnedFd,
        status: Option<ExitStatus>,
    },
}

impl Child {
    #[cfg(target_os = "linux")]
    pub(crate) fn cloned(id: u32, pidfd: OwnedFd, stdio: [Option<OwnedFd>; 3]) -> Self {
        let [stdin, stdout, stderr] = stdio;
        Self {
            id,
            stdin,
            stdout,
            stderr,
            process: Process::Clone {
                pidfd,
                status: None,
            },
        }
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// A descriptor that names this process for as long as it is open, even once it has
    /// ended and been reaped (Linux, confined commands): signal it with
    /// `pidfd_send_signal` without racing a reused pid.
    pub fn pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match &self.process {
            #[cfg(target_os = "linux")]
            Process::Clone { pidfd, .. } => Some(std::os::fd::AsFd::as_fd(pidfd)),
            Process::Std(_) => None,
        }
    }

    /// Wait for it to end (blocking) and reap it.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match &mut self.process {
            Process::Std(child) => child.wait(),
            #[cfg(target_os = "linux")]
            Process::Clone { pidfd, status } => {
                if let Some(done) = status {
                    return Ok(*done);
                }
                let done = crate::linux::pidfd::wait(pidfd)?;
                *status = Some(done);
                Ok(done)
            }
        }
    }

    /// SIGKILL, unless it has already been reaped.
    pub fn kill(&mut self) -> std::io::Result<()> {
        match &mut self.process {
            Process::Std(child) => child.kill(),
            #[cfg(target_os = "linux")]
            Process::Clone { pidfd, status } => {
                if status.is_some() {
                    return Ok(());
                }
                signal_pidfd(pidfd, libc::SIGKILL)
            }
        }
    }
}

/// Send `signal` to the process `pidfd` names (see [`Child::pidfd`]).
#[cfg(target_os = "linux")]
pub fn signal_pidfd(pidfd: impl std::os::fd::AsFd, signal: libc::c_int) -> std::io::Result<()> {
    crate::linux::pidfd::signal(pidfd.as_fd(), signal)
}
