//! The host as an endpoint security tool sees it: the machine's name and the OS user a
//! session runs as, and when a process started (from the kernel), so that an alert about
//! a process can be matched to the command Warden ran.

use std::path::{Path, PathBuf};

use warden_protocol::SessionIdentity;

/// The host name and the OS user of this process.
pub fn session_identity() -> SessionIdentity {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    SessionIdentity {
        hostname: hostname(),
        user: user_name(uid),
        uid,
    }
}

fn hostname() -> String {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    from_kernel
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_default()
}

/// The user's name from the password database (`/etc/passwd`), else `$USER`.
fn user_name(uid: u32) -> String {
    let from_passwd = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id = fields.nth(1)?.parse::<u32>().ok()?;
                (id == uid).then(|| name.to_string())
            })
        });
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| uid.to_string())
}

/// When process `pid` started, in milliseconds since the epoch, as the kernel records it
/// (`/proc/PID/stat`'s start time after boot, plus the boot time). None when it is gone
/// or this is not Linux.
pub fn process_started_ms(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot_secs: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(boot_secs * 1000 + (ticks * 1000 / hz) as i64)
}

/// The executable `program` names: itself when it is a path, else the first match on
/// `PATH`, else as given.
pub fn resolve_program(program: &str, cwd: &Path) -> String {
    if program.contains('/') {
        let path = cwd.join(program);
        return path.canonicalize().unwrap_or(path).display().to_string();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    });
    found
        .map(|p: PathBuf| p.display().to_string())
        .unwrap_or_else(|| program.to_string())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_started_before_now_and_after_boot() {
        let started = process_started_ms(std::process::id()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!(
            started <= now + 1000 && started > now - 3_600_000,
            "{started} {now}"
        );
        // A child started now is seen as started now (within a tick and a second).
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let started = process_started_ms(child.id()).unwrap();
        assert!((started - now).abs() < 2_000, "{started} {now}");
        let mut child = child;
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(process_started_ms(u32::MAX), None);
    }

    #[test]
    fn identity_and_programs_resolve() {
        let id = session_identity();
        assert!(!id.hostname.is_empty());
        assert!(!id.user.is_empty());
        assert!(resolve_program("sh", Path::new("/")).ends_with("/sh"));
        assert_eq!(
            resolve_program("no-such-program-x", Path::new("/")),
            "no-such-program-x"
        );
        assert!(resolve_program("/bin/../bin/sh", Path::new("/")).starts_with('/'));
    }
}
