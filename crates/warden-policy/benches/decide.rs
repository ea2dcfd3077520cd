//! Decision latency: a compound shell command against 1,000 loaded rules (parse with the
//! plain-subset parser or tree-sitter-bash, look through wrappers, match every program,
//! score risk, combine).
//! Prints medians and p90s in microseconds.
//!
//! `cargo bench -p warden-policy --bench decide -- [ROUNDS]` (default 20000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use warden_policy::{ActionRequest, DecisionContext, decide};
use warden_protocol::{ApprovalPolicy, PolicySource, SandboxMode};
use warden_rules::load_rules;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

/// 1,000 rules over 100 programs (10 each), a realistic mix of decisions and shapes,
/// plus the ones that match the benchmark command.
fn rules_text() -> String {
    let mut text = String::new();
    let decisions = ["allow", "prompt", "forbidden"];
    for p in 0..100 {
        let program = match p {
            0 => "git".to_string(),
            1 => "cargo".to_string(),
            2 => "rm".to_string(),
            n => format!("tool{n}"),
        };
        for r in 0..10 {
            let decision = decisions[(p + r) % 3];
            text.push_str(&format!(
                "prefix_rule(pattern = [\"{program}\", \"sub{r}\", [\"--flag{r}\", \"-{}\"]], decision = \"{decision}\")\n",
                (b'a' + r as u8) as char
            ));
        }
    }
    text.push_str(
        "prefix_rule(pattern = [\"git\", \"push\", \"--force\"], decision = \"forbidden\")\n",
    );
    text
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let text = rules_text();
    let started = Instant::now();
    let rules = load_rules(
        "bench.rules",
        &text,
        PolicySource::UserRules {
            path: "bench.rules".into(),
        },
    )
    .unwrap();
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(rules.prefix_rules().len(), 1001);
    let ws = PathBuf::from("/work");
    let roots = [ws.clone()];
    let cx = DecisionContext {
        policy: ApprovalPolicy::OnRequest,
        sandbox: SandboxMode::WorkspaceWrite,
        sandbox_enforced: true,
        workspace: &ws,
        writable_roots: &roots,
        rules: &rules,
        sensitive_edits: Default::default(),
    };
    let cases: [(&str, Vec<String>); 3] = [
        (
            "compound (bash -lc 'cargo test && git push origin main --force | tee log')",
            vec![
                "bash".into(),
                "-lc".into(),
                "cargo test --workspace && git push origin main --force 2>&1 | tee push.log".into(),
            ],
        ),
        (
            "compound with a substitution (tree-sitter path)",
            vec![
                "bash".into(),
                "-lc".into(),
                "cargo test --workspace && git push origin \"$(git branch --show-current)\" --force 2>&1 | tee push.log".into(),
            ],
        ),
        (
            "simple argv (git status --short)",
            vec!["git".into(), "status".into(), "--short".into()],
        ),
    ];
    println!("loaded 1,001 rules in {load_ms:.1} ms");
    {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_bash::LANGUAGE.into())
            .unwrap();
        let script = "cargo test --workspace && git push origin main --force 2>&1 | tee push.log";
        let mut raw = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            std::hint::black_box(parser.parse(script, None));
            raw.push(t.elapsed().as_secs_f64() * 1e6);
        }
        println!(
            "raw tree-sitter parse: median {:.1} µs",
            percentile(&mut raw, 0.5)
        );
    }
    for (name, argv) in &cases {
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds.min(1000) {
            decide(ActionRequest::Shell { argv, cwd: &ws }, &cx);
        }
        for _ in 0..rounds {
            let t = Instant::now();
            let d = decide(ActionRequest::Shell { argv, cwd: &ws }, &cx);
            samples.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(d);
        }
        let mut parse = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            std::hint::black_box(warden_policy::shell::analyze_argv(argv));
            parse.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let parse_median = percentile(&mut parse, 0.5);
        let median = percentile(&mut samples, 0.5);
        let p90 = percentile(&mut samples, 0.9);
        println!("{name}: median {median:.1} µs, p90 {p90:.1} µs ({rounds} rounds)");
        println!("  shell analysis alone (parse + walk + wrappers): median {parse_median:.1} µs");
    }
}
