//! Run one command inside the OS boundary. Nothing else.
//!
//! [`SandboxPolicy`] says what the command may touch; [`prepare`] turns a
//! `std::process::Command` into one that enforces it, built in the parent and applied
//! between fork and exec, and returns a [`Confinement`] that collects what the boundary
//! blocked, as reported by the kernel (see `linux/` for the layers). [`support`] says
//! what this machine can enforce; a missing layer makes [`prepare`] refuse unless the
//! policy accepts that named weakening. macOS profiles come from [`seatbelt`]; Windows
//! is not enforced.

mod env;
mod error;
pub mod host;
#[cfg(target_os = "linux")]
mod linux;
pub mod paths;
pub mod seatbelt;
mod spawn;
mod stdio;

use std::path::{Path, PathBuf};

pub use env::scrub_environment;
pub use error::SandboxError;
#[cfg(target_os = "linux")]
pub use spawn::signal_pidfd;
pub use spawn::{Child, EarlyChild, Io, SandboxCommand};
use warden_protocol::{SandboxDenial, SandboxMode};

/// What one command may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    pub mode: SandboxMode,
    /// Writable folders (the workspace first) for `workspace-write`; tmp is added.
    pub writable_roots: Vec<PathBuf>,
    pub boundary: BoundaryOptions,
    /// The command's only way out.
    pub egress: Egress,
}

/// Where a sandboxed command's network connections may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Egress {
    /// Nowhere: no sockets but private Unix ones.
    #[default]
    None,
    /// Only Warden's proxy, listening on this loopback port (inside the sandbox's network
    /// namespace on Linux; see [`proxy_listener`]). TCP only; no other address or port.
    Proxy(u16),
}

/// Settings that shape the boundary beyond the mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundaryOptions {
    /// Paths added to the unreadable credential list (`~/` allowed).
    pub deny_read: Vec<PathBuf>,
    /// Default credential paths made readable again.
    pub allow_read: Vec<PathBuf>,
    /// More paths kept read-only inside writable roots (e.g. Warden's own config).
    pub protect: Vec<PathBuf>,
    /// Sensitive environment variables passed through anyway, by exact name.
    pub allow_env: Vec<String>,
    /// Missing layers the user accepted running without.
    pub accept_weaker: Vec<Weakening>,
}

impl SandboxPolicy {
    pub fn new(mode: SandboxMode, writable_roots: Vec<PathBuf>) -> Self {
        Self {
            mode,
            writable_roots,
            boundary: BoundaryOptions::default(),
            egress: Egress::None,
        }
    }

    /// Every folder the command may write to under this policy, canonical.
    pub fn effective_writable_roots(&self) -> Result<Vec<PathBuf>, SandboxError> {
        let mut roots = match self.mode {
            SandboxMode::ReadOnly => return Ok(Vec::new()),
            SandboxMode::FullAccess => return Ok(vec![PathBuf::from("/")]),
            SandboxMode::WorkspaceWrite => self.writable_roots.clone(),
        };
        roots.push(std::env::temp_dir());
        roots.push(PathBuf::from("/tmp"));
        let mut out: Vec<PathBuf> = Vec::new();
        for root in roots {
            let real = root
                .canonicalize()
                .map_err(|e| SandboxError::WritableRoot {
                    path: root.display().to_string(),
                    message: e.to_string(),
                })?;
            if !out.contains(&real) {
                out.push(real);
            }
        }
        Ok(out)
    }
}

/// A layer the machine cannot provide, which the user may accept losing by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weakening {
    /// No user/mount/network namespaces.
    NoNamespaces,
    /// Landlock older than ABI 6.
    OldLandlock,
}

impl Weakening {
    pub const ALL: [Weakening; 2] = [Self::NoNamespaces, Self::OldLandlock];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoNamespaces => "no-namespaces",
            Self::OldLandlock => "old-landlock",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Exactly which guarantee is lost without the layer.
    pub fn guarantee_lost(self) -> &'static str {
        match self {
            Self::NoNamespaces => {
                "user namespaces are unavailable, so protected paths inside writable roots \
                 (.git/hooks, .git/config, .envrc, …) would be writable, file metadata \
                 (permissions, times) outside the writable roots could change, capabilities \
                 are not dropped, and there is no private network or /dev/shm (seccomp still \
                 refuses every socket)"
            }
            Self::OldLandlock => {
                "Landlock is older than ABI 6 (Linux 6.12), so abstract Unix sockets and \
                 signals to processes outside the sandbox are not blocked, and before ABI 4 \
                 TCP is guarded by seccomp alone"
            }
        }
    }
}

/// What this machine's kernel lets Warden enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSupport {
    /// True when commands can run inside an enforced boundary here.
    pub enforced: bool,
    /// One line for settings screens and logs.
    pub summary: String,
    /// Layers this machine lacks.
    pub missing: Vec<Weakening>,
}

/// Detect what the OS offers.
pub fn support() -> SandboxSupport {
    #[cfg(target_os = "linux")]
    {
        linux::support()
    }
    #[cfg(target_os = "macos")]
    {
        let enforced = Path::new(seatbelt::SANDBOX_EXEC).exists();
        SandboxSupport {
            enforced,
            summary: if enforced {
                "macOS: Seatbelt profile via /usr/bin/sandbox-exec".into()
            } else {
                "macOS without /usr/bin/sandbox-exec: not enforced; every command needs approval"
                    .into()
            },
            missing: Vec::new(),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        SandboxSupport {
            enforced: false,
            summary: format!(
                "{}: the sandbox is not enforced here; every command needs approval",
                std::env::consts::OS
            ),
            missing: Vec::new(),
        }
    }
}

/// For long-lived processes (the app, `warden serve`): create the namespaces every
/// sandboxed command will share (blocking, about 2 ms; run it off the async runtime),
/// so each command starts faster. One-shot processes skip this and build everything in
/// the command's own child.
pub fn warm_up() {
    #[cfg(target_os = "linux")]
    linux::warm_up();
}

/// The listening socket for Warden's proxy. Linux: inside the network namespace every
/// sandboxed command shares (its loopback holds nothing else); creates the shared
/// namespaces if needed (blocking, a few ms). macOS: on the host's loopback (see
/// `host_loopback_listener`). Each call returns a new handle to the same socket, on
/// `127.0.0.1` and a port fixed for this process; serve it once.
pub fn proxy_listener() -> Result<std::net::TcpListener, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        linux::proxy_listener()
    }
    #[cfg(target_os = "macos")]
    {
        host_loopback_listener()
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        Err(no_proxy_on_this_os())
    }
}

/// Where Warden has no way to put a proxy in front of a sandboxed command.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn no_proxy_on_this_os() -> SandboxError {
    SandboxError::Unsupported(format!(
        "a proxy inside the sandbox on {}",
        std::env::consts::OS
    ))
}

/// macOS has no network namespaces: the proxy listens on the host's loopback, on a port
/// fixed for this process. Seatbelt lets sandboxed commands connect to that port only;
/// any other local process can connect too, and the proxy refuses it without a
/// command's credential.
#[cfg(target_os = "macos")]
fn host_loopback_listener() -> Result<std::net::TcpListener, SandboxError> {
    static LISTENER: std::sync::OnceLock<Result<std::net::TcpListener, String>> =
        std::sync::OnceLock::new();
    let unavailable =
        |why: String| SandboxError::Unsupported(format!("the proxy's loopback listener ({why})"));
    match LISTENER
        .get_or_init(|| std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string()))
    {
        Ok(listener) => listener
            .try_clone()
            .map_err(|e| unavailable(format!("cannot duplicate it: {e}"))),
        Err(e) => Err(unavailable(e.clone())),
    }
}

/// Warden's proxy listener for one command of a one-shot process (`warden exec`).
///
/// Linux: the command's own child brings up the loopback of its new network namespace,
/// listens on `127.0.0.1:3128` there and hands the socket back before it execs, so the
/// process creates no shared namespaces first (two helper processes fewer than
/// [`proxy_listener`]). Not for a process that called [`warm_up`].
///
/// macOS (no network namespaces): [`proxy_listener`]'s socket on the host's loopback;
/// Seatbelt lets the command connect to that port only.
pub struct CommandProxy {
    #[cfg(target_os = "linux")]
    parent_end: std::os::fd::OwnedFd,
    #[cfg(target_os = "linux")]
    child_end: std::os::fd::OwnedFd,
    #[cfg(target_os = "macos")]
    listener: std::net::TcpListener,
}

/// The port of a command's own listener inside its network namespace, which holds
/// nothing else (so it is known before the fork and can go into `HTTP_PROXY`).
#[cfg(target_os = "linux")]
const OWN_PROXY_PORT: u16 = 3128;

impl CommandProxy {
    pub fn new() -> Result<Self, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            let (parent_end, child_end) = linux::socket_pair()?;
            Ok(Self {
                parent_end,
                child_end,
            })
        }
        #[cfg(target_os = "macos")]
        {
            Ok(Self {
                listener: proxy_listener()?,
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            Err(no_proxy_on_this_os())
        }
    }

    /// The loopback port the command reaches the proxy on: set the policy's egress to
    /// `Egress::Proxy(port)` and the command's proxy variables to `127.0.0.1:port`.
    pub fn port(&self) -> u16 {
        #[cfg(target_os = "linux")]
        {
            OWN_PROXY_PORT
        }
        #[cfg(target_os = "macos")]
        {
            self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            0
        }
    }

    /// The listening socket, once the command built by [`command_behind`] has been
    /// spawned (on Linux its child sent it before exec).
    pub fn listener(self) -> Result<std::net::TcpListener, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            drop(self.child_end);
            linux::receive_fd_nonblocking(&self.parent_end)
                .map(std::net::TcpListener::from)
                .ok_or_else(|| {
                    SandboxError::Unsupported(
                        "a proxy inside the sandbox (the command did not hand over its listener)"
                            .into(),
                    )
                })
        }
        #[cfg(target_os = "macos")]
        {
            Ok(self.listener)
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            Err(no_proxy_on_this_os())
        }
    }
}

/// A command's boundary after [`prepare`]: what it blocked, reported by the kernel.
#[derive(Default)]
pub struct Confinement {
    #[cfg(target_os = "linux")]
    denials: linux::Denials,
}

impl Confinement {
    /// Operations the boundary refused so far (call after the command exits for all).
    pub fn denials(&self) -> Vec<SandboxDenial> {
        #[cfg(target_os = "linux")]
        {
            self.denials.snapshot()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }
}

/// A command running `argv` in `cwd` inside `policy`'s boundary: on macOS through
/// `/usr/bin/sandbox-exec` with a generated profile; on Linux it enters the boundary in
/// a child that shares this process's memory until exec (see [`SandboxCommand`]). The
/// caller sets stdio and spawns it.
pub fn command(
    argv: &[String],
    cwd: &Path,
    policy: &SandboxPolicy,
) -> Result<(SandboxCommand, Confinement), SandboxError> {
    command_behind(argv, cwd, policy, None)
}

/// [`command`], with its network going to `own_proxy`'s listener, which its child makes
/// (the policy's egress must be `Egress::Proxy(own_proxy.port())`).
pub fn command_behind(
    argv: &[String],
    cwd: &Path,
    policy: &SandboxPolicy,
    own_proxy: Option<&CommandProxy>,
) -> Result<(SandboxCommand, Confinement), SandboxError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| SandboxError::Unsupported("an empty command".into()))?;
    #[cfg(target_os = "macos")]
    if policy.mode != SandboxMode::FullAccess {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let input = seatbelt::SeatbeltInput::for_policy(policy, &home)?;
        let full = seatbelt::argv(&seatbelt::profile(&input), argv);
        let mut command = std::process::Command::new(&full[0]);
        command.args(&full[1..]).current_dir(cwd);
        scrub_environment(&mut command, &policy.boundary.allow_env);
        return Ok((SandboxCommand::new(command), Confinement::default()));
    }
    let mut command = std::process::Command::new(program);
    command.args(args).current_dir(cwd);
    scrub_environment(&mut command, &policy.boundary.allow_env);
    let mut sandboxed = SandboxCommand::new(command);
    if policy.mode == SandboxMode::FullAccess {
        return Ok((sandboxed, Confinement::default()));
    }
    #[cfg(target_os = "linux")]
    {
        let (hook, confinement, supervisor) = linux_boundary(policy, cwd, own_proxy)?;
        sandboxed.confine(hook, supervisor);
        Ok((sandboxed, confinement))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (&mut sandboxed, own_proxy);
        Err(no_boundary_here())
    }
}

/// Make `command` (which will run in `cwd`) run inside `policy`'s boundary, with a
/// scrubbed environment. Fails closed: if the boundary cannot be built, the command must
/// not run. For callers that spawn through std, whose child is forked (its cost grows
/// with this process; [`command`] does not).
pub fn prepare(
    command: &mut std::process::Command,
    policy: &SandboxPolicy,
    cwd: &Path,
) -> Result<Confinement, SandboxError> {
    scrub_environment(command, &policy.boundary.allow_env);
    if policy.mode == SandboxMode::FullAccess {
        return Ok(Confinement::default());
    }
    #[cfg(target_os = "linux")]
    {
        let (hook, confinement, supervisor) = linux_boundary(policy, cwd, None)?;
        supervisor.start().map_err(|e| {
            SandboxError::Unsupported(format!("cannot start the sandbox supervisor: {e}"))
        })?;
        linux::install(command, hook);
        Ok(confinement)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cwd;
        Err(no_boundary_here())
    }
}

#[cfg(not(target_os = "linux"))]
fn no_boundary_here() -> SandboxError {
    SandboxError::Unsupported(format!(
        "{} (use warden_sandbox::command, which runs macOS commands under sandbox-exec)",
        std::env::consts::OS
    ))
}

/// The Linux boundary for `policy`, its network behind `own_proxy` when given.
#[cfg(target_os = "linux")]
fn linux_boundary(
    policy: &SandboxPolicy,
    cwd: &Path,
    own_proxy: Option<&CommandProxy>,
) -> Result<(linux::Hook, Confinement, linux::Supervisor), SandboxError> {
    use std::os::fd::AsRawFd;
    if let Some(own) = own_proxy
        && policy.egress != Egress::Proxy(own.port())
    {
        return Err(SandboxError::Unsupported(format!(
            "a command's own proxy listener with egress {:?} (it listens on port {})",
            policy.egress,
            own.port()
        )));
    }
    linux::boundary(policy, cwd, own_proxy.map(|p| p.child_end.as_raw_fd()))
}
