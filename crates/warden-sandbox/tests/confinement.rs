//! Real commands run inside the boundary; each case is a fresh process.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use warden_protocol::SandboxDenial;
use warden_protocol::SandboxMode;
use warden_sandbox::{SandboxPolicy, prepare};

fn run_reporting(
    mode: SandboxMode,
    workspace: &Path,
    script: &str,
) -> (std::process::Output, Vec<SandboxDenial>) {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(script).current_dir(workspace);
    let policy = SandboxPolicy::new(mode, vec![workspace.to_path_buf()]);
    let confinement = prepare(&mut command, &policy, workspace).expect("sandbox builds");
    let output = command.output().expect("command runs");
    (output, confinement.denials())
}

fn run(mode: SandboxMode, workspace: &Path, script: &str) -> std::process::Output {
    run_reporting(mode, workspace, script).0
}

#[test]
fn workspace_write_allows_the_workspace_and_tmp() {
    let ws = warden_testkit::scratch_dir();
    let out = run(
        SandboxMode::WorkspaceWrite,
        ws.path(),
        "echo hi > inside.txt && echo t > /tmp/warden-sandbox-test-$$ && rm /tmp/warden-sandbox-test-$$ && echo hi > /dev/null",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("inside.txt")).unwrap(),
        "hi\n"
    );
}

#[test]
fn workspace_write_blocks_writes_outside() {
    let parent = warden_testkit::scratch_dir();
    let ws = parent.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    let (out, denials) = run_reporting(SandboxMode::WorkspaceWrite, &ws, "echo x > ../outside.txt");
    assert!(!out.status.success());
    let target = parent.path().canonicalize().unwrap().join("outside.txt");
    assert!(!target.exists());
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(denials[0].operation, "write");
    assert_eq!(denials[0].target, target.display().to_string());
    assert_eq!(denials[0].layer, "landlock");
}

#[test]
fn read_only_blocks_every_write() {
    let ws = warden_testkit::scratch_dir();
    let out = run(SandboxMode::ReadOnly, ws.path(), "echo x > inside.txt");
    assert!(!out.status.success());
    assert!(!ws.path().join("inside.txt").exists());
}

#[test]
fn direct_network_is_blocked() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ws = warden_testkit::scratch_dir();
    let script = format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)\""
    );
    let (out, denials) = run_reporting(SandboxMode::WorkspaceWrite, ws.path(), &script);
    assert!(
        !out.status.success(),
        "connect to the host's loopback listener must fail"
    );
    assert!(
        denials.iter().any(|d| d.operation == "network"
            && d.target == "IPv4 stream socket"
            && d.layer == "seccomp"),
        "{denials:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PermissionError") || stderr.contains("not permitted"),
        "{stderr}"
    );
}

#[test]
fn secrets_in_the_environment_do_not_reach_the_command() {
    let ws = warden_testkit::scratch_dir();
    let mut command = Command::new("/usr/bin/env");
    command
        .env("OPENAI_API_KEY", "sk-test")
        .env("VISIBLE", "1")
        .current_dir(ws.path());
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![ws.path().into()]);
    let _confinement = prepare(&mut command, &policy, ws.path()).unwrap();
    let out = String::from_utf8(command.output().unwrap().stdout).unwrap();
    assert!(out.contains("VISIBLE=1"));
    assert!(!out.contains("OPENAI_API_KEY"), "{out}");
}

#[test]
fn a_warmed_up_process_gets_the_same_boundary_from_cached_namespaces() {
    warden_sandbox::warm_up();
    let parent = warden_testkit::scratch_dir();
    let ws = parent.path().join("ws");
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    for _ in 0..2 {
        let (out, denials) = run_reporting(
            SandboxMode::WorkspaceWrite,
            &ws,
            "echo ok > inside.txt; echo x > ../outside.txt; echo x > .git/hooks/pre-commit",
        );
        assert!(!out.status.success());
        assert_eq!(
            std::fs::read_to_string(ws.join("inside.txt")).unwrap(),
            "ok\n"
        );
        assert!(!parent.path().join("outside.txt").exists());
        assert!(!ws.join(".git/hooks/pre-commit").exists());
        let layers: Vec<&str> = denials.iter().map(|d| d.layer.as_str()).collect();
        assert_eq!(layers, ["landlock", "mount"], "{denials:?}");
    }
}

#[test]
fn nested_writable_roots_work_in_a_warmed_up_process() {
    warden_sandbox::warm_up();
    let parent = warden_testkit::scratch_dir();
    let ws = parent.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg("echo x > ../outside.txt")
        .current_dir(&ws);
    let policy = SandboxPolicy::new(
        SandboxMode::WorkspaceWrite,
        vec![ws.clone(), parent.path().to_path_buf()],
    );
    let _confinement = prepare(&mut command, &policy, &ws).expect("sandbox builds");
    let out = command.output().expect("command runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(parent.path().join("outside.txt").exists());
}
