//! A confined command that cannot start (Linux clone path, and from an early child), an
//! early child never used or used for an unconfined command: the error comes back and no
//! child is left behind. Its own test binary with one test, so that "no child at all" can
//! be checked.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_protocol::SandboxMode;
use warden_sandbox::{EarlyChild, SandboxPolicy, command};

fn early() -> EarlyChild {
    EarlyChild::start().expect("user namespaces on this machine")
}

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
    // The same from an early child.
    let error = command(&argv, ws.path(), &policy)
        .unwrap()
        .0
        .spawn_from(early())
        .err()
        .expect("permission denied");
    assert_eq!(error.raw_os_error(), Some(libc::EACCES), "{error}");
    // An early child dropped unused is killed and reaped.
    drop(early());
    // A full-access command starts as usual; its early child is ended.
    let open = SandboxPolicy::new(SandboxMode::FullAccess, vec![]);
    let mut child = command(&["/bin/true".to_string()], ws.path(), &open)
        .unwrap()
        .0
        .spawn_from(early())
        .unwrap();
    assert!(child.wait().unwrap().success());
    // A process that shares namespaces across its commands gets no early child (its
    // commands join those instead of making their own).
    warden_sandbox::warm_up();
    assert!(EarlyChild::start().is_none());
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
