//! An early child: the command's process, started before the command is known so that
//! it makes its namespaces (the slowest step of entering the boundary: a network
//! namespace registers a loopback device and its sysctl tables) on the other core while
//! this process reads its policy and builds the rest of the boundary. Only where a
//! command makes its own namespaces (a one-off `warden exec`; a long-lived process joins
//! shared ones instead).
//!
//! The child is cloned with `CLONE_VM | CLONE_FILES`: it shares this process's memory and
//! descriptor table, so everything the parent builds afterwards (Landlock rulesets, the
//! supervisor's channel, stdio pipes) is there when it goes on. Until it is told to go it
//! also shares the thread's storage with a parent that is still running, so it makes
//! only raw system calls (`raw.rs`: no `errno`), allocates nothing and takes no lock.
//! Then the parent blocks every signal and waits on a futex the kernel clears when the
//! child execs or exits (`CLONE_CHILD_CLEARTID`), as a vfork parent waits, and the child
//! takes a private copy of the descriptor table and continues exactly as a vfork child
//! (`vfork.rs`) that has already made its namespaces.
//!
//! If the parent thread dies first, the child is killed (`PR_SET_PDEATHSIG`, which the
//! child sets before `start` returns and resets before exec); if the parent drops it
//! unused, it is killed and reaped.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};

use super::namespace::{self, UidMaps};
use super::vfork::{self, Launch, Program, Stack, Started};
use super::{Hook, Namespaces, raw};

/// `Launch::error` until the child has been told to go.
const NOT_STARTED: libc::c_int = -1;

/// `Shared::alive` from the clone until the child has asked to die with its parent
/// thread; then `ARMED`, and 0 once it has exec'd or exited.
const STARTING: u32 = 1;
const ARMED: u32 = 2;
/// How long `start` spins for the child to arm before it sleeps.
const SPIN: std::time::Duration = std::time::Duration::from_micros(200);

/// What the parent and the child share, at a fixed address.
struct Shared {
    /// Non-zero while the child runs on this process's memory (`STARTING`, `ARMED`); the
    /// kernel zeroes it and wakes waiters when the child execs or exits.
    alive: AtomicU32,
    /// Set by the parent once `launch` is filled in.
    go: AtomicU32,
    /// The child's result of making its namespaces: 0 or an errno.
    made: AtomicI32,
    /// Set by the parent when the command's network goes through a proxy listening on
    /// the namespace's loopback: the child brings it up once its namespaces are made (if
    /// it sees this in time; otherwise the command's boundary does it after `go`).
    loopback: AtomicU32,
    /// The parent's `Launch`, valid once `go` is set.
    launch: AtomicPtr<libc::c_void>,
    parent: libc::pid_t,
    maps: UidMaps,
    /// Where the child makes its namespaces, and the CPUs it is allowed on afterwards.
    cpus: Option<OtherCore>,
}

/// A hint for the scheduler, which often starts a new child on its parent's CPU, where
/// the two take turns instead of overlapping: the child is moved to the other CPUs while
/// it makes its namespaces (by the parent right after the clone, and by itself first
/// thing in case it ran first), and the parent gives it back the set it inherited before
/// telling it to go (so the command runs with that set).
struct OtherCore {
    elsewhere: libc::cpu_set_t,
    inherited: libc::cpu_set_t,
}

impl OtherCore {
    /// None where this thread may run on one CPU only.
    fn here() -> Option<Self> {
        // SAFETY: zeroed cpu_set_t values filled by sched_getaffinity; sched_getcpu
        // takes no arguments.
        unsafe {
            let mut inherited: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut inherited)
                != 0
            {
                return None;
            }
            let cpu = usize::try_from(libc::sched_getcpu()).ok()?;
            if libc::CPU_COUNT(&inherited) < 2 || !libc::CPU_ISSET(cpu, &inherited) {
                return None;
            }
            let mut elsewhere = inherited;
            libc::CPU_CLR(cpu, &mut elsewhere);
            Some(Self {
                elsewhere,
                inherited,
            })
        }
    }
}

/// Raw sched_setaffinity for `pid` (0: the calling thread).
fn set_affinity(pid: libc::pid_t, set: &libc::cpu_set_t) -> isize {
    // SAFETY: a pointer to a live cpu_set_t and its size.
    unsafe {
        raw::syscall(
            libc::SYS_sched_setaffinity,
            pid as usize,
            std::mem::size_of::<libc::cpu_set_t>(),
            (set as *const libc::cpu_set_t) as usize,
            0,
        )
    }
}

/// A started early child, waiting for its command.
pub(crate) struct Early {
    pid: libc::pid_t,
    /// Taken when the child becomes the command.
    pidfd: Option<OwnedFd>,
    shared: Box<Shared>,
    /// Freed (after `shared`'s child is gone) when this is dropped.
    _stack: Stack,
}

impl Early {
    /// Start one where commands make their own namespaces and this architecture's raw
    /// system calls are known; None otherwise (the command then makes its namespaces
    /// itself, as before).
    pub(crate) fn start() -> Option<Self> {
        if !raw::SUPPORTED || !namespace::made_per_command() {
            return None;
        }
        let stack = Stack::new().ok()?;
        let shared = Box::new(Shared {
            alive: AtomicU32::new(STARTING),
            go: AtomicU32::new(0),
            made: AtomicI32::new(0),
            loopback: AtomicU32::new(0),
            launch: AtomicPtr::new(std::ptr::null_mut()),
            // SAFETY: getpid takes no arguments and cannot fail.
            parent: unsafe { libc::getpid() },
            maps: UidMaps::new()?,
            cpus: OtherCore::here(),
        });
        let mut pidfd: libc::c_int = -1;
        // The child starts with every signal blocked (restored here right after).
        let old = vfork::block_signals();
        // SAFETY: the child runs on its own stack, with a pointer to `shared`, which this
        // value keeps alive until the child has exec'd or exited (see `Drop`).
        let pid = unsafe {
            libc::clone(
                child,
                stack.top(),
                libc::CLONE_VM
                    | libc::CLONE_FILES
                    | libc::CLONE_PIDFD
                    | libc::CLONE_CHILD_CLEARTID
                    | libc::SIGCHLD,
                (&*shared as *const Shared).cast_mut().cast(),
                &mut pidfd as *mut libc::c_int,
                std::ptr::null_mut::<libc::c_void>(),
                shared.alive.as_ptr(),
            )
        };
        vfork::set_signal_mask(&old);
        if pid < 0 {
            return None;
        }
        if let Some(cpus) = &shared.cpus {
            // Moved while still queued here, it starts on another CPU at once.
            set_affinity(pid, &cpus.elsewhere);
        }
        let early = Self {
            pid,
            // SAFETY: the kernel wrote a new pidfd for the child.
            pidfd: Some(unsafe { OwnedFd::from_raw_fd(pidfd) }),
            shared,
            _stack: stack,
        };
        // The parent death signal is tied to this thread, and the child can only ask for
        // it itself: if this thread ended first, nothing would end the child.
        // Arming takes the child a few system calls once it runs: spin briefly rather
        // than sleep (waking this CPU again would take longer), then wait.
        let spin_until = std::time::Instant::now() + SPIN;
        loop {
            match early.shared.alive.load(Ordering::Acquire) {
                STARTING if std::time::Instant::now() < spin_until => std::hint::spin_loop(),
                STARTING => {
                    // SAFETY: the word lives in `shared`.
                    unsafe { raw::futex_wait(early.shared.alive.as_ptr(), STARTING) };
                }
                ARMED => return Some(early),
                // It ended already; `Drop` reaps it.
                _ => return None,
            }
        }
    }

    /// Make the child `program` behind `hook` (which must expect namespaces already
    /// made), and wait until it has exec'd; an error if it could not.
    pub(crate) fn launch(
        mut self,
        program: &Program<'_>,
        hook: &mut Hook,
    ) -> std::io::Result<Started> {
        if let Some(cpus) = &self.shared.cpus {
            // The child moved itself (if at all) before it armed, which `start` waited
            // for: this comes after. (On an error `Drop` kills and reaps it.)
            raw::result(set_affinity(self.pid, &cpus.inherited))?;
        }
        // Every signal stays blocked while the child may use this thread's storage.
        let old = vfork::block_signals();
        let mut launch = Launch::new(program, hook, old);
        launch.error = NOT_STARTED;
        self.shared
            .launch
            .store((&mut launch as *mut Launch).cast(), Ordering::Release);
        self.shared.go.store(1, Ordering::Release);
        // SAFETY: the word lives in `shared`.
        unsafe { raw::futex_wake(self.shared.go.as_ptr()) };
        self.wait_gone();
        vfork::set_signal_mask(&old);
        let made = self.shared.made.load(Ordering::Acquire);
        let error = if made != 0 { made } else { launch.error };
        match error {
            0 => Ok(Started {
                pid: self.pid,
                pidfd: self
                    .pidfd
                    .take()
                    .ok_or_else(|| std::io::Error::other("no pidfd"))?,
            }),
            // Reaped by `Drop`.
            NOT_STARTED => Err(std::io::Error::other(
                "the command's process ended before the command could start",
            )),
            errno => Err(std::io::Error::from_raw_os_error(errno)),
        }
    }

    pub(crate) fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Ask the child to bring up its loopback interface while it waits.
    pub(crate) fn bring_up_loopback(&self) {
        self.shared.loopback.store(1, Ordering::Release);
    }

    /// Until the child has exec'd or exited.
    fn wait_gone(&self) {
        loop {
            let alive = self.shared.alive.load(Ordering::Acquire);
            if alive == 0 {
                return;
            }
            // SAFETY: the word lives in `shared`.
            unsafe { raw::futex_wait(self.shared.alive.as_ptr(), alive) };
        }
    }
}

impl Drop for Early {
    fn drop(&mut self) {
        // Not (or not successfully) launched: kill it if it still waits, and reap it
        // before its stack and `shared` go away.
        if let Some(pidfd) = self.pidfd.take() {
            let _ = super::pidfd::signal(pidfd.as_fd(), libc::SIGKILL);
            self.wait_gone();
            let _ = super::pidfd::wait(&pidfd);
        }
    }
}

/// The early child. Until `go`: raw system calls only (see the module's docs).
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive until this child execs or exits.
    let shared = unsafe { &*arg.cast::<Shared>() };
    // Off the parent's CPU first, if it ran there before the parent moved it: the parent
    // waits for the lines below, then runs on.
    if let Some(cpus) = &shared.cpus {
        set_affinity(0, &cpus.elsewhere);
    }
    // SAFETY: integer arguments.
    unsafe {
        raw::syscall(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG as usize,
            libc::SIGKILL as usize,
            0,
            0,
        );
        // The parent process died before the line above took effect.
        if raw::syscall(libc::SYS_getppid, 0, 0, 0, 0) != shared.parent as isize {
            exit(0);
        }
        shared.alive.store(ARMED, Ordering::Release);
        raw::futex_wake(shared.alive.as_ptr());
    }
    if let Err(error) = namespace::make_own(&shared.maps) {
        // An OS error: no allocation, nothing thread-local.
        let errno = error.raw_os_error().unwrap_or(libc::EPERM);
        shared.made.store(errno, Ordering::Release);
        exit(127);
    }
    // A failure here is met again, and reported, where the boundary brings it up.
    let loopback_up =
        shared.loopback.load(Ordering::Acquire) == 1 && namespace::bring_up_loopback().is_ok();
    while shared.go.load(Ordering::Acquire) == 0 {
        // SAFETY: the word lives in `shared`; with every signal blocked only a wake
        // (or a spurious return) ends the wait.
        unsafe { raw::futex_wait(shared.go.as_ptr(), 0) };
    }
    // The parent now waits with every signal blocked: from here on this is a vfork
    // child, with its own copy of the descriptor table.
    // SAFETY: the parent stored its `Launch` before setting `go` and keeps it alive
    // until this child has exec'd or exited.
    let launch = unsafe { &mut *shared.launch.load(Ordering::Acquire).cast::<Launch>() };
    launch.error = 0;
    // SAFETY: integer arguments.
    let own_table = unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0);
        libc::unshare(libc::CLONE_FILES)
    };
    if own_table != 0 {
        launch.error = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EPERM);
        exit(127);
    }
    if !loopback_up && shared.loopback.load(Ordering::Acquire) == 1 {
        // Asked for after the check above.
        let _ = namespace::bring_up_loopback();
    }
    vfork::run(launch, Namespaces::Made)
}

/// Leave with raw `exit_group`.
fn exit(code: libc::c_int) -> ! {
    loop {
        // SAFETY: exit_group does not return.
        unsafe { raw::syscall(libc::SYS_exit_group, code as usize, 0, 0, 0) };
    }
}
