//! The session's side of auto-review: a question settled through the router and, when it
//! says so, the reviewer model (`warden_review::settle`, the path `warden review eval`
//! measures); what the reviewer is shown (the action as data, Warden's reasons, the
//! person's prompts, recent tool activity as untrusted evidence, a script the command
//! runs); and the `autoReview` event that records each review.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use warden_policy::Decision;
use warden_policy::router::{Question, QuestionKind, Route, RulesTier};
use warden_protocol::{
    EventMsg, ReviewOutcome, ReviewRisk, ReviewTier, ReviewerNote, UserAuthorized,
};
use warden_review::reviewer::{Review, Said};
use warden_review::{Action, Context, Evidence, PatchFile, PatchOp, Reviewer};

use super::{Session, Stop};
use crate::model::Item;
use crate::tools::ToolInvocation;
use crate::tools::apply_patch::EditOp;

/// Recent tool calls kept as evidence for the reviewer.
const RECENT_CALLS: usize = 12;

/// The session's reviewer model, or why it has none (auto-review is not in `model`
/// mode, or the reviewer could not be set up).
pub(crate) type SessionReviewer = Result<Arc<Reviewer>, String>;

/// Recent tool activity: each call as Warden summarises it and what it returned.
#[derive(Default)]
pub(super) struct Recent(VecDeque<Evidence>);

impl Recent {
    pub fn push(&mut self, call: String, output: &str) {
        if self.0.len() == RECENT_CALLS {
            self.0.pop_front();
        }
        // Kept short here; the prompt cuts it to its budget.
        let output = if output.len() > 4096 {
            let mut end = 4096;
            while !output.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &output[..end])
        } else {
            output.to_string()
        };
        self.0.push_back(Evidence { call, output });
    }
}

/// What a question is about, for the reviewer.
pub(super) struct Subject {
    pub call_id: String,
    pub kind: QuestionKind,
    pub tier: RulesTier,
    /// The action as the reviewer sees it; `None` for what it does not review (reads),
    /// which then only a person answers.
    pub action: Option<Action>,
    pub reasons: Vec<String>,
    pub findings: Vec<String>,
    pub script: Option<(String, String)>,
}

impl Subject {
    /// A tool call's question, from the policy's decision.
    pub fn of_decision(
        call_id: &str,
        kind: QuestionKind,
        decision: &Decision,
        action: Option<Action>,
    ) -> Self {
        Self {
            call_id: call_id.to_string(),
            kind,
            tier: RulesTier::of(decision),
            action,
            reasons: decision
                .reasons
                .iter()
                .map(|r| format!("{} [{} from {}]", r.justification, r.rule, r.source))
                .collect(),
            findings: decision
                .risk
                .as_ref()
                .map(|r| {
                    r.findings
                        .iter()
                        .map(|f| format!("{}: {}", f.level.as_str(), f.why))
                        .collect()
                })
                .unwrap_or_default(),
            script: None,
        }
    }
}

impl Session {
    /// The question for `kind`, with this session's policy, settings and person.
    pub(super) fn question(&self, kind: QuestionKind, rules_tier: RulesTier) -> Question {
        let approvals = &self.config.approvals;
        let category = match kind {
            QuestionKind::Command | QuestionKind::McpCall | QuestionKind::FileEdit => {
                approvals.commands
            }
            QuestionKind::Escalation => approvals.escalation,
            QuestionKind::Network => approvals.network,
        };
        Question {
            kind,
            policy: self.approval,
            category,
            person_available: self.interactive,
            mode: self.config.auto_review.mode,
            escalations: self.config.auto_review.escalations,
            rules_tier,
            review: None,
        }
    }

    /// Settle a question: the route, asking the reviewer model when it says so (while
    /// still answering an interrupt), and what the reviewer said for the person's card.
    /// Each review, and each approval by the rules tier, is recorded as `autoReview`.
    pub(super) async fn settle(
        &mut self,
        subject: Subject,
    ) -> Result<(Route, Option<ReviewerNote>), Stop> {
        let (question, asked, input) = self.prepare(subject);
        let Some(input) = input else {
            return self.settled_by_rules(question, &asked).await;
        };
        let settled = self
            .interruptible(async move { input.settle(question).await })
            .await?;
        self.after_review(&asked, settled).await
    }

    /// The same, for questions raised while a command runs (the proxy's): the review is
    /// awaited directly, bounded by its own timeout.
    pub(super) async fn settle_now(
        &mut self,
        subject: Subject,
    ) -> Result<(Route, Option<ReviewerNote>), Stop> {
        let (question, asked, input) = self.prepare(subject);
        let Some(input) = input else {
            return self.settled_by_rules(question, &asked).await;
        };
        let settled = input.settle(question).await;
        self.after_review(&asked, settled).await
    }

    /// The question, what it is about, and what the reviewer is to be given when the
    /// route says to ask it.
    fn prepare(&self, subject: Subject) -> (Question, Asked, Option<ReviewInput>) {
        let mut tier = subject.tier;
        if subject.action.is_none() && tier == RulesTier::Unsettled {
            tier = RulesTier::PersonOnly;
        }
        let question = self.question(subject.kind, tier);
        let asked = Asked {
            call_id: subject.call_id,
            action: subject.action,
        };
        let action = match &asked.action {
            Some(action) if warden_policy::router::route(&question) == Route::Review => {
                action.clone()
            }
            _ => return (question, asked, None),
        };
        let context = Context {
            reasons: subject.reasons,
            findings: subject.findings,
            prompts: self
                .history
                .iter()
                .filter_map(|item| match item {
                    Item::User(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            recent: self.recent.0.iter().cloned().collect(),
            script: subject.script,
        };
        let key = format!(
            "{}\n{}\n{}",
            action.canonical(),
            self.cwd.display(),
            self.policy_version
        );
        let input = ReviewInput {
            action,
            context,
            key,
            reviewer: self.reviewer.clone(),
        };
        (question, asked, Some(input))
    }

    /// A question the router settled without the reviewer model; an approval by the
    /// rules tier is recorded.
    async fn settled_by_rules(
        &mut self,
        question: Question,
        asked: &Asked,
    ) -> Result<(Route, Option<ReviewerNote>), Stop> {
        let route = warden_policy::router::route(&question);
        if let Route::Approve { why, .. } = &route {
            self.record(asked.event(ReviewTier::Rules, |e| {
                e.outcome = Some(ReviewOutcome::Approve);
                e.risk = Some(ReviewRisk::Low);
                e.rationale = Some(why.clone());
            }))
            .await?;
        }
        Ok((route, None))
    }

    async fn after_review(
        &mut self,
        asked: &Asked,
        (route, review): (Route, Option<Review>),
    ) -> Result<(Route, Option<ReviewerNote>), Stop> {
        let Some(review) = review else {
            return Ok((route, None));
        };
        let (outcome, risk, user_authorized, rationale, unavailable) = match &review.said {
            Said::Verdict(v) => (
                Some(v.outcome),
                Some(v.risk),
                Some(v.user_authorized),
                Some(v.rationale.clone()),
                None,
            ),
            Said::Unavailable(why) => (None, None, None, None, Some(why.clone())),
        };
        self.record(asked.event(ReviewTier::Model, |e| {
            e.model = Some(review.model.clone()).filter(|m| !m.is_empty());
            e.outcome = outcome;
            e.risk = risk;
            e.user_authorized = user_authorized;
            e.rationale = rationale.clone();
            e.unavailable = unavailable.clone();
            e.latency_ms = review.latency_ms;
            e.tokens_in = review.tokens_in;
            e.tokens_out = review.tokens_out;
            e.cached = review.cached;
        }))
        .await?;
        let note = ReviewerNote {
            model: review.model,
            outcome,
            risk,
            rationale,
            unavailable,
        };
        Ok((route, Some(note)))
    }

    /// The action a tool call asks for, as the reviewer sees it; `None` for reads (a
    /// person answers those).
    pub(super) fn review_action(&self, invocation: &ToolInvocation) -> Option<Action> {
        match invocation {
            ToolInvocation::Shell { argv, workdir, .. } => Some(Action::Shell {
                argv: argv.clone(),
                cwd: Some(self.shown_path(workdir)),
                escalate: false,
            }),
            ToolInvocation::ApplyPatch { patch } => Some(Action::Patch {
                files: patch
                    .files()
                    .into_iter()
                    .map(|f| PatchFile {
                        path: self.shown_path(&f.path),
                        op: match f.op {
                            EditOp::Add => PatchOp::Add,
                            EditOp::Update => PatchOp::Update,
                            EditOp::Delete => PatchOp::Delete,
                        },
                        diff: f.diff,
                    })
                    .collect(),
            }),
            ToolInvocation::Mcp {
                server,
                tool,
                arguments,
            } => Some(Action::Mcp {
                server: server.clone(),
                tool: tool.clone(),
                arguments: arguments.clone(),
                annotations: self.mcp.server(server).and_then(|s| s.annotations(tool)),
            }),
            ToolInvocation::ReadFile { .. } | ToolInvocation::ListDir { .. } => None,
        }
    }

    /// A path as the reviewer is shown it: relative to the workspace inside it.
    pub(super) fn shown_path(&self, path: &Path) -> String {
        match path.strip_prefix(&self.cwd) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }

    /// The script a command runs from the workspace, for the reviewer.
    pub(super) fn script_for(&self, invocation: &ToolInvocation) -> Option<(String, String)> {
        match invocation {
            ToolInvocation::Shell { argv, workdir, .. } => {
                warden_review::script::read_script(argv, workdir, &self.cwd)
            }
            _ => None,
        }
    }
}

/// What a settled question was about, for its record.
pub(super) struct Asked {
    call_id: String,
    action: Option<Action>,
}

/// The fields of an `autoReview` event past the action's.
#[derive(Default)]
struct Fields {
    model: Option<String>,
    outcome: Option<ReviewOutcome>,
    risk: Option<ReviewRisk>,
    user_authorized: Option<UserAuthorized>,
    rationale: Option<String>,
    unavailable: Option<String>,
    latency_ms: u64,
    tokens_in: u64,
    tokens_out: u64,
    cached: bool,
}

impl Asked {
    /// The `autoReview` event for this question, filled in by `fill`.
    fn event(&self, tier: ReviewTier, fill: impl FnOnce(&mut Fields)) -> EventMsg {
        let mut f = Fields::default();
        fill(&mut f);
        let action = self.action.as_ref();
        EventMsg::AutoReview {
            call_id: self.call_id.clone(),
            tier,
            kind: action.map_or("shell", Action::kind).into(),
            summary: action.map(Action::summary).unwrap_or_default(),
            action: action
                .and_then(|a| serde_json::to_value(a).ok())
                .unwrap_or_default(),
            model: f.model,
            outcome: f.outcome,
            risk: f.risk,
            user_authorized: f.user_authorized,
            rationale: f.rationale,
            unavailable: f.unavailable,
            latency_ms: f.latency_ms,
            tokens_in: f.tokens_in,
            tokens_out: f.tokens_out,
            cached: f.cached,
        }
    }
}

/// What the reviewer is given for one question.
struct ReviewInput {
    action: Action,
    context: Context,
    /// The cache key: the action, the folder, the policy's version.
    key: String,
    reviewer: SessionReviewer,
}

impl ReviewInput {
    async fn settle(self, question: Question) -> (Route, Option<Review>) {
        let reviewer = self.reviewer.as_deref().map_err(String::as_str);
        let context = self.context;
        warden_review::settle(question, reviewer, &self.action, || context, &self.key).await
    }
}
