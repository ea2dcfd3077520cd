//! The reviewer model: asked about one action at a time, within a timeout, with one retry
//! when its answer is not a valid verdict. Per session it keeps a budget of reviews and
//! tokens, a cache of verdicts per action (and folder and policy version), and a circuit
//! breaker: after three unavailable reviews in a row it is not called for a while. An
//! unavailable review is never a verdict: the question goes to the person.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use warden_model::{Item, ModelClient, RetryPolicy, TurnRequest};
use warden_policy::config::AutoReviewConfig;
use warden_policy::router::ReviewSaid;

use crate::action::Action;
use crate::prompt::{self, Context, estimate_tokens};
use crate::verdict::{self, Outcome, Verdict};

/// Unavailable reviews in a row that pause the reviewer.
const BREAKER_FAILURES: u32 = 3;
/// How long it stays paused.
const BREAKER_PAUSE: Duration = Duration::from_secs(300);

/// The limits a session's reviewer works within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_reviews: u32,
    pub max_tokens: u64,
    pub context_tokens: u64,
}

impl From<&AutoReviewConfig> for Limits {
    fn from(c: &AutoReviewConfig) -> Self {
        Self {
            timeout: Duration::from_secs(c.timeout_secs.max(1)),
            max_reviews: c.max_reviews,
            max_tokens: c.max_tokens,
            context_tokens: c.context_tokens.max(500),
        }
    }
}

/// What the reviewer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Verdict(Verdict),
    /// Why there is no verdict (`timeout after 20 s`, an HTTP error, an invalid answer,
    /// a spent budget, paused).
    Unavailable(String),
}

/// One review: what was said, by which model, at what cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub said: Said,
    pub model: String,
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Answered from the cache (no request made).
    pub cached: bool,
}

impl Review {
    /// What the router hears.
    pub fn router_said(&self) -> ReviewSaid {
        match &self.said {
            Said::Verdict(v) => match v.outcome {
                Outcome::Approve => ReviewSaid::Approve(v.rationale.clone()),
                Outcome::Ask => ReviewSaid::Ask(v.rationale.clone()),
                Outcome::Deny => ReviewSaid::Deny(v.rationale.clone()),
            },
            Said::Unavailable(why) => ReviewSaid::Unavailable(why.clone()),
        }
    }

    /// A review that was never made (no reviewer could be set up).
    pub fn unavailable(model: &str, why: impl Into<String>) -> Self {
        Self {
            said: Said::Unavailable(why.into()),
            model: model.to_string(),
            latency_ms: 0,
            tokens_in: 0,
            tokens_out: 0,
            cached: false,
        }
    }
}

/// What a session's reviewer has spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    pub reviews: u32,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

#[derive(Default)]
struct State {
    spent: Spent,
    failures_in_row: u32,
    paused_until: Option<Instant>,
    cache: HashMap<String, Verdict>,
}

/// A session's reviewer.
pub struct Reviewer {
    client: ModelClient,
    limits: Limits,
    state: Mutex<State>,
}

impl Reviewer {
    /// A reviewer asking `client` (its retries are turned off: a failure is answered by
    /// the person, not waited out).
    pub fn new(client: ModelClient, limits: Limits) -> Self {
        let client = client.with_retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        });
        Self {
            client,
            limits,
            state: Mutex::new(State::default()),
        }
    }

    pub fn model(&self) -> &str {
        self.client.model()
    }

    pub fn spent(&self) -> Spent {
        self.lock().spent
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Review `action`. `key` identifies it for the cache (the action, its folder and the
    /// policy's version): the same key within a session gets the same verdict.
    pub async fn review(&self, action: &Action, cx: &Context, key: &str) -> Review {
        let model = self.client.model().to_string();
        {
            let state = self.lock();
            if let Some(v) = state.cache.get(key) {
                return Review {
                    said: Said::Verdict(v.clone()),
                    model,
                    latency_ms: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cached: true,
                };
            }
            if let Some(until) = state.paused_until.filter(|u| *u > Instant::now()) {
                let secs = until.saturating_duration_since(Instant::now()).as_secs();
                return Review::unavailable(
                    &model,
                    format!(
                        "paused after {BREAKER_FAILURES} unavailable reviews in a row; it is asked again in {secs} s"
                    ),
                );
            }
            if state.spent.reviews >= self.limits.max_reviews {
                return Review::unavailable(
                    &model,
                    format!(
                        "budget spent: {} reviews this session",
                        self.limits.max_reviews
                    ),
                );
            }
            let tokens = state.spent.tokens_in + state.spent.tokens_out;
            if tokens >= self.limits.max_tokens {
                return Review::unavailable(
                    &model,
                    format!(
                        "budget spent: {tokens} of {} tokens this session",
                        self.limits.max_tokens
                    ),
                );
            }
        }
        let request = prompt::request(action, cx, self.limits.context_tokens);
        let started = Instant::now();
        let mut tokens = (0u64, 0u64);
        let asked =
            tokio::time::timeout(self.limits.timeout, self.ask(&request, &mut tokens)).await;
        let said = match asked {
            Ok(said) => said,
            Err(_) => {
                // What was sent still counts against the budget.
                tokens.0 = tokens.0.max(request.tokens());
                Said::Unavailable(format!("timeout after {} s", self.limits.timeout.as_secs()))
            }
        };
        let review = Review {
            said,
            model,
            latency_ms: started.elapsed().as_millis() as u64,
            tokens_in: tokens.0,
            tokens_out: tokens.1,
            cached: false,
        };
        self.account(key, &review);
        review
    }

    /// Ask, retrying once when the answer is not a valid verdict. `tokens` counts what
    /// was spent as it goes, so a timeout still accounts for it.
    async fn ask(&self, request: &prompt::Request, tokens: &mut (u64, u64)) -> Said {
        let mut items = vec![Item::User(request.user.clone())];
        for attempt in 0..2 {
            let turn = TurnRequest {
                instructions: request.instructions,
                items: &items,
                tools: &[],
            };
            let output = match self.client.stream_turn(&turn, |_| {}).await {
                Ok(output) => output,
                Err(e) => return Said::Unavailable(format!("{e} ({})", e.code())),
            };
            let (used_in, used_out) = match output.usage {
                Some(u) => (u.input_tokens, u.output_tokens),
                None => (
                    request.tokens() + items.iter().skip(1).map(item_tokens).sum::<u64>(),
                    estimate_tokens(&output.text),
                ),
            };
            tokens.0 += used_in;
            tokens.1 += used_out;
            match verdict::parse(&output.text) {
                Ok(v) => return Said::Verdict(v),
                Err(e) if attempt == 0 => {
                    items.push(Item::Assistant(prompt::clip(&output.text, 2_000)));
                    items.push(Item::User(format!(
                        "That answer is not valid ({e}). Answer with exactly one JSON object of the four fields, and nothing else."
                    )));
                }
                Err(e) => return Said::Unavailable(format!("invalid verdict, twice: {e}")),
            }
        }
        Said::Unavailable("no verdict".into())
    }

    fn account(&self, key: &str, review: &Review) {
        let mut state = self.lock();
        state.spent.reviews += 1;
        state.spent.tokens_in += review.tokens_in;
        state.spent.tokens_out += review.tokens_out;
        match &review.said {
            Said::Verdict(v) => {
                state.failures_in_row = 0;
                state.cache.insert(key.to_string(), v.clone());
            }
            Said::Unavailable(_) => {
                state.failures_in_row += 1;
                if state.failures_in_row >= BREAKER_FAILURES {
                    state.paused_until = Some(Instant::now() + BREAKER_PAUSE);
                    state.failures_in_row = 0;
                    tracing::warn!(
                        "auto-review paused: {BREAKER_FAILURES} reviews in a row were unavailable"
                    );
                }
            }
        }
    }
}

fn item_tokens(item: &Item) -> u64 {
    match item {
        Item::User(t) | Item::Assistant(t) => estimate_tokens(t),
        _ => 0,
    }
}
