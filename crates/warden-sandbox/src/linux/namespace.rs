//! User, mount, network and IPC namespaces: the whole file system is re-mounted
//! read-only, writable roots are attached back as read-write copies, protected paths
//! inside them are bound read-only over themselves (their parents pinned so they cannot
//! be renamed away), `/dev/shm` is private, there is no network but an isolated
//! loopback, and every capability is dropped before exec.
//!
//! [`NamespacePlan`] is built in the parent; [`NamespacePlan::apply`] runs in the child
//! between fork and exec and only makes syscalls on the plan's pre-built C strings.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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

pub(crate) struct NamespacePlan {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    writable: Vec<CString>,
    writable_fds: Vec<libc::c_int>,
    pinned: Vec<CString>,
    read_only: Vec<CString>,
    shm: Option<CString>,
    cwd: CString,
    last_cap: libc::c_int,
    uid_map_path: CString,
    gid_map_path: CString,
    setgroups_path: CString,
    root: CString,
    empty: CString,
    tmpfs: CString,
}

impl NamespacePlan {
    /// `writable` outermost first; `pinned` outermost first; `read_only` are protected
    /// paths inside writable roots.
    pub(crate) fn new(
        writable: &[PathBuf],
        pinned: &[PathBuf],
        read_only: &[PathBuf],
        cwd: &Path,
    ) -> Result<Self, SandboxError> {
        // SAFETY: getuid/getgid cannot fail and take no arguments.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(63);
        let shm = Path::new("/dev/shm");
        let lit = |s: &str| CString::new(s).map_err(|_| SandboxError::Seccomp("nul".into()));
        Ok(Self {
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
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
            cwd: c_path(cwd)?,
            last_cap,
            uid_map_path: lit("/proc/self/uid_map")?,
            gid_map_path: lit("/proc/self/gid_map")?,
            setgroups_path: lit("/proc/self/setgroups")?,
            root: lit("/")?,
            empty: lit("")?,
            tmpfs: lit("tmpfs")?,
        })
    }

    /// Enter the namespaces and build the view. Child side: no allocation.
    pub(crate) fn apply(&mut self) -> std::io::Result<()> {
        check(unsafe_unshare())?;
        write_file(&self.setgroups_path, b"deny")?;
        write_file(&self.uid_map_path, &self.uid_map)?;
        write_file(&self.gid_map_path, &self.gid_map)?;
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
        // The old working directory is on the now read-only mount; re-enter it through
        // the writable copy.
        check(unsafe { libc::chdir(self.cwd.as_ptr()) })?;
        drop_capabilities(self.last_cap)
    }
}

fn unsafe_unshare() -> libc::c_int {
    // SAFETY: unshare takes flags only; the child is single-threaded after fork.
    unsafe {
        libc::unshare(
            libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC,
        )
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

fn write_file(path: &CString, bytes: &[u8]) -> std::io::Result<()> {
    // SAFETY: open/write/close on a NUL-terminated path and a borrowed buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        if written < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
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

/// Whether this process may create the namespaces (user namespaces can be disabled by
/// sysctl, AppArmor or a container runtime). Probed once in a throwaway child.
pub(crate) fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        // SAFETY: the child only calls unshare and _exit; the parent waits for it.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                let ok = unsafe_unshare() == 0;
                libc::_exit(if ok { 0 } else { 1 });
            }
            if pid < 0 {
                return false;
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0) == pid
                && libc::WIFEXITED(status)
                && libc::WEXITSTATUS(status) == 0
        }
    })
}
