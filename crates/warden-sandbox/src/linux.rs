//! Linux boundary: Landlock (file system, TCP, abstract sockets and signals) plus a
//! seccomp filter (no non-Unix sockets, no ptrace or cross-process memory access).
//! Both are built in the parent; the child only applies them (no allocation after fork).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, Scope, path_beneath_rules,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use warden_protocol::SandboxMode;

use crate::{SandboxError, SandboxPolicy, SandboxSupport};

/// The Landlock ABI Warden requires: file system (incl. truncate and device ioctl),
/// TCP bind/connect, and IPC scoping.
const REQUIRED_ABI: ABI = ABI::V6;

/// The Landlock ABI the running kernel offers (0 when unavailable).
fn kernel_landlock_abi() -> i64 {
    // SAFETY: landlock_create_ruleset with a null attr, size 0 and the VERSION flag only
    // queries the ABI version; it takes no pointers it dereferences.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    }
}

pub(crate) fn support() -> SandboxSupport {
    let abi = kernel_landlock_abi();
    if abi >= REQUIRED_ABI as i64 {
        SandboxSupport {
            enforced: true,
            summary: format!("Linux: Landlock ABI {abi} + seccomp enforced"),
        }
    } else {
        SandboxSupport {
            enforced: false,
            summary: format!(
                "Linux: Landlock ABI {} found, {} required; sandboxed modes will refuse to run",
                abi.max(0),
                REQUIRED_ABI as i64
            ),
        }
    }
}

pub(crate) fn confine(
    command: &mut std::process::Command,
    policy: &SandboxPolicy,
) -> Result<(), SandboxError> {
    let mut ruleset = Some(build_ruleset(policy)?);
    let filter = build_seccomp()?;
    // SAFETY: the closure runs between fork and exec. It only calls async-signal-safe
    // syscalls (prctl, landlock_restrict_self, seccomp) on data built before the fork,
    // and builds its errors from raw OS codes without allocating.
    unsafe {
        command.pre_exec(move || {
            if let Some(ruleset) = ruleset.take() {
                ruleset
                    .restrict_self()
                    .map_err(|_| std::io::Error::from_raw_os_error(libc::EPERM))?;
            }
            seccompiler::apply_filter(&filter)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EPERM))?;
            Ok(())
        });
    }
    Ok(())
}

fn build_ruleset(policy: &SandboxPolicy) -> Result<RulesetCreated, SandboxError> {
    let abi = REQUIRED_ABI;
    let landlock = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let mut writable = policy.effective_writable_roots();
    for root in &writable {
        if !root.exists() {
            return Err(SandboxError::WritableRoot {
                path: root.display().to_string(),
                message: "does not exist".into(),
            });
        }
    }
    // Discarding output must always work.
    if policy.mode != SandboxMode::FullAccess {
        writable.push("/dev/null".into());
    }
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))
        .map_err(landlock)?
        .handle_access(AccessNet::from_all(abi))
        .map_err(landlock)?
        .scope(Scope::from_all(abi))
        .map_err(landlock)?
        .create()
        .map_err(landlock)?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))
        .map_err(landlock)?
        .add_rules(path_beneath_rules(&writable, AccessFs::from_all(abi)))
        .map_err(landlock)
}

fn build_seccomp() -> Result<BpfProgram, SandboxError> {
    let err = |e: &dyn std::fmt::Display| SandboxError::Seccomp(e.to_string());
    let not_unix = || -> Result<Vec<SeccompRule>, SandboxError> {
        let cond = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .map_err(|e| err(&e))?;
        Ok(vec![SeccompRule::new(vec![cond]).map_err(|e| err(&e))?])
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_socket, not_unix()?);
    rules.insert(libc::SYS_socketpair, not_unix()?);
    for always in [
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_io_uring_setup,
    ] {
        rules.insert(always, Vec::new());
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| err(&e))?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| err(&e))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| err(&e))
}
