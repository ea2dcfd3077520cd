//! The shell tool against real processes in the real sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use warden_agent::tools::shell;
use warden_protocol::{OutputStream, SandboxMode};
use warden_sandbox::SandboxPolicy;

fn argv(s: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), s.into()]
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed_with_its_children() {
    let ws = warden_testkit::scratch_dir();
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![ws.path().into()]);
    let started = std::time::Instant::now();
    let out = shell::run(
        &argv("echo started; sleep 30 & sleep 30"),
        ws.path(),
        Duration::from_millis(300),
        4096,
        &policy,
        None,
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(out.timed_out);
    assert!(!out.success());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        out.output.starts_with("started\n")
            && out
                .output
                .ends_with("[command timed out after 300 ms and was killed]"),
        "{}",
        out.output
    );
}

#[tokio::test]
async fn output_streams_in_chunks_and_is_capped_for_the_model() {
    let ws = warden_testkit::scratch_dir();
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, vec![ws.path().into()]);
    let mut streamed = String::new();
    let mut saw_stderr = false;
    let out = shell::run(
        &argv("seq 1 20000; echo oops >&2"),
        ws.path(),
        Duration::from_secs(10),
        1000,
        &policy,
        None,
        |stream, chunk| {
            saw_stderr |= stream == OutputStream::Stderr;
            streamed.push_str(&chunk);
        },
    )
    .await
    .unwrap();
    assert!(out.success());
    assert!(saw_stderr);
    assert!(
        streamed.starts_with("1\n2\n") && streamed.contains("20000\n"),
        "everything streams live"
    );
    assert!(
        out.output.starts_with("1\n2\n") && out.output.contains("bytes omitted"),
        "{}",
        out.output
    );
    assert!(out.output.len() < 1100);
}
