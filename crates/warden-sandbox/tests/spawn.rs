//! Starting confined commands with `clone(CLONE_VM | CLONE_VFORK)` (`warden_sandbox::command`
//! on Linux): what the child inherits and what it must not, streams, errors, and that a
//! command starts once.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use warden_protocol::SandboxMode;
use warden_sandbox::{Io, SandboxCommand, SandboxPolicy, command};

fn confined(script: &str, workspace: &std::path::Path) -> SandboxCommand {
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![workspace.to_path_buf()]);
    let argv = ["/bin/sh", "-c", script].map(String::from);
    command(&argv, workspace, &policy).unwrap().0
}

fn output(command: &mut SandboxCommand) -> (String, std::process::ExitStatus) {
    let mut child = command.stdout(Io::Piped).spawn().unwrap();
    let mut out = String::new();
    std::fs::File::from(child.stdout.take().unwrap())
        .read_to_string(&mut out)
        .unwrap();
    (out, child.wait().unwrap())
}

fn status_field(status: &str, name: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} missing from {status}"));
    u64::from_str_radix(line[name.len()..].trim(), 16).unwrap()
}

#[test]
fn the_child_gets_default_signals_an_empty_mask_and_the_boundary() {
    let ws = tempfile::tempdir().unwrap();
    let ws = ws.path().canonicalize().unwrap();
    // This test process ignores SIGPIPE (Rust does); the command must not. Read by the
    // program itself (a shell may change its own mask).
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![ws.clone()]);
    let argv = ["/bin/cat", "/proc/self/status"].map(String::from);
    let (status_text, status) = output(&mut command(&argv, &ws, &policy).unwrap().0);
    assert!(status.success(), "{status:?}");
    let sigpipe = 1 << (libc::SIGPIPE - 1);
    assert_eq!(
        status_field(&status_text, "SigIgn:") & sigpipe,
        0,
        "{status_text}"
    );
    assert_eq!(status_field(&status_text, "SigBlk:"), 0, "{status_text}");
    assert_eq!(status_field(&status_text, "CapEff:"), 0, "{status_text}");
    assert_eq!(
        status_field(&status_text, "NoNewPrivs:"),
        1,
        "{status_text}"
    );
    assert!(status_text.contains("Seccomp:\t2"), "{status_text}");
    let (out, status) = output(&mut confined(
        "touch inside && echo wrote-inside; \
         touch /etc/warden-clone-test 2>/dev/null && echo wrote-outside; true",
        &ws,
    ));
    assert!(status.success(), "{status:?}: {out}");
    assert!(out.contains("wrote-inside") && ws.join("inside").exists());
    assert!(!out.contains("wrote-outside"));
    assert!(!std::path::Path::new("/etc/warden-clone-test").exists());
}

#[test]
fn streams_environment_and_process_group() {
    let ws = tempfile::tempdir().unwrap();
    let mut command = confined(
        "read -r line; echo \"$line $WARDEN_SPAWN_TEST\"; \
         read -r _ _ _ _ group _ < /proc/self/stat; echo \"$$ $group\" >&2",
        ws.path(),
    );
    command
        .env("WARDEN_SPAWN_TEST", "set-by-caller")
        .stdin(Io::Piped)
        .stdout(Io::Piped)
        .stderr(Io::Piped)
        .process_group();
    let mut child = command.spawn().unwrap();
    let mut stdin = std::fs::File::from(child.stdin.take().unwrap());
    stdin.write_all(b"from-stdin\n").unwrap();
    drop(stdin);
    let (mut out, mut err) = (String::new(), String::new());
    std::fs::File::from(child.stdout.take().unwrap())
        .read_to_string(&mut out)
        .unwrap();
    std::fs::File::from(child.stderr.take().unwrap())
        .read_to_string(&mut err)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out, "from-stdin set-by-caller\n");
    let ids: Vec<&str> = err.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{err}");
    assert_eq!(ids[0], ids[1], "the command leads its own group: {err}");
    assert_eq!(ids[0], child.id().to_string());
}

#[test]
fn a_confined_command_starts_once_and_can_be_killed() {
    let ws = tempfile::tempdir().unwrap();
    let mut command = confined("sleep 30", ws.path());
    let mut child = command.spawn().unwrap();
    assert!(
        command.spawn().is_err(),
        "a second start would have no boundary"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    // Killing a reaped child is not an error (and cannot hit a reused pid).
    child.kill().unwrap();
}
