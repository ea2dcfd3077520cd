//! A confined command that cannot start (Linux clone path): the error comes back and no
//! child is left behind. Its own test binary with one test, so that "no child at all" can
//! be checked.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_protocol::SandboxMode;
use warden_sandbox::{SandboxPolicy, command};

#[test]
fn a_program_that_cannot_start_is_an_error_and_leaves_nothing_behind() {
    let ws = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![ws.path().to_path_buf()]);
    let missing = ["warden-no-such-program".to_string()];
    let error = command(&missing, ws.path(), &policy)
        .unwrap()
        .0
        .spawn()
        .err()
        .expect("not found");
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
    // Found, but exec fails in the child: the error comes back and the child is reaped.
    let script = ws.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let argv = [script.display().to_string()];
    let error = command(&argv, ws.path(), &policy)
        .unwrap()
        .0
        .spawn()
        .err()
        .expect("permission denied");
    assert_eq!(error.raw_os_error(), Some(libc::EACCES), "{error}");
    // This binary's only test, so no other child can exist: there is none at all, not
    // even a zombie (waitpid fails with ECHILD).
    // SAFETY: a non-blocking wait for any child.
    let found = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
    assert_eq!(found, -1, "a child was left behind");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
}
