//! Starting a confined command without copying the parent's memory.
//!
//! `fork` copies the page tables of every resident page of the spawning process (and
//! takes a reference on each), so its cost grows with the process: ~2.5 ms for the
//! desktop app, ~20 ms at 300 MiB on a VM. Here the child is created with
//! `clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn` does: it runs on a stack of its own
//! in the parent's memory, the calling thread waits until it has exec'd (or exited), and
//! nothing is copied. The child enters the boundary through the same hook a forked child
//! runs, so the rules for that hook (no allocation, no locks) are the same; in addition it
//! must not change memory the parent relies on, which the hook does not.
//!
//! What the kernel allows from such a child: `unshare(CLONE_NEWUSER | …)` and `setns`
//! need the child alone in its thread group, with its own signal handlers and file-system
//! context; clone gives it both (no `CLONE_THREAD`, `CLONE_SIGHAND` or `CLONE_FS`).

use std::ffi::{CStr, CString};
use std::os::fd::{FromRawFd, OwnedFd};

use super::{Hook, Namespaces};

const STACK: usize = 256 << 10;
const GUARD: usize = 4096;

/// The program a child execs, as the pointer arrays `execve` takes.
pub(crate) struct Program<'a> {
    path: &'a CStr,
    cwd: &'a CStr,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// Descriptors to become the child's stdin, stdout and stderr (-1: keep).
    stdio: [libc::c_int; 3],
    /// Lead a new process group.
    process_group: bool,
}

impl<'a> Program<'a> {
    pub(super) fn new(
        path: &'a CString,
        cwd: &'a CString,
        argv: &'a [CString],
        envp: &'a [CString],
        stdio: [libc::c_int; 3],
        process_group: bool,
    ) -> Self {
        let pointers = |strings: &'a [CString]| -> Vec<*const libc::c_char> {
            strings
                .iter()
                .map(|a| a.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        Self {
            path,
            cwd,
            argv: pointers(argv),
            envp: pointers(envp),
            stdio,
            process_group,
        }
    }
}

/// What the child needs, all built before it runs. The child writes `error` (shared
/// memory) when it cannot exec.
pub(super) struct Launch<'a> {
    program: &'a Program<'a>,
    hook: &'a mut Hook,
    /// The signal mask the program starts with.
    mask: libc::sigset_t,
    pub(super) error: libc::c_int,
}

impl<'a> Launch<'a> {
    pub(super) fn new(program: &'a Program<'a>, hook: &'a mut Hook, mask: libc::sigset_t) -> Self {
        Self {
            program,
            hook,
            mask,
            error: 0,
        }
    }
}

/// A started child: its pid and a pidfd to wait on or signal it.
pub(crate) struct Started {
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
}

/// Start `program` after `hook`.
pub(super) fn launch(program: &Program<'_>, hook: &mut Hook) -> std::io::Result<Started> {
    let stack = Stack::new()?;
    // Every signal is blocked in this thread while the child shares its memory (a
    // handler must not run on the child's stack), then the old mask comes back.
    let mut launch = Launch::new(program, hook, block_signals());
    let mut pidfd: libc::c_int = -1;
    // SAFETY: the child runs `child` on its own stack with a pointer to `launch`, which
    // outlives it: CLONE_VFORK returns only once the child has exec'd or exited.
    let pid = unsafe {
        let pid = libc::clone(
            child,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
            (&mut launch as *mut Launch).cast(),
            &mut pidfd,
        );
        let clone_error = std::io::Error::last_os_error();
        set_signal_mask(&launch.mask);
        if pid < 0 {
            return Err(clone_error);
        }
        pid
    };
    // SAFETY: the kernel wrote a new pidfd for the child.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    if launch.error != 0 {
        // It exited without exec: reap it.
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(std::io::Error::from_raw_os_error(launch.error));
    }
    Ok(Started { pid, pidfd })
}

/// The child: see [`run`].
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Launch`, alive until this child execs or exits.
    run(unsafe { &mut *arg.cast::<Launch>() }, Namespaces::ToMake)
}

/// In the child: default signal handlers, the caller's signal mask, stdio, the boundary,
/// exec; or, when any of it fails, the error in `launch.error` and exit. No allocation:
/// everything it touches was built by the parent.
pub(super) fn run(launch: &mut Launch, namespaces: Namespaces) -> ! {
    let error = match enter(launch, namespaces) {
        Ok(()) => {
            let program = launch.program;
            // SAFETY: exec with NUL-terminated arrays of C strings built by the parent.
            unsafe {
                libc::execve(
                    program.path.as_ptr(),
                    program.argv.as_ptr(),
                    program.envp.as_ptr(),
                )
            };
            std::io::Error::last_os_error()
        }
        Err(e) => e,
    };
    launch.error = error.raw_os_error().unwrap_or(libc::EPERM);
    // SAFETY: leave without running anything of the parent's (atexit handlers, buffers).
    unsafe { libc::_exit(127) }
}

fn enter(launch: &mut Launch, namespaces: Namespaces) -> std::io::Result<()> {
    let program = launch.program;
    // SAFETY: sigaction on this child's own copy of the handlers (no CLONE_SIGHAND):
    // handlers the parent installed (they would run on the parent's data) become the
    // default; ignored signals stay ignored except SIGPIPE, which std also resets.
    unsafe {
        for signal in 1..=libc::SIGRTMAX() {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
                continue;
            }
            let ignored = old.sa_sigaction == libc::SIG_IGN && signal != libc::SIGPIPE;
            if old.sa_sigaction != libc::SIG_DFL && !ignored {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
        }
        for (target, &fd) in program.stdio.iter().enumerate() {
            if fd >= 0 && libc::dup2(fd, target as libc::c_int) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if program.process_group && libc::setpgid(0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::chdir(program.cwd.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    (launch.hook)(namespaces)?;
    // The mask the calling thread had, restored for the program.
    set_signal_mask(&launch.mask);
    Ok(())
}

/// Block every signal in the calling thread; returns the mask it had.
pub(super) fn block_signals() -> libc::sigset_t {
    // SAFETY: zeroed sigset_t values, filled by sigfillset and pthread_sigmask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

/// Set the calling thread's signal mask (no allocation: a child may call it).
pub(super) fn set_signal_mask(mask: &libc::sigset_t) {
    // SAFETY: a pointer to a live sigset_t.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
}

/// The child's stack, with a guard page below it.
pub(super) struct Stack {
    base: *mut libc::c_void,
}

impl Stack {
    pub(super) fn new() -> std::io::Result<Self> {
        // SAFETY: a fresh private anonymous mapping; the lowest page becomes the guard.
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                STACK + GUARD,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            libc::mprotect(base, GUARD, libc::PROT_NONE);
            Ok(Self { base })
        }
    }

    pub(super) fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping; stacks grow down from it.
        unsafe { self.base.cast::<u8>().add(STACK + GUARD).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, no longer used (the child exec'd or exited).
        unsafe { libc::munmap(self.base, STACK + GUARD) };
    }
}
