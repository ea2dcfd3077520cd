//! Linux boundary. Layers, all built in the parent and applied in the child before exec
//! (a `clone(CLONE_VM)` child, see `vfork.rs`, or a forked one for [`install`]; no
//! allocation there):
//! - namespaces (user, mount, network, IPC): read-only view of the file system with
//!   writable roots attached back, protected paths read-only, no network, no capabilities;
//! - Landlock: file-system rights (credential paths unreadable), TCP, IPC scoping;
//! - seccomp: no sockets, tracing, mounts or namespaces; blocked calls and file-system
//!   writes are reported to the supervisor, which records structured denials.

mod dispatch;
pub(crate) mod early;
mod landlock_rules;
mod namespace;
pub(crate) mod pidfd;
mod raw;
mod seccomp;
pub(crate) mod spawn;
mod supervisor;
mod vfork;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use landlock::ABI;

use crate::paths::{credential_paths, pinned_ancestors, protected_paths};
use crate::{Confinement, Egress, SandboxError, SandboxPolicy, SandboxSupport, Weakening};
pub(crate) use namespace::{proxy_listener, warm_up};
pub(crate) use supervisor::Denials;
pub(crate) use supervisor::receive_fd_nonblocking;

/// Landlock ABI with everything Warden uses: file system incl. truncate and device
/// ioctl, TCP bind/connect, abstract-socket and signal scoping.
const FULL_ABI: ABI = ABI::V6;

pub(crate) fn support() -> SandboxSupport {
    support_with(landlock_rules::kernel_abi())
}

fn support_with(abi: i64) -> SandboxSupport {
    let mut lost = Vec::new();
    if abi < FULL_ABI as i64 {
        lost.push(Weakening::OldLandlock);
    }
    if !namespace::available() {
        lost.push(Weakening::NoNamespaces);
    }
    let enforced = abi >= 1;
    let summary = if !enforced {
        "Linux without Landlock: sandboxed modes refuse to run; every command needs approval"
            .to_string()
    } else if lost.is_empty() {
        format!("Linux: namespaces + Landlock ABI {abi} + seccomp, all enforced")
    } else {
        let names: Vec<&str> = lost.iter().map(|w| w.name()).collect();
        format!(
            "Linux: Landlock ABI {abi} + seccomp; missing: {} (runs only if accepted)",
            names.join(", ")
        )
    };
    SandboxSupport {
        enforced,
        summary,
        missing: lost,
    }
}

fn abi_from(version: i64) -> Option<ABI> {
    Some(match version {
        v if v >= 6 => ABI::V6,
        5 => ABI::V5,
        4 => ABI::V4,
        3 => ABI::V3,
        2 => ABI::V2,
        1 => ABI::V1,
        _ => return None,
    })
}

/// Run `hook` in `command`'s child between fork and exec (the fork path, for callers that
/// spawn through std).
pub(crate) fn install(command: &mut std::process::Command, mut hook: Hook) {
    // SAFETY: the hook runs between fork and exec. It only makes syscalls on data built
    // before the fork and builds its errors from raw OS codes without allocating.
    unsafe {
        command.pre_exec(move || hook(Namespaces::ToMake));
    }
}

/// What the child runs between fork (or clone) and exec to enter the boundary.
pub(crate) type Hook = Box<dyn FnMut(Namespaces) -> std::io::Result<()> + Send + Sync>;

/// A command's supervisor (seccomp notifications: denials and write checks), started
/// by whoever starts the command.
pub(crate) type Supervisor = supervisor::Pending;

/// Whether the child entering the boundary still has to make its namespaces, or is an
/// early child (`early.rs`) that made them before its command was known.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespaces {
    ToMake,
    Made,
}

/// The boundary for `policy`, built here: the hook that enters it in the child, and the
/// denials it will report. `own_proxy`: the child end of a [`crate::CommandProxy`]
/// channel, when the command makes its own proxy listener instead of joining the shared
/// namespaces.
pub(crate) fn boundary(
    policy: &SandboxPolicy,
    cwd: &std::path::Path,
    own_proxy: Option<libc::c_int>,
) -> Result<(Hook, Confinement, supervisor::Pending), SandboxError> {
    let version = landlock_rules::kernel_abi();
    let support = support_with(version);
    let abi = abi_from(version)
        .ok_or_else(|| SandboxError::Landlock("the kernel has no Landlock".into()))?;
    let refused: Vec<Weakening> = support
        .missing
        .iter()
        .copied()
        .filter(|w| !policy.boundary.accept_weaker.contains(w))
        .collect();
    if let Some(first) = refused.first() {
        return Err(SandboxError::Weaker {
            name: first.name(),
            lost: first.guarantee_lost(),
        });
    }
    let namespaces = !support.missing.contains(&Weakening::NoNamespaces);
    let proxy_port = match policy.egress {
        Egress::None => None,
        Egress::Proxy(port) => {
            // The proxy listens inside the command's network namespace (shared, or its
            // own): without one (or without Landlock's TCP rules) the command could reach
            // more than the proxy.
            if !namespaces || abi < ABI::V4 || (own_proxy.is_none() && !namespace::warm_up()) {
                return Err(SandboxError::Unsupported(
                    "network through the proxy needs user namespaces and Landlock ABI 4; \
                     use --network deny here"
                        .into(),
                ));
            }
            Some(port)
        }
    };
    let home = home_dir();
    let writable = policy.effective_writable_roots()?;
    let unreadable = credential_paths(
        &home,
        &policy.boundary.deny_read,
        &policy.boundary.allow_read,
    );
    for secret in &unreadable {
        if let Some(root) = writable.iter().find(|r| secret.starts_with(r)) {
            return Err(SandboxError::WritableRoot {
                path: root.display().to_string(),
                message: format!(
                    "contains the credential store {}; choose a narrower folder",
                    secret.display()
                ),
            });
        }
    }
    let protected = if namespaces {
        protected_paths(&home, &writable, &policy.boundary.protect)
    } else {
        Vec::new()
    };
    let mut landlock_writable = writable.clone();
    landlock_writable.push("/dev/null".into());
    // With namespaces /dev/shm is a private tmpfs mounted in the child; its rule can only
    // be added there.
    let late_dirs: Vec<PathBuf> = if namespaces && std::path::Path::new("/dev/shm").is_dir() {
        vec!["/dev/shm".into()]
    } else {
        Vec::new()
    };
    let landlock =
        landlock_rules::build(abi, &landlock_writable, &unreadable, &late_dirs, proxy_port)?;
    landlock_writable.extend(late_dirs);
    let filter = seccomp::filter(proxy_port.is_some())?;
    let mut pinned: Vec<PathBuf> = Vec::new();
    for p in &protected {
        for dir in pinned_ancestors(&p.path, &writable) {
            if !pinned.contains(&dir) && !writable.contains(&dir) {
                pinned.push(dir);
            }
        }
    }
    pinned.sort_by_key(|p| p.components().count());
    let mut plan = if namespaces {
        let mut outermost_first = writable.clone();
        outermost_first.sort_by_key(|p| p.components().count());
        let read_only: Vec<PathBuf> = protected.iter().map(|p| p.path.clone()).collect();
        Some(namespace::NamespacePlan::new(
            &outermost_first,
            &pinned,
            &read_only,
            cwd,
            own_proxy.zip(proxy_port),
        )?)
    } else {
        None
    };
    let (parent_end, child_end) = socket_pair()?;
    let denials = Denials::default();
    let rules = supervisor::WriteRules {
        writable: landlock_writable,
        protected: protected
            .iter()
            .map(|p| (p.path.clone(), p.reason))
            .collect(),
        pinned,
        proxy: proxy_port.map(|port| std::net::SocketAddrV4::new([127, 0, 0, 1].into(), port)),
    };
    let supervisor = supervisor::Pending::new(parent_end, rules, denials.clone());
    let hook = move |namespaces: Namespaces| -> std::io::Result<()> {
        match plan.as_mut() {
            Some(plan) => plan.apply(namespaces == Namespaces::Made)?,
            // Namespaces made without a plan for them: nothing would drop the
            // capabilities they carry.
            None if namespaces == Namespaces::Made => {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            }
            None => {}
        }
        landlock.apply()?;
        let listener = filter.install()?;
        supervisor::send_fd(child_end.as_raw_fd(), listener)?;
        // SAFETY: closing the descriptor the filter just returned.
        unsafe { libc::close(listener) };
        Ok(())
    };
    Ok((Box::new(hook), Confinement { denials }, supervisor))
}

pub(crate) fn socket_pair() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    let ret = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if ret < 0 {
        return Err(SandboxError::Seccomp(format!(
            "cannot create the supervisor channel: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .and_then(|h| h.canonicalize().ok())
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
}
