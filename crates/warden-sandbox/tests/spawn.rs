//! Starting confined commands with `clone(CLONE_VM | CLONE_VFORK)` (`warden_sandbox::command`
//! on Linux) and in an early child (`EarlyChild`, which made the namespaces before the
//! command was known): what the child inherits and what it must not, streams, errors,
//! and that a command starts once.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use warden_protocol::SandboxMode;
use warden_sandbox::{Child, EarlyChild, Io, SandboxCommand, SandboxPolicy, command};

/// Which way the command's process is made.
#[derive(Clone, Copy, Debug)]
enum Via {
    Clone,
    Early,
}

fn spawn(command: &mut SandboxCommand, via: Via) -> Child {
    match via {
        Via::Clone => command.spawn().unwrap(),
        Via::Early => command
            .spawn_from(EarlyChild::start().expect("user namespaces on this machine"))
            .unwrap(),
    }
}

fn confined(script: &str, workspace: &std::path::Path) -> SandboxCommand {
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![workspace.to_path_buf()]);
    let argv = ["/bin/sh", "-c", script].map(String::from);
    command(&argv, workspace, &policy).unwrap().0
}

fn output(command: &mut SandboxCommand, via: Via) -> (String, std::process::ExitStatus) {
    let mut child = spawn(command.stdout(Io::Piped), via);
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
    the_boundary_and_nothing_of_ours(Via::Clone);
}

#[test]
fn an_early_child_gets_default_signals_an_empty_mask_and_the_boundary() {
    the_boundary_and_nothing_of_ours(Via::Early);
}

fn the_boundary_and_nothing_of_ours(via: Via) {
    let ws = tempfile::tempdir().unwrap();
    let ws = ws.path().canonicalize().unwrap();
    // This test process ignores SIGPIPE (Rust does); the command must not. Read by the
    // program itself (a shell may change its own mask).
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![ws.clone()]);
    let argv = ["/bin/cat", "/proc/self/status"].map(String::from);
    let (status_text, status) = output(&mut command(&argv, &ws, &policy).unwrap().0, via);
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
    // An early child makes its namespaces on other CPUs than ours; the command gets back
    // the set it inherited.
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let cpus = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("Cpus_allowed_list:"))
            .map(str::to_owned)
    };
    assert_eq!(cpus(&status_text), cpus(&ours), "{status_text}");
    assert!(cpus(&ours).is_some());
    let (out, status) = output(
        &mut confined(
            "touch inside && echo wrote-inside; \
         touch /etc/warden-clone-test 2>/dev/null && echo wrote-outside; \
         cat /proc/self/uid_map; echo interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1); \
         readlink /proc/self/ns/net /proc/self/ns/mnt",
            &ws,
        ),
        via,
    );
    assert!(status.success(), "{status:?}: {out}");
    assert!(out.contains("wrote-inside") && ws.join("inside").exists());
    assert!(!out.contains("wrote-outside"));
    assert!(!std::path::Path::new("/etc/warden-clone-test").exists());
    // Its own user namespace (our uid mapped alone), network namespace (loopback only)
    // and mount namespace.
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [uid.to_string(), uid.to_string(), "1".into()]),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "interfaces: lo"), "{out}");
    for kind in ["net", "mnt"] {
        let ours = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        let ours = ours.to_string_lossy();
        assert!(out.contains(&format!("{kind}:[")), "{out}");
        assert!(
            !out.contains(ours.as_ref()),
            "the command shares our {kind} namespace: {out}"
        );
    }
}

#[test]
fn streams_environment_and_process_group() {
    streams_and_group(Via::Clone);
}

#[test]
fn streams_environment_and_process_group_from_an_early_child() {
    streams_and_group(Via::Early);
}

fn streams_and_group(via: Via) {
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
    let mut child = spawn(&mut command, via);
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

#[test]
fn the_command_outlives_the_thread_that_started_its_early_child() {
    let ws = tempfile::tempdir().unwrap();
    let ws = ws.path().to_path_buf();
    // The early child dies with the thread that started it until it becomes the
    // command; the command itself must not.
    let mut child = std::thread::spawn(move || spawn(&mut confined("sleep 30", &ws), Via::Early))
        .join()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut poll = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&child.pidfd().unwrap()),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one live pidfd, no wait.
    assert_eq!(
        unsafe { libc::poll(&mut poll, 1, 0) },
        0,
        "the command ended"
    );
    child.kill().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn an_unused_early_child_dies_with_its_thread() {
    let pid = std::thread::spawn(|| {
        let early = EarlyChild::start().expect("user namespaces on this machine");
        let pid = early.id();
        // Not dropped (that would kill it): only the thread's end does.
        std::mem::forget(early);
        pid
    })
    .join()
    .unwrap();
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let reaped = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    assert_eq!(reaped, pid as libc::pid_t);
    assert!(libc::WIFSIGNALED(status), "{status:#x}");
    assert_eq!(libc::WTERMSIG(status), libc::SIGKILL);
}

#[test]
fn an_early_child_brings_up_its_loopback_only_when_asked() {
    let ws = tempfile::tempdir().unwrap();
    let ws = ws.path().canonicalize().unwrap();
    // The local routing table holds 127.0.0.1 only while the namespace's `lo` is up.
    let script = "grep -c 127.0.0.1 /proc/net/fib_trie || true";
    let run = |asked: bool| {
        let early = EarlyChild::start().expect("user namespaces on this machine");
        if asked {
            early.bring_up_loopback();
        }
        let mut command = confined(script, &ws);
        let mut child = command.stdout(Io::Piped).spawn_from(early).unwrap();
        let mut out = String::new();
        std::fs::File::from(child.stdout.take().unwrap())
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        out.trim().parse::<u32>().unwrap()
    };
    assert!(run(true) > 0, "loopback down though asked for");
    assert_eq!(run(false), 0, "loopback up though not asked for");
}
