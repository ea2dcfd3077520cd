//! User, network and IPC namespaces (shared, see [`SharedNamespaces`]) and a mount
//! namespace per view (built once per set of writable roots and protected paths): the
//! whole file system is re-mounted
//! read-only, writable roots are attached back as read-write copies, protected paths
//! inside them are bound read-only over themselves (their parents pinned so they cannot
//! be renamed away), `/dev/shm` is private, there is no network but an isolated
//! loopback, and every capability is dropped before exec.
//!
//! [`NamespacePlan`] is built in the parent (building the view in a helper child when it
//! is not cached); [`NamespacePlan::apply`] runs in the command's child between fork and
//! exec and only joins namespaces, changes directory and drops capabilities.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::raw;
use crate::SandboxError;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// `struct mount_attr` for `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn c_path(path: &Path) -> Result<CString, SandboxError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SandboxError::WritableRoot {
        path: path.display().to_string(),
        message: "contains a NUL byte".into(),
    })
}

/// What the child joins: the shared namespaces and a mount namespace built for this
/// policy's view (cached: commands with the same view reuse it).
pub(crate) struct NamespacePlan {
    mode: Mode,
    cwd: CString,
    last_cap: libc::c_int,
}

enum Mode {
    /// A long-lived process that warmed up: join the shared namespaces and a cached view.
    Cached {
        shared: &'static SharedNamespaces,
        mnt: Arc<OwnedFd>,
    },
    /// Cold (e.g. one `warden exec`): create everything in the command's own child,
    /// which costs less than building it in a helper first.
    Direct {
        recipe: Box<MountRecipe>,
        maps: UidMaps,
        /// Where to send a proxy listener made inside the new network namespace, and its
        /// port (see [`crate::CommandProxy`]).
        proxy: Option<(libc::c_int, u16)>,
    },
}

/// Pre-built `/proc/self/{setgroups,uid_map,gid_map}` writes for a new user namespace.
pub(crate) struct UidMaps {
    paths: [CString; 3],
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl UidMaps {
    pub(crate) fn new() -> Option<Self> {
        // SAFETY: getuid/getgid take no arguments and cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Some(Self {
            paths: [
                CString::new("/proc/self/setgroups").ok()?,
                CString::new("/proc/self/uid_map").ok()?,
                CString::new("/proc/self/gid_map").ok()?,
            ],
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
        })
    }

    /// Child side, right after unshare(CLONE_NEWUSER). Raw system calls (an early child
    /// still shares the parent's `errno`, see `raw.rs`), no allocation.
    fn write(&self) -> std::io::Result<()> {
        for (path, bytes) in self
            .paths
            .iter()
            .zip([&b"deny"[..], &self.uid_map, &self.gid_map])
        {
            // SAFETY: openat/write/close on a NUL-terminated path and a live buffer.
            unsafe {
                let fd = raw::result(raw::syscall(
                    libc::SYS_openat,
                    libc::AT_FDCWD as usize,
                    path.as_ptr() as usize,
                    (libc::O_WRONLY | libc::O_CLOEXEC) as usize,
                    0,
                ))?;
                let written =
                    raw::syscall(libc::SYS_write, fd, bytes.as_ptr() as usize, bytes.len(), 0);
                raw::syscall(libc::SYS_close, fd, 0, 0, 0);
                if raw::result(written)? != bytes.len() {
                    return Err(std::io::Error::from_raw_os_error(libc::EIO));
                }
            }
        }
        Ok(())
    }
}

/// Make the user, mount, network and IPC namespaces of a command that does not join
/// shared ones, and map its ids: in its child, or ahead of it in an early child
/// (`early.rs`). Raw system calls only, no allocation.
///
/// The ids are mapped before the mount namespace exists. An early child shares its
/// descriptor table, so a fork elsewhere in the process can copy the `uid_map` files
/// while they are open and keep them open until its own exec; opened through a mount of
/// the new namespace, they would count as writers there and make the view's read-only
/// remount fail with EBUSY. Opened before, they belong to the old namespace's mounts.
pub(crate) fn make_own(maps: &UidMaps) -> std::io::Result<()> {
    let unshare = |flags: libc::c_int| {
        // SAFETY: unshare takes flags only.
        raw::result(unsafe { raw::syscall(libc::SYS_unshare, flags as usize, 0, 0, 0) })
    };
    unshare(libc::CLONE_NEWUSER)?;
    maps.write()?;
    unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC).map(|_| ())
}

/// Whether a command here would make its own namespaces (so an early child can make them
/// ahead of it): none are shared yet and the kernel lets this user make them.
pub(crate) fn made_per_command() -> bool {
    SHARED.get().is_none() && available()
}

impl NamespacePlan {
    /// `writable` outermost first; `pinned` outermost first; `read_only` are protected
    /// paths inside writable roots.
    /// `own_proxy`: the channel and port for a proxy listener made in the command's own
    /// network namespace; only for a process that has not created shared namespaces.
    pub(crate) fn new(
        writable: &[PathBuf],
        pinned: &[PathBuf],
        read_only: &[PathBuf],
        cwd: &Path,
        own_proxy: Option<(libc::c_int, u16)>,
    ) -> Result<Self, SandboxError> {
        static LAST_CAP: std::sync::OnceLock<libc::c_int> = std::sync::OnceLock::new();
        let last_cap = *LAST_CAP.get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(63)
        });
        let mode = match SHARED.get() {
            Some(Some(_)) if own_proxy.is_some() => {
                return Err(SandboxError::Unsupported(
                    "a command's own proxy listener in a process with shared namespaces \
                     (use proxy_listener there)"
                        .into(),
                ));
            }
            Some(Some(shared)) => Mode::Cached {
                shared,
                mnt: mount_namespace(shared, writable, pinned, read_only)?,
            },
            Some(None) => {
                return Err(SandboxError::Weaker {
                    name: crate::Weakening::NoNamespaces.name(),
                    lost: crate::Weakening::NoNamespaces.guarantee_lost(),
                });
            }
            None => Mode::Direct {
                recipe: Box::new(MountRecipe::new(writable, pinned, read_only)?),
                maps: UidMaps::new()
                    .ok_or_else(|| SandboxError::Seccomp("uid map paths".into()))?,
                proxy: own_proxy,
            },
        };
        Ok(Self {
            mode,
            cwd: c_path(cwd)?,
            last_cap,
        })
    }

    /// Child side: join the namespaces (or, `made`, use the ones an early child already
    /// made), enter the working directory through the new view and drop every
    /// capability. No allocation.
    pub(crate) fn apply(&mut self, made: bool) -> std::io::Result<()> {
        match &mut self.mode {
            // Shared namespaces cannot be joined from new ones.
            Mode::Cached { .. } if made => {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            }
            Mode::Cached { shared, mnt } => {
                shared.enter()?;
                // SAFETY: setns on an owned descriptor.
                check(unsafe { libc::setns(mnt.as_raw_fd(), libc::CLONE_NEWNS) })?;
            }
            Mode::Direct {
                recipe,
                maps,
                proxy,
            } => {
                if !made {
                    make_own(maps)?;
                }
                if let Some((channel, port)) = *proxy {
                    // Asked for: without it the command would silently have no network.
                    loopback_listener(channel, port)?;
                }
                recipe.build()?;
            }
        }
        // SAFETY: chdir on a NUL-terminated path.
        check(unsafe { libc::chdir(self.cwd.as_ptr()) })?;
        drop_capabilities(self.last_cap)
    }
}

/// What identifies a view: its paths and the identity of each (a protected file replaced
/// since the view was built must not keep its old mount).
#[derive(PartialEq, Eq)]
struct ViewKey {
    paths: Vec<Vec<PathBuf>>,
    identities: Vec<Option<(u64, u64)>>,
}

fn mount_namespace(
    shared: &SharedNamespaces,
    writable: &[PathBuf],
    pinned: &[PathBuf],
    read_only: &[PathBuf],
) -> Result<Arc<OwnedFd>, SandboxError> {
    use std::os::unix::fs::MetadataExt;
    static VIEWS: Mutex<Vec<(ViewKey, Arc<OwnedFd>)>> = Mutex::new(Vec::new());
    const KEPT: usize = 8;
    let key = ViewKey {
        paths: vec![writable.to_vec(), pinned.to_vec(), read_only.to_vec()],
        identities: writable
            .iter()
            .chain(pinned)
            .chain(read_only)
            .map(|p| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino())))
            .collect(),
    };
    let mut views = VIEWS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = views.iter().position(|(k, _)| *k == key) {
        let entry = views.remove(i);
        let fd = entry.1.clone();
        views.push(entry);
        return Ok(fd);
    }
    let mut recipe = MountRecipe::new(writable, pinned, read_only)?;
    let fd = Arc::new(build_view(shared, &mut recipe).map_err(|e| {
        SandboxError::WritableRoot {
            path: writable
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            message: format!("the sandbox's view of the file system could not be built: {e}"),
        }
    })?);
    if views.len() >= KEPT {
        views.remove(0);
    }
    views.push((key, fd.clone()));
    Ok(fd)
}

/// Build a view in a throwaway child and keep its mount namespace.
fn build_view(shared: &SharedNamespaces, recipe: &mut MountRecipe) -> std::io::Result<OwnedFd> {
    in_helper(
        || {
            shared.enter()?;
            // SAFETY: unshare takes flags only.
            check(unsafe { libc::unshare(libc::CLONE_NEWNS) })?;
            recipe.build()
        },
        |pid| open_namespace(pid, "mnt"),
    )
}

fn open_namespace(pid: libc::pid_t, kind: &str) -> std::io::Result<OwnedFd> {
    std::fs::File::open(format!("/proc/{pid}/ns/{kind}")).map(OwnedFd::from)
}

/// Run `child` in a forked helper (it must not allocate: the parent may have other
/// threads), then, if it succeeded, `parent` with the helper's pid while the helper
/// waits (so its namespaces can be opened); then release and reap the helper.
fn in_helper<T>(
    mut child: impl FnMut() -> std::io::Result<()>,
    parent: impl FnOnce(libc::pid_t) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let mut ready = [0; 2];
    let mut release = [0; 2];
    // SAFETY: the child runs `child` (raw syscalls on data built before the fork),
    // reports its errno through a pipe, waits for a byte and exits; the parent reads the
    // report, runs `parent`, releases and reaps the child. All buffers are on the stack.
    unsafe {
        check(libc::pipe2(ready.as_mut_ptr(), libc::O_CLOEXEC))?;
        if libc::pipe2(release.as_mut_ptr(), libc::O_CLOEXEC) < 0 {
            libc::close(ready[0]);
            libc::close(ready[1]);
            return Err(std::io::Error::last_os_error());
        }
        let pid = libc::fork();
        if pid == 0 {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::close(ready[0]);
            libc::close(release[1]);
            let code: i32 = match child() {
                Ok(()) => 0,
                Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
            };
            libc::write(ready[1], (&code as *const i32).cast(), 4);
            let mut byte = 0u8;
            libc::read(release[0], (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0);
        }
        libc::close(ready[1]);
        libc::close(release[0]);
        let mut code: i32 = -1;
        let got = pid > 0 && libc::read(ready[0], (&mut code as *mut i32).cast(), 4) == 4;
        let result = if !got {
            Err(std::io::Error::other("the helper process did not report"))
        } else if code != 0 {
            Err(std::io::Error::from_raw_os_error(code))
        } else {
            parent(pid)
        };
        libc::close(ready[0]);
        // Release the helper by writing, not by closing: a helper forked concurrently
        // by another thread holds copies of this pipe until it exits, so EOF may never
        // come.
        libc::write(release[1], b"1".as_ptr().cast(), 1);
        libc::close(release[1]);
        if pid > 0 {
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
        result
    }
}

/// The mounts of one view, as pre-built C strings.
struct MountRecipe {
    writable: Vec<CString>,
    writable_fds: Vec<libc::c_int>,
    pinned: Vec<CString>,
    read_only: Vec<CString>,
    shm: Option<CString>,
    root: CString,
    empty: CString,
    tmpfs: CString,
}

impl MountRecipe {
    fn new(
        writable: &[PathBuf],
        pinned: &[PathBuf],
        read_only: &[PathBuf],
    ) -> Result<Self, SandboxError> {
        let shm = Path::new("/dev/shm");
        let lit = |s: &str| CString::new(s).map_err(|_| SandboxError::Seccomp("nul".into()));
        Ok(Self {
            writable: writable
                .iter()
                .map(|p| c_path(p))
                .collect::<Result<_, _>>()?,
            writable_fds: vec![-1; writable.len()],
            pinned: pinned.iter().map(|p| c_path(p)).collect::<Result<_, _>>()?,
            read_only: read_only
                .iter()
                .map(|p| c_path(p))
                .collect::<Result<_, _>>()?,
            shm: if shm.is_dir() {
                Some(c_path(shm)?)
            } else {
                None
            },
            root: lit("/")?,
            empty: lit("")?,
            tmpfs: lit("tmpfs")?,
        })
    }

    /// Inside a fresh mount namespace: make the view. No allocation.
    fn build(&mut self) -> std::io::Result<()> {
        // SAFETY (all blocks below): raw syscalls on NUL-terminated strings owned by the
        // plan and on stack values; none keeps a pointer past the call.
        check(unsafe {
            libc::mount(
                std::ptr::null(),
                self.root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        })?;
        for (path, fd) in self.writable.iter().zip(self.writable_fds.iter_mut()) {
            let flags = OPEN_TREE_CLONE
                | libc::AT_RECURSIVE as libc::c_uint
                | libc::O_CLOEXEC as libc::c_uint;
            let opened =
                unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
            *fd = check_long(opened)? as libc::c_int;
        }
        set_read_only(&self.root, true)?;
        for (path, fd) in self.writable.iter().zip(self.writable_fds.iter()) {
            let moved = unsafe {
                libc::syscall(
                    libc::SYS_move_mount,
                    *fd,
                    self.empty.as_ptr(),
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    MOVE_MOUNT_F_EMPTY_PATH,
                )
            };
            check_long(moved)?;
            unsafe { libc::close(*fd) };
        }
        if let Some(shm) = &self.shm {
            check(unsafe {
                libc::mount(
                    self.tmpfs.as_ptr(),
                    shm.as_ptr(),
                    self.tmpfs.as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    std::ptr::null(),
                )
            })?;
        }
        for path in &self.pinned {
            bind_onto_itself(path)?;
        }
        for path in &self.read_only {
            bind_onto_itself(path)?;
            set_read_only(path, true)?;
        }
        Ok(())
    }
}

fn check(ret: libc::c_int) -> std::io::Result<()> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn check_long(ret: libc::c_long) -> std::io::Result<libc::c_long> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn bind_onto_itself(path: &CString) -> std::io::Result<()> {
    // SAFETY: mount(2) with NUL-terminated paths and no data.
    check(unsafe {
        libc::mount(
            path.as_ptr(),
            path.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    })
}

fn set_read_only(path: &CString, recursive: bool) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr(2) reads `attr` (a stack value of the size passed).
    check_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(|_| ())
}

/// Empty the bounding, ambient, effective, permitted and inheritable sets, so nothing
/// (not even uid 0 inside the namespace) regains a capability at exec.
fn drop_capabilities(last_cap: libc::c_int) -> std::io::Result<()> {
    for cap in 0..=last_cap {
        // SAFETY: prctl with integer arguments.
        check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) })?;
    }
    // SAFETY: prctl with integer arguments.
    check(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    })?;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset(2) reads the header and two data structs from the stack.
    check_long(unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) }).map(|_| ())
}

/// The user, network and IPC namespaces every sandboxed command joins. Created once
/// (creating a network namespace per command costs about a millisecond) by a throwaway
/// child and kept alive by these descriptors. The network namespace holds only a
/// loopback interface that is down; seccomp refuses non-Unix sockets anyway, and
/// Landlock scoping keeps concurrent commands from reaching each other's abstract sockets.
pub(crate) struct SharedNamespaces {
    user: OwnedFd,
    net: OwnedFd,
    ipc: OwnedFd,
    /// A TCP listener on 127.0.0.1 inside the network namespace, for Warden's proxy:
    /// the only thing a sandboxed command can connect to. None if the loopback could not
    /// be brought up.
    proxy: Option<OwnedFd>,
}

impl SharedNamespaces {
    /// Child side: join them. No allocation.
    fn enter(&self) -> std::io::Result<()> {
        // SAFETY: setns with owned descriptors; the child is single-threaded after fork.
        unsafe {
            check(libc::setns(self.user.as_raw_fd(), libc::CLONE_NEWUSER))?;
            check(libc::setns(self.net.as_raw_fd(), libc::CLONE_NEWNET))?;
            check(libc::setns(self.ipc.as_raw_fd(), libc::CLONE_NEWIPC))
        }
    }
}

/// The shared namespaces, or None where this process may not create them (user
/// namespaces can be disabled by sysctl, AppArmor or a container runtime).
static SHARED: std::sync::OnceLock<Option<SharedNamespaces>> = std::sync::OnceLock::new();

/// Create the shared namespaces now (a long-lived process calls this once at start, in
/// the background, so its commands skip creating namespaces). Returns whether they exist.
pub(crate) fn warm_up() -> bool {
    SHARED.get_or_init(create_shared).is_some()
}

/// Whether user namespaces can be created here: known once warmed up, otherwise read
/// from the switches distributions use to turn them off (a wrong guess still fails
/// closed: the command does not start).
pub(crate) fn available() -> bool {
    if let Some(known) = SHARED.get() {
        return known.is_some();
    }
    let read =
        |path: &str| -> Option<i64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    // SAFETY: geteuid takes no arguments and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    read("/proc/sys/user/max_user_namespaces").unwrap_or(1) > 0
        && (root || read("/proc/sys/kernel/unprivileged_userns_clone").unwrap_or(1) != 0)
        && (root
            || read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").unwrap_or(0) == 0)
}

fn create_shared() -> Option<SharedNamespaces> {
    let maps = UidMaps::new()?;
    let (parent_end, child_end) = super::socket_pair().ok()?;
    let child_channel = child_end.as_raw_fd();
    let shared = in_helper(
        || {
            // SAFETY: unshare takes flags only.
            check(unsafe {
                libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWIPC)
            })?;
            maps.write()?;
            // The namespaces are useful without the proxy listener: a failure here only
            // means no proxy (reported when one is asked for).
            let _ = loopback_listener(child_channel, 0);
            Ok(())
        },
        |pid| {
            Ok(SharedNamespaces {
                user: open_namespace(pid, "user")?,
                net: open_namespace(pid, "net")?,
                ipc: open_namespace(pid, "ipc")?,
                proxy: None,
            })
        },
    )
    .ok();
    drop(child_end);
    shared.map(|mut shared| {
        shared.proxy = super::supervisor::receive_fd_nonblocking(&parent_end);
        shared
    })
}

/// Bring up the loopback interface of this process's network namespace (if it is not up
/// already). Raw system calls only, no allocation: an early child calls it before it is
/// told to go.
pub(crate) fn bring_up_loopback() -> std::io::Result<()> {
    // SAFETY: socket/ioctl/close with integer arguments and a stack ifreq.
    unsafe {
        let control = raw::result(raw::syscall(
            libc::SYS_socket,
            libc::AF_INET as usize,
            (libc::SOCK_DGRAM | libc::SOCK_CLOEXEC) as usize,
            0,
            0,
        ))?;
        let mut ifr: libc::ifreq = std::mem::zeroed();
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        let ioctl = |request: libc::c_ulong, ifr: *mut libc::ifreq| {
            raw::result(raw::syscall(
                libc::SYS_ioctl,
                control,
                request as usize,
                ifr as usize,
                0,
            ))
        };
        let up = ioctl(libc::SIOCGIFFLAGS, &mut ifr).and_then(|_| {
            if ifr.ifr_ifru.ifru_flags & libc::IFF_UP as libc::c_short != 0 {
                return Ok(0);
            }
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            ioctl(libc::SIOCSIFFLAGS, &mut ifr)
        });
        raw::syscall(libc::SYS_close, control, 0, 0, 0);
        up.map(|_| ())
    }
}

/// Child side, inside the new network namespace: bring the loopback up, listen on
/// 127.0.0.1:`port` (0: any) and send the socket to the parent. No allocation.
fn loopback_listener(channel: libc::c_int, port: u16) -> std::io::Result<()> {
    bring_up_loopback()?;
    // SAFETY: socket/bind/listen on a stack struct; the descriptor is closed here.
    unsafe {
        let listener = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        check(listener)?;
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
            },
            sin_zero: [0; 8],
        };
        let bound = libc::bind(
            listener,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        let result = if bound == 0 && libc::listen(listener, 4096) == 0 {
            super::supervisor::send_fd(channel, listener)
        } else {
            Err(std::io::Error::last_os_error())
        };
        libc::close(listener);
        result
    }
}

/// A handle to the proxy listener inside the shared network namespace.
pub(crate) fn proxy_listener() -> Result<std::net::TcpListener, SandboxError> {
    let unavailable =
        |why: &str| SandboxError::Unsupported(format!("a proxy inside the sandbox ({why})"));
    if !warm_up() {
        return Err(unavailable("user namespaces are not available here"));
    }
    let shared = SHARED
        .get()
        .and_then(|s| s.as_ref())
        .ok_or_else(|| unavailable("no shared namespaces"))?;
    let fd = shared
        .proxy
        .as_ref()
        .ok_or_else(|| unavailable("the sandbox's loopback could not be brought up"))?;
    let copy = fd
        .try_clone()
        .map_err(|e| unavailable(&format!("cannot duplicate the listener: {e}")))?;
    Ok(std::net::TcpListener::from(copy))
}
