//! Waiting for and signalling a process through its pidfd: a leaf both ways of starting
//! a confined command (`spawn.rs`, `early.rs`) and the public `Child` (`crate::spawn`)
//! use, so a reused pid is never waited for or signalled.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// Wait for the child behind `pidfd` to end, and reap it.
pub(crate) fn wait(pidfd: &OwnedFd) -> std::io::Result<ExitStatus> {
    loop {
        // SAFETY: waitid on our own child's pidfd into a zeroed siginfo.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED,
            )
        };
        if ret == 0 {
            // SAFETY: waitid filled a CLD_* record.
            let (code, status) = unsafe { (info.si_code, info.si_status()) };
            return Ok(ExitStatus::from_raw(match code {
                libc::CLD_EXITED => (status & 0xff) << 8,
                libc::CLD_DUMPED => status | 0x80,
                _ => status,
            }));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

pub(crate) fn signal(
    pidfd: std::os::fd::BorrowedFd<'_>,
    signal: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal on a pidfd, no siginfo.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
