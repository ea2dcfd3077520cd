//! The intended arrows between Warden's crates, checked over `cargo metadata`: a crate
//! may depend (for its build) only on the crates below it on the map, so the core never
//! reaches up into the agent or the binaries, and the rules language (Starlark) is
//! linked only by the binaries that inject it. A crate not on the map fails too: a new
//! one is placed on it deliberately. The map is written out in docs/developer.md.
//!
//! ```text
//! protocol ← policy ← {sandbox, proxy, audit} ← agent ← {cli, desktop}
//!            policy ← rules (injected by cli and desktop)
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each crate and the Warden crates it may depend on for its build (normal and build
/// dependencies). Crates reserved for the next rooms are on the map before they exist.
const MAP: &[(&str, &[&str])] = &[
    ("warden-protocol", &[]),
    ("warden-policy", &["warden-protocol"]),
    ("warden-rules", &["warden-protocol", "warden-policy"]),
    ("warden-sandbox", &["warden-protocol", "warden-policy"]),
    ("warden-proxy", &["warden-protocol", "warden-policy"]),
    ("warden-audit", &["warden-protocol", "warden-policy"]),
    // The model client the session, the reviewer and triage share.
    ("warden-model", &["warden-protocol", "warden-policy"]),
    // Auto-review: rules tier and reviewer model.
    (
        "warden-review",
        &[
            "warden-protocol",
            "warden-policy",
            "warden-proxy",
            "warden-model",
        ],
    ),
    // Triage of endpoint alerts over the audit record.
    (
        "warden-triage",
        &[
            "warden-protocol",
            "warden-policy",
            "warden-audit",
            "warden-model",
        ],
    ),
    // Insights over the audit store's daily counts, with tuning suggestions.
    (
        "warden-insights",
        &["warden-protocol", "warden-policy", "warden-audit"],
    ),
    (
        "warden-agent",
        &[
            "warden-protocol",
            "warden-policy",
            "warden-sandbox",
            "warden-proxy",
            "warden-audit",
            "warden-model",
            "warden-review",
            "warden-triage",
            "warden-insights",
        ],
    ),
    (
        "warden-cli",
        &[
            "warden-protocol",
            "warden-policy",
            "warden-rules",
            "warden-sandbox",
            "warden-proxy",
            "warden-audit",
            "warden-model",
            "warden-review",
            "warden-triage",
            "warden-insights",
            "warden-agent",
        ],
    ),
    (
        "warden-desktop",
        &["warden-protocol", "warden-rules", "warden-agent"],
    ),
    ("warden-testkit", &[]),
];

/// Tests may also use the test kit and the rules language (to load real rules files).
const DEV_ONLY: &[&str] = &["warden-testkit", "warden-rules"];

/// Every workspace crate's Warden dependencies: (normal and build, dev).
fn workspace_arrows() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut arrows = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_string();
        let (mut build, mut dev) = (BTreeSet::new(), BTreeSet::new());
        for dep in package["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            if !dep_name.starts_with("warden-") {
                continue;
            }
            match dep["kind"].as_str() {
                Some("dev") => dev.insert(dep_name.to_string()),
                _ => build.insert(dep_name.to_string()),
            };
        }
        arrows.insert(name, (build, dev));
    }
    arrows
}

/// What is wrong with `arrows` against the map, one line each.
fn violations(arrows: &BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>) -> Vec<String> {
    let map: BTreeMap<&str, &[&str]> = MAP.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, (build, dev)) in arrows {
        let Some(allowed) = map.get(name.as_str()) else {
            wrong.push(format!(
                "{name} is not on the map of crates (tests/arrows.rs)"
            ));
            continue;
        };
        for dep in build {
            if !allowed.contains(&dep.as_str()) {
                wrong.push(format!("{name} depends on {dep}, against the map"));
            }
        }
        for dep in dev {
            if !allowed.contains(&dep.as_str()) && !DEV_ONLY.contains(&dep.as_str()) {
                wrong.push(format!("{name}'s tests depend on {dep}, against the map"));
            }
        }
    }
    wrong
}

#[test]
fn every_crate_depends_only_on_crates_below_it() {
    let arrows = workspace_arrows();
    assert!(arrows.len() >= 10, "{arrows:?}");
    let wrong = violations(&arrows);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The check itself catches an arrow against the map, and a crate the map lacks.
#[test]
fn an_arrow_against_the_map_is_caught() {
    let mut arrows = workspace_arrows();
    arrows
        .get_mut("warden-policy")
        .unwrap()
        .0
        .insert("warden-audit".into());
    arrows.insert("warden-newcomer".into(), Default::default());
    assert_eq!(
        violations(&arrows),
        [
            "warden-newcomer is not on the map of crates (tests/arrows.rs)",
            "warden-policy depends on warden-audit, against the map",
        ]
    );
}

/// The map has no cycles: every arrow points to a crate listed before it.
#[test]
fn the_map_itself_points_one_way() {
    for (i, (name, deps)) in MAP.iter().enumerate() {
        for dep in *deps {
            let at = MAP.iter().position(|(n, _)| n == dep);
            assert!(
                at.is_some_and(|at| at < i),
                "{name} → {dep} does not point down the map"
            );
        }
    }
}
