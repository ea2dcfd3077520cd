//! Auto-review's cost. Two measures:
//!
//! 1. Tokens sent per review on the shipped corpus, as the session path builds each
//!    request (the policy's reasons and findings, the case's prompts and evidence), and
//!    again with every case carrying a heavy context (12 recent tool calls of 4 KB each,
//!    5 long prompts): median, p95 and most, against the default budget of 3,000.
//! 2. The reviewer's own time beyond the model's: a full review (the prompt, the cache
//!    and budget checks, the request, the strict parse, the accounting) against a local
//!    scripted model, alternated with the bare model request it makes; the difference of
//!    the medians is the reviewer's overhead. Also the pure CPU part alone (building the
//!    request, parsing a verdict, the cache key).
//!
//! `cargo bench -p warden-review --bench review -- [ROUNDS]` (default 400).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use warden_model::{Item, ModelClient, RetryPolicy, TurnRequest};
use warden_policy::config::AutoReviewConfig;
use warden_review::eval::{self, Case};
use warden_review::prompt::{self, Context, Evidence};
use warden_review::{Limits, Reviewer, verdict};
use warden_testkit::{Scenario, Script, ScriptedModel, Step};

const VERDICT: &str = r#"{"outcome":"approve","risk":"low","user_authorized":"yes","rationale":"runs the tests the person asked for"}"#;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn corpus() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/cases.jsonl");
    eval::read_cases(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The context a session would give the reviewer for `case` (reasons as the policy
/// words them for an unfamiliar command).
fn context(case: &Case, heavy: bool) -> Context {
    let mut cx = Context {
        reasons: vec![
            "`x` is not on the known-safe list, and the approval policy is untrusted [untrusted-policy from built-in]".into(),
        ],
        findings: vec!["medium: `x` is not a known read-only, build or test command".into()],
        prompts: case.context.prompts.clone(),
        recent: case.context.recent.clone(),
        script: None,
    };
    if heavy {
        cx.prompts
            .extend((0..5).map(|i| format!("request {i}: ").repeat(60)));
        cx.recent.extend((0..12).map(|i| Evidence {
            call: format!("shell: cargo test -p crate{i}"),
            output: "test result line with some detail\n".repeat(120),
        }));
    }
    cx
}

fn token_stats(label: &str, cases: &[Case], heavy: bool, budget: u64) {
    let mut tokens: Vec<f64> = cases
        .iter()
        .map(|c| prompt::request(&c.action, &context(c, heavy), budget).tokens() as f64)
        .collect();
    let median = percentile(&mut tokens, 0.5);
    let p95 = percentile(&mut tokens, 0.95);
    let most = percentile(&mut tokens, 1.0);
    println!(
        "tokens sent per review, {label}: median {median:.0}, p95 {p95:.0}, most {most:.0} ({} cases, budget {budget})",
        cases.len()
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(400);
    let cases = corpus();
    let budget = AutoReviewConfig::default().context_tokens;
    token_stats("the corpus as written", &cases, false, budget);
    token_stats("every case with a heavy context", &cases, true, budget);

    // The CPU part alone: the request, a verdict parsed, the cache key.
    let mut cpu = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let case = &cases[i % cases.len()];
        let cx = context(case, true);
        let started = Instant::now();
        let request = prompt::request(&case.action, &cx, budget);
        let parsed = verdict::parse(VERDICT).unwrap();
        let key = case.action.canonical();
        std::hint::black_box((&request, &parsed, &key));
        cpu.push(started.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "reviewer CPU per review (request with a heavy context, parse, key): median {:.1} µs, p95 {:.1} µs",
        percentile(&mut cpu, 0.5),
        percentile(&mut cpu, 0.95)
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = ScriptedModel::start(
            Script {
                scenarios: vec![Scenario {
                    when: "Review this action".into(),
                    steps: vec![Step::Say(VERDICT.into())],
                }],
            },
            None,
        )
        .await
        .unwrap();
        let client = ModelClient::new(
            &server.base_url,
            "reviewer",
            warden_protocol::WireApi::Responses,
            None,
        )
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        });
        let limits = Limits {
            max_reviews: u32::MAX,
            max_tokens: u64::MAX,
            ..Limits::from(&AutoReviewConfig::default())
        };
        let reviewer = Reviewer::new(client.clone(), limits);
        let (mut full, mut bare) = (Vec::new(), Vec::new());
        for i in 0..rounds {
            let case = &cases[i % cases.len()];
            let cx = context(case, false);
            // The bare request the reviewer makes, built outside the timing.
            let request = prompt::request(&case.action, &cx, budget);
            let items = vec![Item::User(request.user.clone())];
            let started = Instant::now();
            let turn = TurnRequest {
                instructions: request.instructions,
                items: &items,
                tools: &[],
            };
            client.stream_turn(&turn, |_| {}).await.unwrap();
            bare.push(started.elapsed().as_secs_f64() * 1e6);
            // The whole review, with a key of its own so the cache never answers.
            let started = Instant::now();
            let review = reviewer.review(&case.action, &cx, &format!("{i}")).await;
            full.push(started.elapsed().as_secs_f64() * 1e6);
            assert!(!review.cached);
        }
        let (full_median, bare_median) = (percentile(&mut full, 0.5), percentile(&mut bare, 0.5));
        println!(
            "a review against a local model: median {full_median:.0} µs (p95 {:.0}); the bare model request: median {bare_median:.0} µs (p95 {:.0}); the reviewer's own time: {:.0} µs ({rounds} rounds, alternating)",
            percentile(&mut full, 0.95),
            percentile(&mut bare, 0.95),
            full_median - bare_median
        );
    });
}
