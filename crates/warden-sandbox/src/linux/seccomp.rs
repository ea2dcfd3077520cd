//! The seccomp filter. Blocked system calls and file-system writes are not answered by
//! the filter itself: they go to Warden's supervisor as user notifications
//! (`SECCOMP_RET_USER_NOTIF`), so the kernel tells Warden exactly which call, with which
//! arguments, the command tried; the supervisor records the denial and answers.
//!
//! seccompiler has no user-notify action, so the filter is compiled with a marked
//! `Trace` action and those return instructions are rewritten.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::SandboxError;

const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub(crate) const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const MARKER: u32 = 0x0a5e;
const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_uint = 1 << 3;
const BPF_RET: u16 = 0x06;

/// Calls that are never allowed: tracing and cross-process memory, new namespaces and mounts, kernel
/// keyrings, and kernel interfaces that bypass the other filters.
pub(crate) const ALWAYS_DENIED: &[(libc::c_long, &str)] = &[
    (libc::SYS_ptrace, "ptrace"),
    (libc::SYS_process_vm_readv, "process_vm_readv"),
    (libc::SYS_process_vm_writev, "process_vm_writev"),
    (libc::SYS_io_uring_setup, "io_uring_setup"),
    (libc::SYS_io_uring_enter, "io_uring_enter"),
    (libc::SYS_io_uring_register, "io_uring_register"),
    (libc::SYS_mount, "mount"),
    (libc::SYS_umount2, "umount2"),
    (libc::SYS_pivot_root, "pivot_root"),
    (libc::SYS_open_tree, "open_tree"),
    (libc::SYS_move_mount, "move_mount"),
    (libc::SYS_fsopen, "fsopen"),
    (libc::SYS_fsconfig, "fsconfig"),
    (libc::SYS_fsmount, "fsmount"),
    (libc::SYS_fspick, "fspick"),
    (libc::SYS_mount_setattr, "mount_setattr"),
    (libc::SYS_unshare, "unshare"),
    (libc::SYS_setns, "setns"),
    (libc::SYS_keyctl, "keyctl"),
    (libc::SYS_add_key, "add_key"),
    (libc::SYS_request_key, "request_key"),
    (libc::SYS_bpf, "bpf"),
    (libc::SYS_perf_event_open, "perf_event_open"),
    (libc::SYS_userfaultfd, "userfaultfd"),
    (libc::SYS_kexec_load, "kexec_load"),
    (libc::SYS_init_module, "init_module"),
    (libc::SYS_finit_module, "finit_module"),
];

/// Send calls with `MSG_FASTOPEN`, which open a TCP connection without `connect(2)`,
/// and the index of their flags argument. Refused in proxy mode.
pub(crate) const FAST_OPEN: &[(libc::c_long, u8)] = &[
    (libc::SYS_sendto, 3),
    (libc::SYS_sendmsg, 2),
    (libc::SYS_sendmmsg, 3),
];

/// File-system calls that change something, with the index of their flags argument
/// when only some flag values write (`open`-style calls).
pub(crate) const WRITES: &[(libc::c_long, Option<u8>)] = &[
    (libc::SYS_openat, Some(2)),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_open, Some(1)),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_creat, None),
    (libc::SYS_openat2, None),
    (libc::SYS_mkdirat, None),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_mkdir, None),
    (libc::SYS_mknodat, None),
    (libc::SYS_unlinkat, None),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_unlink, None),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_rmdir, None),
    (libc::SYS_renameat, None),
    (libc::SYS_renameat2, None),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_rename, None),
    (libc::SYS_linkat, None),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_link, None),
    (libc::SYS_symlinkat, None),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_symlink, None),
    (libc::SYS_truncate, None),
];

/// Of those, the calls that rename or remove their target itself.
pub(crate) const MOVES: &[libc::c_long] = &[
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_unlinkat,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_rename,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_unlink,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_rmdir,
];

/// Open flags that write.
const WRITE_FLAGS: [u64; 4] = [
    libc::O_WRONLY as u64,
    libc::O_RDWR as u64,
    libc::O_CREAT as u64,
    libc::O_TRUNC as u64,
];

/// A compiled filter and the `sock_fprog` pointing at it (both live until exec).
pub(crate) struct Filter {
    pub(super) program: BpfProgram,
    fprog: libc::sock_fprog,
}

// SAFETY: `fprog.filter` points into `program`, which the struct owns and never mutates.
unsafe impl Send for Filter {}
unsafe impl Sync for Filter {}

/// The filter, compiled once per process for each network setting: `proxy` lets the
/// command create TCP sockets (whose connects the supervisor and Landlock limit to the
/// proxy); otherwise only Unix sockets.
pub(crate) fn filter(proxy: bool) -> Result<&'static Filter, SandboxError> {
    static FILTERS: [std::sync::OnceLock<Result<Filter, String>>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    FILTERS[usize::from(proxy)]
        .get_or_init(|| build(proxy).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| SandboxError::Seccomp(e.clone()))
}

fn build(proxy: bool) -> Result<Filter, SandboxError> {
    // Calls notified whatever their arguments need no program of their own: the prefix
    // sends them to one shared return, and seccompiler compiles only the rest (the
    // kernel's cost of installing a filter grows with its length).
    let (always, conditional): (BTreeMap<_, _>, BTreeMap<_, _>) = rules(proxy)?
        .into_iter()
        .partition(|(_, rules)| rules.is_empty());
    let in_program: Vec<i64> = conditional.keys().copied().collect();
    let always: Vec<i64> = always.into_keys().collect();
    let program = match super::dispatch::with_dispatch(compile(conditional)?, &in_program, &always)
    {
        Some(program) => program,
        // Every rule in one program instead.
        None => compile(rules(proxy)?)?,
    };
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).map_err(|e| SandboxError::Seccomp(e.to_string()))?,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    Ok(Filter { program, fprog })
}

/// Every rule in one program compiled by seccompiler: what the installed filter must
/// answer exactly like (the tests check it).
#[cfg(test)]
pub(crate) fn program(proxy: bool) -> Result<BpfProgram, SandboxError> {
    compile(rules(proxy)?)
}

fn err(e: &dyn std::fmt::Display) -> SandboxError {
    SandboxError::Seccomp(e.to_string())
}

/// The system calls the filter names, each with the argument conditions under which it
/// is notified (none: always).
fn rules(proxy: bool) -> Result<BTreeMap<i64, Vec<SeccompRule>>, SandboxError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (nr, _) in ALWAYS_DENIED {
        rules.insert(*nr, Vec::new());
    }
    // Only Unix stream and seqpacket sockets can be created: a private socketpair, or a
    // socket that reaches nothing, since every connect goes to the supervisor, which
    // refuses it. Datagram sockets are refused because a send can carry an address.
    let rule = |arg: u8, op: SeccompCmpOp, value: u64| -> Result<SeccompRule, SandboxError> {
        let cond =
            SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| err(&e))?;
        SeccompRule::new(vec![cond]).map_err(|e| err(&e))
    };
    let not_unix = || rule(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64);
    let datagram = || rule(1, SeccompCmpOp::MaskedEq(0xf), libc::SOCK_DGRAM as u64);
    let socket_rules = if proxy {
        // Also TCP (IPv4/IPv6 stream) sockets, for the proxy on the namespace's loopback.
        let cond = |arg: u8, op: SeccompCmpOp, value: u64| {
            SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| err(&e))
        };
        let other_family = SeccompRule::new(vec![
            cond(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?,
            cond(0, SeccompCmpOp::Ne, libc::AF_INET as u64)?,
            cond(0, SeccompCmpOp::Ne, libc::AF_INET6 as u64)?,
        ])
        .map_err(|e| err(&e))?;
        let mut refused = vec![other_family, datagram()?];
        for family in [libc::AF_INET, libc::AF_INET6] {
            // SOCK_PACKET (10) is the obsolete packet-socket type.
            for kind in [libc::SOCK_RAW, libc::SOCK_RDM, libc::SOCK_SEQPACKET, 10] {
                refused.push(
                    SeccompRule::new(vec![
                        cond(0, SeccompCmpOp::Eq, family as u64)?,
                        cond(1, SeccompCmpOp::MaskedEq(0xf), kind as u64)?,
                    ])
                    .map_err(|e| err(&e))?,
                );
            }
        }
        refused
    } else {
        vec![not_unix()?, datagram()?]
    };
    rules.insert(libc::SYS_socket, socket_rules);
    if proxy {
        for (nr, flags) in FAST_OPEN {
            let fast_open = libc::MSG_FASTOPEN as u64;
            rules.insert(
                *nr,
                vec![rule(*flags, SeccompCmpOp::MaskedEq(fast_open), fast_open)?],
            );
        }
    }
    rules.insert(libc::SYS_socketpair, vec![not_unix()?]);
    rules.insert(libc::SYS_connect, Vec::new());
    for (nr, flags_arg) in WRITES {
        let entry = match flags_arg {
            None => Vec::new(),
            Some(arg) => WRITE_FLAGS
                .iter()
                .map(|flag| {
                    let cond = SeccompCondition::new(
                        *arg,
                        SeccompCmpArgLen::Dword,
                        SeccompCmpOp::MaskedEq(*flag),
                        *flag,
                    )
                    .map_err(|e| err(&e))?;
                    SeccompRule::new(vec![cond]).map_err(|e| err(&e))
                })
                .collect::<Result<_, _>>()?,
        };
        rules.insert(*nr, entry);
    }
    Ok(rules)
}

/// `rules` compiled by seccompiler, notify actions patched in.
fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>) -> Result<BpfProgram, SandboxError> {
    let notify = SeccompAction::Trace(MARKER);
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| err(&e))?;
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, notify, arch).map_err(|e| err(&e))?;
    let mut program: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| err(&e))?;
    let mut patched = 0;
    for insn in &mut program {
        if insn.code == BPF_RET && insn.k == SECCOMP_RET_TRACE | MARKER {
            insn.k = SECCOMP_RET_USER_NOTIF;
            patched += 1;
        }
    }
    if patched == 0 {
        return Err(SandboxError::Seccomp(
            "no notify action found in the compiled filter".into(),
        ));
    }
    Ok(program)
}

impl Filter {
    /// Install the filter and return the notification listener. Child side.
    pub(crate) fn install(&self) -> std::io::Result<libc::c_int> {
        debug_assert!(!self.program.is_empty());
        // SAFETY: seccomp(2) reads the sock_fprog and the program it points at, both
        // owned by self and alive for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &self.fprog as *const libc::sock_fprog,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fd as libc::c_int)
    }
}

/// The name of a system call the filter notifies about.
pub(crate) fn name(nr: libc::c_long) -> &'static str {
    ALWAYS_DENIED
        .iter()
        .find(|(n, _)| *n == nr)
        .map(|(_, name)| *name)
        .unwrap_or(if nr == libc::SYS_socketpair {
            "socketpair"
        } else {
            "file-system write"
        })
}
