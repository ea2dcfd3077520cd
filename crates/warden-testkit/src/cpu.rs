//! CPU time used by a process, for benchmarks that report what a goal costs in CPU.

/// User + system CPU seconds the process `pid` has used so far (all its threads, and the
/// kernel work done in its system calls). Linux: read from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    // The fields after the command name (which may hold spaces) follow its closing ')':
    // utime and stime are the 12th and 13th of them.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> u64 {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{path}: field {i} is not a tick count"))
    };
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks(11) + ticks(12)) as f64 / per_second as f64
}
