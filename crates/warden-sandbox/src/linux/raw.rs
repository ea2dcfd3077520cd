//! System calls made without libc's wrappers. A wrapper that fails stores the error in
//! `errno`, which lives in the calling thread's storage; an early child (`early.rs`)
//! shares that storage with a parent that is still running, so until the parent stops
//! to wait for it, it must neither write nor read `errno`. These return the kernel's
//! answer as is: the result, or `-errno`.

/// Architectures these are written for (elsewhere commands start without an early child).
pub(crate) const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// `syscall(number, a, b, c, d)`; elsewhere than [`SUPPORTED`] architectures nothing
/// calls it and it fails with ENOSYS.
///
/// # Safety
/// As for the system call itself: pointers passed as arguments must be valid for it.
pub(crate) unsafe fn syscall(
    number: libc::c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
) -> isize {
    #[cfg(target_arch = "x86_64")]
    {
        let ret: isize;
        // SAFETY: the x86-64 Linux system call convention: number in rax, arguments in
        // rdi, rsi, rdx, r10; the kernel clobbers rcx and r11 and leaves the stack alone.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") number as isize => ret,
                in("rdi") a,
                in("rsi") b,
                in("rdx") c,
                in("r10") d,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }
    #[cfg(target_arch = "aarch64")]
    {
        let ret: isize;
        // SAFETY: the AArch64 Linux system call convention: number in x8, arguments in
        // x0-x3, the result in x0.
        unsafe {
            std::arch::asm!(
                "svc 0",
                in("x8") number,
                inlateout("x0") a as isize => ret,
                in("x1") b,
                in("x2") c,
                in("x3") d,
                options(nostack),
            );
        }
        ret
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (number, a, b, c, d);
        -(libc::ENOSYS as isize)
    }
}

/// `-errno` as an errno (0 for a success).
pub(crate) fn errno(ret: isize) -> libc::c_int {
    if ret < 0 { (-ret) as libc::c_int } else { 0 }
}

/// The kernel's answer as a result (no `errno` involved).
pub(crate) fn result(ret: isize) -> std::io::Result<usize> {
    if ret < 0 {
        Err(std::io::Error::from_raw_os_error(errno(ret)))
    } else {
        Ok(ret as usize)
    }
}

/// Wait while the shared futex word at `word` still holds `expected`.
///
/// # Safety
/// `word` must point to a live, aligned `u32`.
pub(crate) unsafe fn futex_wait(word: *const u32, expected: u32) -> isize {
    // SAFETY: FUTEX_WAIT (not private: the kernel's wake for CLONE_CHILD_CLEARTID is not
    // either) on the caller's word, no timeout.
    unsafe {
        syscall(
            libc::SYS_futex,
            word as usize,
            libc::FUTEX_WAIT as usize,
            expected as usize,
            0,
        )
    }
}

/// Wake one waiter on the shared futex word at `word`.
///
/// # Safety
/// `word` must point to a live, aligned `u32`.
pub(crate) unsafe fn futex_wake(word: *const u32) -> isize {
    // SAFETY: FUTEX_WAKE of one waiter on the caller's word.
    unsafe {
        syscall(
            libc::SYS_futex,
            word as usize,
            libc::FUTEX_WAKE as usize,
            1,
            0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_results_and_negative_errors_without_touching_errno() {
        if !SUPPORTED {
            return;
        }
        // SAFETY: getpid takes no arguments; close of a descriptor that cannot be open.
        let pid = unsafe { syscall(libc::SYS_getpid, 0, 0, 0, 0) };
        assert_eq!(pid, std::process::id() as isize);
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = 0 };
        let closed = unsafe { syscall(libc::SYS_close, 1 << 30, 0, 0, 0) };
        assert_eq!(errno(closed), libc::EBADF);
        // SAFETY: reading this thread's errno.
        assert_eq!(unsafe { *libc::__errno_location() }, 0);
    }

    #[test]
    fn futex_wait_returns_at_once_when_the_word_already_changed() {
        let word = 0u32;
        // SAFETY: a live local word.
        assert_eq!(errno(unsafe { futex_wait(&word, 1) }), libc::EAGAIN);
        // SAFETY: as above.
        assert_eq!(unsafe { futex_wake(&word) }, 0);
    }
}
