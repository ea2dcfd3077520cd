//! The supervisor: a thread in Warden that receives the sandboxed command's seccomp
//! notifications, records each blocked operation as a structured denial, and answers.
//!
//! Blocked system calls (sockets, ptrace, mounts…) are refused with `EPERM`. A
//! file-system write is refused with `EACCES` only when its target, resolved the way the
//! kernel will resolve it, is outside the writable roots or on a protected path; in every
//! other case the call continues and Landlock and the read-only mounts still decide. The
//! supervisor therefore never allows anything the kernel layers forbid, and reports what
//! they would have refused.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use warden_protocol::SandboxDenial;

use super::seccomp;

const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
const MAX_DENIALS: usize = 200;

/// What the supervisor checks writes against.
#[derive(Debug, Clone)]
pub(crate) struct WriteRules {
    pub writable: Vec<PathBuf>,
    pub protected: Vec<(PathBuf, &'static str)>,
    /// Directories holding protected paths: they cannot be renamed or removed.
    pub pinned: Vec<PathBuf>,
    /// Warden's proxy inside the sandbox's network namespace: the one TCP address a
    /// command may connect to.
    pub proxy: Option<std::net::SocketAddrV4>,
}

impl WriteRules {
    /// Why a write to `path` (absolute, lexically normalized) is refused, if it is.
    /// `moves` is true for calls that rename or remove `path` itself.
    pub(crate) fn refusal(&self, path: &Path, moves: bool) -> Option<String> {
        if path.starts_with("/proc")
            || path.starts_with("/dev")
                && path != Path::new("/dev/shm")
                && !path.starts_with("/dev/shm/")
        {
            return None; // pseudo files: leave them to the kernel
        }
        let resolved = resolve(path)?;
        if let Some((_, why)) = self.protected.iter().find(|(p, _)| resolved.starts_with(p)) {
            return Some(format!("protected path: {why}"));
        }
        if moves && (self.writable.contains(&resolved) || self.pinned.contains(&resolved)) {
            return Some("protected path: holds protected paths, cannot be moved".into());
        }
        if self.writable.iter().any(|root| resolved.starts_with(root)) {
            None
        } else {
            Some("outside the writable roots".into())
        }
    }
}

/// `path` with every existing prefix's symlinks resolved (the last component too, when it
/// exists). None when the path cannot be reasoned about.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(real) = path.canonicalize() {
        return Some(real);
    }
    let parent = path.parent()?;
    let name = path.file_name()?;
    Some(resolve(parent)?.join(name))
}

/// Denials collected for one command.
#[derive(Clone, Default)]
pub(crate) struct Denials(Arc<Mutex<Vec<SandboxDenial>>>);

impl Denials {
    fn push(&self, denial: SandboxDenial) {
        let Ok(mut list) = self.0.lock() else { return };
        if list.len() < MAX_DENIALS
            && !list
                .iter()
                .any(|d| d.operation == denial.operation && d.target == denial.target)
        {
            list.push(denial);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<SandboxDenial> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// A supervisor not started yet: its channel, the rules it applies and where it records
/// denials.
pub(crate) struct Pending {
    channel: OwnedFd,
    rules: WriteRules,
    denials: Denials,
}

impl Pending {
    pub(crate) fn new(channel: OwnedFd, rules: WriteRules, denials: Denials) -> Self {
        Self {
            channel,
            rules,
            denials,
        }
    }

    /// Start its thread, which waits for the child to send its listener over the channel
    /// (the descriptor waits there if the child sent it first; until it is served, the
    /// command's notified calls wait), then serves it until every process holding the
    /// filter has exited. If the thread cannot start, the channel closes with it: a child
    /// that has not sent its listener yet cannot (it does not exec), and a listener
    /// already sent is closed, after which the filter fails the calls it would notify.
    pub(crate) fn start(self) -> std::io::Result<()> {
        let Self {
            channel,
            rules,
            denials,
        } = self;
        std::thread::Builder::new()
            .name("warden-sandbox-supervisor".into())
            .spawn(move || {
                if let Some(listener) = receive_fd(&channel) {
                    drop(channel);
                    serve(&listener, &rules, &denials);
                }
            })
            .map(|_| ())
    }
}

/// Receive a descriptor if one is already waiting on `channel` (never blocks).
pub(crate) fn receive_fd_nonblocking(channel: &OwnedFd) -> Option<OwnedFd> {
    // SAFETY: fcntl on an owned descriptor.
    unsafe {
        let flags = libc::fcntl(channel.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(channel.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    receive_fd(channel)
}

fn receive_fd(channel: &OwnedFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u8; 64];
    // SAFETY: msghdr points at stack buffers that outlive the call; CMSG macros walk the
    // control buffer the kernel filled.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
        let n = libc::recvmsg(channel.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n <= 0 {
            return None;
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
        Some(OwnedFd::from_raw_fd(fd))
    }
}

/// Child side: send the listener to the supervisor. No allocation.
pub(crate) fn send_fd(channel: libc::c_int, fd: libc::c_int) -> std::io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    #[repr(C, align(8))]
    struct Control([u8; 64]);
    let mut control = Control([0; 64]);
    // SAFETY: as in receive_fd, all buffers are on this stack frame.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd);
        if libc::sendmsg(channel, &msg, 0) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn serve(listener: &OwnedFd, rules: &WriteRules, denials: &Denials) {
    let fd = listener.as_raw_fd();
    loop {
        let mut pollfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one stack pollfd.
        let ready = unsafe { libc::poll(&mut pollfd, 1, -1) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if pollfd.revents & libc::POLLIN == 0 {
            return; // POLLHUP: every sandboxed process is gone
        }
        // SAFETY: the kernel fills a zeroed seccomp_notif of the size it expects.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } < 0 {
            continue; // the caller died before we read it
        }
        let (error, denial) = decide(fd, &req, rules);
        // Record before answering: once answered, the command can exit and its caller
        // read the denials.
        if let Some(denial) = denial {
            denials.push(denial);
        }
        let mut resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: 0,
            flags: 0,
        };
        match error {
            Some(errno) => resp.error = -errno,
            None => resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE,
        }
        // SAFETY: ioctl with a stack response struct.
        unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
    }
}

/// The errno to answer (None: let the call continue) and the denial to record.
fn decide(
    listener: libc::c_int,
    req: &libc::seccomp_notif,
    rules: &WriteRules,
) -> (Option<i32>, Option<SandboxDenial>) {
    let nr = libc::c_long::from(req.data.nr);
    let args = req.data.args;
    if nr == libc::SYS_socket || nr == libc::SYS_socketpair {
        let target = format!("{} {} socket", family(args[0]), kind(args[1]));
        let detail = format!("blocked: {target} (direct network access is off)");
        return (
            Some(libc::EPERM),
            Some(denial("network", &target, "seccomp", detail)),
        );
    }
    if seccomp::FAST_OPEN.iter().any(|(n, _)| *n == nr) {
        let detail = "blocked: TCP fast open (a connect that skips connect(2)); use the proxy";
        return (
            Some(libc::EPERM),
            Some(denial("network", "TCP fast open", "seccomp", detail.into())),
        );
    }
    if nr == libc::SYS_connect
        && let Some(proxy) = rules.proxy
        && let Some(address) = inet_destination(req)
    {
        if address == std::net::SocketAddr::V4(proxy) {
            return (None, None);
        }
        let target = address.to_string();
        let detail = format!(
            "blocked: connect to {target} (direct network access is off; only Warden's proxy \
             at {proxy} is reachable)"
        );
        return (
            Some(libc::EACCES),
            Some(denial("network", &target, "seccomp", detail)),
        );
    }
    if nr == libc::SYS_connect {
        let address = destination(req).unwrap_or_else(|| "(unreadable address)".into());
        let quiet = NSCD_SOCKETS.contains(&address.as_str());
        let target = format!("Unix socket {address}");
        let detail = format!("blocked: connect to {target} (host sockets are off)");
        let denial = (!quiet).then(|| denial("network", &target, "seccomp", detail));
        return (Some(libc::EACCES), denial);
    }
    if seccomp::ALWAYS_DENIED.iter().any(|(n, _)| *n == nr) {
        let call = seccomp::name(nr);
        let target = match nr {
            libc::SYS_ptrace => format!("ptrace of pid {}", args[1] as i32),
            libc::SYS_process_vm_readv | libc::SYS_process_vm_writev => {
                format!("memory of pid {}", args[0] as i32)
            }
            _ => call.to_string(),
        };
        let detail = format!("blocked: {call} ({})", category(nr));
        return (
            Some(libc::EPERM),
            Some(denial("syscall", &target, "seccomp", detail)),
        );
    }
    let Some(targets) = write_targets(listener, req) else {
        return (None, None);
    };
    let moves = seccomp::MOVES.contains(&nr);
    for path in targets {
        if let Some(why) = rules.refusal(&path, moves) {
            let target = path.display().to_string();
            let detail = format!("blocked: write to {target} ({why})");
            let layer = if why.starts_with("protected") {
                "mount"
            } else {
                "landlock"
            };
            return (
                Some(libc::EACCES),
                Some(denial("write", &target, layer, detail)),
            );
        }
    }
    (None, None)
}

fn denial(operation: &str, target: &str, layer: &str, detail: String) -> SandboxDenial {
    SandboxDenial {
        operation: operation.into(),
        target: target.into(),
        layer: layer.into(),
        detail,
    }
}

fn category(nr: libc::c_long) -> &'static str {
    match nr {
        libc::SYS_ptrace | libc::SYS_process_vm_readv | libc::SYS_process_vm_writev => {
            "inspecting other processes is off"
        }
        libc::SYS_keyctl | libc::SYS_add_key | libc::SYS_request_key => {
            "kernel keyrings hold credentials"
        }
        libc::SYS_unshare | libc::SYS_setns => "namespaces are fixed by the sandbox",
        libc::SYS_io_uring_setup | libc::SYS_io_uring_enter | libc::SYS_io_uring_register => {
            "io_uring bypasses system-call filtering"
        }
        libc::SYS_bpf | libc::SYS_perf_event_open | libc::SYS_userfaultfd => {
            "kernel interface not needed by commands"
        }
        _ => "mounts are fixed by the sandbox",
    }
}

fn family(domain: u64) -> &'static str {
    match domain as i32 {
        libc::AF_INET => "IPv4",
        libc::AF_INET6 => "IPv6",
        libc::AF_UNIX => "Unix",
        libc::AF_NETLINK => "netlink",
        libc::AF_PACKET => "packet",
        _ => "other",
    }
}

fn kind(ty: u64) -> &'static str {
    match (ty as i32) & 0xf {
        libc::SOCK_STREAM => "stream",
        libc::SOCK_DGRAM => "datagram",
        libc::SOCK_RAW => "raw",
        libc::SOCK_SEQPACKET => "seqpacket",
        _ => "other",
    }
}

/// glibc asks the name-service cache daemon on every user lookup; refusing it is routine.
const NSCD_SOCKETS: &[&str] = &["/var/run/nscd/socket", "/run/nscd/socket"];

/// The IPv4/IPv6 address a connect call targets (IPv4-mapped IPv6 as IPv4).
fn inet_destination(req: &libc::seccomp_notif) -> Option<std::net::SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    let (addr, len) = (req.data.args[1], req.data.args[2]);
    let bytes = read_memory(req.pid, addr, (len as usize).clamp(2, 28))?;
    let family = i32::from(u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]));
    let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
    match family {
        libc::AF_INET => {
            let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::from((Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            let ip = Ipv6Addr::from(ip);
            Some(match ip.to_ipv4_mapped() {
                Some(v4) => SocketAddr::from((v4, port)),
                None => SocketAddr::from((ip, port)),
            })
        }
        _ => None,
    }
}

/// The address a connect call targets (`@name` for abstract sockets).
fn destination(req: &libc::seccomp_notif) -> Option<String> {
    let (addr, len) = (req.data.args[1], req.data.args[2]);
    let bytes = read_memory(req.pid, addr, (len as usize).clamp(2, 110))?;
    let family = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    if i32::from(family) != libc::AF_UNIX {
        return Some(format!("(address family {family})"));
    }
    Some(match bytes.get(2..) {
        Some([0, rest @ ..]) => {
            format!("@{}", String::from_utf8_lossy(rest).trim_end_matches('\0'))
        }
        Some(path) => {
            let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
            String::from_utf8_lossy(&path[..end]).into_owned()
        }
        None => "(unnamed)".into(),
    })
}

/// The absolute paths a write call changes, read from the caller's memory. None when
/// they cannot be read (then the kernel layers decide alone).
fn write_targets(listener: libc::c_int, req: &libc::seccomp_notif) -> Option<Vec<PathBuf>> {
    let nr = libc::c_long::from(req.data.nr);
    let a = req.data.args;
    let pid = req.pid;
    let at = |dirfd: u64, ptr: u64| -> Option<PathBuf> {
        let raw = read_string(pid, ptr)?;
        let path = PathBuf::from(std::ffi::OsStr::new(std::str::from_utf8(&raw).ok()?));
        let base = if path.is_absolute() {
            PathBuf::new()
        } else if dirfd as i32 == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?
        } else {
            std::fs::read_link(format!("/proc/{pid}/fd/{}", dirfd as i32)).ok()?
        };
        Some(crate::paths::lexical(&base.join(path)))
    };
    let cwd = libc::AT_FDCWD as u64;
    // Creating something that already exists fails with EEXIST before any permission
    // check; leave that answer to the kernel.
    let new = |path: PathBuf| -> Option<PathBuf> {
        std::fs::symlink_metadata(&path).is_err().then_some(path)
    };
    let targets: Vec<PathBuf> = match nr {
        libc::SYS_openat | libc::SYS_openat2 | libc::SYS_unlinkat => vec![at(a[0], a[1])?],
        libc::SYS_mkdirat | libc::SYS_mknodat => new(at(a[0], a[1])?).into_iter().collect(),
        libc::SYS_renameat | libc::SYS_renameat2 => vec![at(a[2], a[3])?, at(a[0], a[1])?],
        libc::SYS_linkat => new(at(a[2], a[3])?)
            .into_iter()
            .chain([at(a[0], a[1])?])
            .collect(),
        libc::SYS_symlinkat => new(at(a[1], a[2])?).into_iter().collect(),
        libc::SYS_truncate => vec![at(cwd, a[0])?],
        #[cfg(target_arch = "x86_64")]
        libc::SYS_open | libc::SYS_creat | libc::SYS_unlink | libc::SYS_rmdir => {
            vec![at(cwd, a[0])?]
        }
        #[cfg(target_arch = "x86_64")]
        libc::SYS_mkdir => new(at(cwd, a[0])?).into_iter().collect(),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_rename => vec![at(cwd, a[1])?, at(cwd, a[0])?],
        #[cfg(target_arch = "x86_64")]
        libc::SYS_link => new(at(cwd, a[1])?)
            .into_iter()
            .chain([at(cwd, a[0])?])
            .collect(),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_symlink => new(at(cwd, a[1])?).into_iter().collect(),
        _ => return None,
    };
    if nr == libc::SYS_openat2 && !openat2_writes(pid, a[2])? {
        return None;
    }
    // The pid may have been reused while we read: only trust what we read if the
    // notification is still pending.
    let mut id = req.id;
    // SAFETY: ioctl reading a u64 from the stack.
    if unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &mut id) } < 0 {
        return None;
    }
    Some(targets)
}

fn openat2_writes(pid: u32, how: u64) -> Option<bool> {
    let bytes = read_memory(pid, how, 8)?;
    let flags = u64::from_ne_bytes(bytes.get(..8)?.try_into().ok()?);
    Some(flags & (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) as u64 != 0)
}

fn read_string(pid: u32, addr: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut addr = addr;
    while out.len() < libc::PATH_MAX as usize {
        // Stay within the page so an unmapped next page does not fail the read.
        let to_page_end = 4096 - (addr % 4096) as usize;
        let chunk = read_memory(pid, addr, to_page_end)?;
        if let Some(end) = chunk.iter().position(|b| *b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(out);
        }
        out.extend_from_slice(&chunk);
        addr += chunk.len() as u64;
    }
    None
}

fn read_memory(pid: u32, addr: u64, len: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; len];
    let n = file.read_at(&mut buf, addr).ok()?;
    buf.truncate(n);
    (n > 0).then_some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_reason() {
        let base = std::env::temp_dir();
        let rules = WriteRules {
            writable: vec![base.canonicalize().unwrap_or(base.clone())],
            protected: vec![(PathBuf::from("/etc/passwd"), "test")],
            pinned: Vec::new(),
            proxy: None,
        };
        assert_eq!(
            rules.refusal(Path::new("/etc/x"), false).as_deref(),
            Some("outside the writable roots")
        );
        assert_eq!(
            rules.refusal(Path::new("/etc/passwd"), false).as_deref(),
            Some("protected path: test")
        );
        assert_eq!(rules.refusal(Path::new("/dev/null"), false), None);
        assert_eq!(rules.refusal(Path::new("/proc/self/fd/1"), false), None);
        let inside = base.join("warden-supervisor-test-file");
        assert_eq!(rules.refusal(&inside, false), None);
        // A writable root itself can be opened (O_TMPFILE) but not moved away.
        let root = rules.writable[0].clone();
        assert_eq!(rules.refusal(&root, false), None);
        assert!(rules.refusal(&root, true).is_some());
    }
}
