//! In-process spawn cost: `/bin/true` spawned bare vs inside the full boundary
//! (namespaces + Landlock + seccomp + supervisor), alternating so both see the same
//! machine state. Prints medians and p90s in microseconds.
//!
//! `cargo bench -p warden-sandbox --bench spawn -- [ROUNDS]` (default 300).
//!
//! `SPAWN_BENCH_RESIDENT_MB=N` first fills N MiB of the heap, as a desktop process with a
//! web view has resident: `fork` copies the page tables of everything resident, so its
//! cost grows with the spawning process while `posix_spawn`'s does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use warden_protocol::SandboxMode;
use warden_sandbox::SandboxPolicy;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let resident_mb: usize = std::env::var("SPAWN_BENCH_RESIDENT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Written, so every page is really resident (and copied-on-write after a fork).
    let resident = vec![1u8; resident_mb << 20];
    // The agent's case: a long-lived process that warmed up once.
    warden_sandbox::warm_up();
    let ws = std::env::current_dir().expect("cwd");
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![PathBuf::from(&ws)]);
    let argv = vec!["/bin/true".to_string()];
    let (mut bare, mut boxed, mut prep) = (Vec::new(), Vec::new(), Vec::new());
    let mut forked = Vec::new();
    let mut boxed_fork = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let status = Command::new("/bin/true")
            .stdin(Stdio::null())
            .status()
            .expect("bare spawn");
        bare.push(started.elapsed().as_secs_f64() * 1e6);
        assert!(status.success());

        // A no-op pre_exec hook: std must fork instead of using posix_spawn, as it does
        // for every sandboxed command; this separates fork's cost from the boundary's.
        let started = Instant::now();
        let mut command = Command::new("/bin/true");
        // SAFETY: the hook does nothing.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || Ok(()));
        }
        assert!(
            command
                .stdin(Stdio::null())
                .status()
                .expect("forked spawn")
                .success()
        );
        forked.push(started.elapsed().as_secs_f64() * 1e6);

        let started = Instant::now();
        let (mut command, _confinement) =
            warden_sandbox::command(&argv, &ws, &policy).expect("boundary builds");
        prep.push(started.elapsed().as_secs_f64() * 1e6);
        let status = command
            .stdin(warden_sandbox::Io::Null)
            .spawn()
            .and_then(|mut child| child.wait())
            .expect("sandboxed spawn");
        boxed.push(started.elapsed().as_secs_f64() * 1e6);
        assert!(status.success());

        // The same boundary entered by a forked child (std's spawn with a pre_exec hook,
        // what `warden_sandbox::prepare` gives): its cost grows with this process.
        let started = Instant::now();
        let mut command = Command::new("/bin/true");
        command.current_dir(&ws);
        let _confinement = warden_sandbox::prepare(&mut command, &policy, &ws).expect("boundary");
        let status = command
            .stdin(Stdio::null())
            .status()
            .expect("forked sandboxed spawn");
        boxed_fork.push(started.elapsed().as_secs_f64() * 1e6);
        assert!(status.success());
    }
    let (bare_median, boxed_median) = (percentile(&mut bare, 0.5), percentile(&mut boxed, 0.5));
    println!(
        "rounds: {rounds}, resident ballast: {} MiB",
        resident.len() >> 20
    );
    println!(
        "bare spawn        median {bare_median:8.0} us   p90 {:8.0} us",
        percentile(&mut bare, 0.9)
    );
    println!(
        "forked spawn      median {:8.0} us   (bare + a no-op pre_exec: fork, not posix_spawn)",
        percentile(&mut forked, 0.5)
    );
    println!(
        "sandboxed spawn   median {boxed_median:8.0} us   p90 {:8.0} us   (warden_sandbox::command: clone(CLONE_VM))",
        percentile(&mut boxed, 0.9)
    );
    println!(
        "  of which building the boundary in the parent: median {:.0} us",
        percentile(&mut prep, 0.5)
    );
    println!(
        "added by the boundary (median): {:.0} us",
        boxed_median - bare_median
    );
    let fork_median = percentile(&mut boxed_fork, 0.5);
    println!(
        "sandboxed, forked median {fork_median:8.0} us   added {:.0} us   (warden_sandbox::prepare)",
        fork_median - bare_median
    );
}
