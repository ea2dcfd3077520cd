//! Waiting for a person's keys until a question expires.

use std::os::fd::AsFd;

/// Whether `input` has something to read before `deadline_ms` (milliseconds since the
/// Unix epoch). Input that cannot be waited on counts as ready, so the read decides.
pub(crate) fn typed_before(input: impl AsFd, deadline_ms: i64) -> bool {
    use std::os::fd::AsRawFd;
    let fd = input.as_fd().as_raw_fd();
    loop {
        let left = millis_until(deadline_ms);
        if left == 0 {
            return false;
        }
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let wait = i32::try_from(left).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for a descriptor borrowed for this call.
        match unsafe { libc::poll(&mut poll, 1, wait) } {
            0 => return false,
            n if n > 0 => return true,
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return true,
        }
    }
}

/// Whole seconds left until `deadline_ms`, rounded up (0 once it has passed), for "refused
/// in N s".
pub(crate) fn seconds_until(deadline_ms: i64) -> u64 {
    millis_until(deadline_ms).div_ceil(1000)
}

fn millis_until(deadline_ms: i64) -> u64 {
    u64::try_from(deadline_ms - warden_agent::now_ms()).unwrap_or(0)
}
