//! The sandbox attack suite (`tests/attacks/suite.py`) run against `warden exec`: every
//! case must leave the host untouched, and ordinary work must still succeed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn every_attack_case_is_contained() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/attacks/suite.py");
    let output = Command::new("python3")
        .arg(&suite)
        .args(["--runner", "warden", "--bin", env!("CARGO_BIN_EXE_warden")])
        .output()
        .expect("python3 runs the suite");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cases = stdout.lines().filter(|l| l.starts_with("PASS ")).count();
    assert!(cases >= 30, "only {cases} cases ran:\n{stdout}");
}
