//! `warden review eval`: a labelled corpus through the same path a session's questions
//! take (the policy's decision, the router, the rules tier, the reviewer model when asked
//! for), and how it came out per kind: routine work approved without a person, risky work
//! approved (false approvals, each named), and what went to a person.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_policy::config::McpApproval;
use warden_policy::layers::EffectivePolicy;
use warden_policy::router::{Question, QuestionKind, ReviewMode, Route, RulesTier};
use warden_policy::rules::HostDecision;
use warden_policy::{ActionRequest, DecisionContext, decide};
use warden_protocol::{PolicySource, Verdict};

use crate::action::Action;
use crate::prompt::{Context, Evidence};
use crate::reviewer::{Review, Reviewer, Said};
use crate::settle::settle;

/// One labelled case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub label: Label,
    pub action: Action,
    #[serde(default)]
    pub context: CaseContext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Routine,
    Risky,
}

/// What the person asked and what recent tools returned, for the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseContext {
    #[serde(default)]
    pub prompts: Vec<String>,
    #[serde(default)]
    pub recent: Vec<Evidence>,
}

/// A corpus line that is not a case, with where.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CaseError {
    pub line: usize,
    pub message: String,
}

/// Read a corpus: one JSON case per line (blank lines and `//` comments skipped); ids
/// must be unique.
pub fn read_cases(text: &str) -> Result<Vec<Case>, CaseError> {
    let mut cases: Vec<Case> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let case: Case = serde_json::from_str(trimmed).map_err(|e| CaseError {
            line: n + 1,
            message: e.to_string(),
        })?;
        if cases.iter().any(|c| c.id == case.id) {
            return Err(CaseError {
                line: n + 1,
                message: format!("the id {:?} is used twice", case.id),
            });
        }
        cases.push(case);
    }
    Ok(cases)
}

/// How a case came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Ran without a person: allowed by the policy or approved by auto-review.
    Approved,
    /// Went to a person.
    Asked,
    /// Refused without asking.
    Refused,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    pub id: String,
    pub label: Label,
    pub kind: &'static str,
    pub outcome: Outcome,
    /// What settled it: `policy` (a rule or the policy's default), `rules` (auto-review's
    /// rules tier), `model` (the reviewer model), `person`.
    pub tier: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Tokens the reviewer model used on it (0 when it was not asked).
    #[serde(skip_serializing_if = "is_zero")]
    pub tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counts for one kind of action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindSummary {
    pub routine: u32,
    /// Routine cases that ran without a person.
    pub routine_approved: u32,
    pub risky: u32,
    /// Risky cases that ran without a person: false approvals.
    pub risky_approved: u32,
    /// Cases that went to a person.
    pub asked: u32,
    pub refused: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub kinds: BTreeMap<String, KindSummary>,
    pub total: KindSummary,
    /// The ids of risky cases approved without a person.
    pub false_approvals: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    pub results: Vec<CaseResult>,
    pub summary: Summary,
}

/// What the evaluation runs with.
pub struct EvalSetup<'a> {
    /// The effective policy, as a session in `workspace` would have it.
    pub policy: &'a EffectivePolicy,
    /// Where relative paths and commands without a `cwd` are taken to be.
    pub workspace: PathBuf,
    /// The tiers that may answer (`--tier rules`: `Rules`, `--tier model`: `Model`).
    pub mode: ReviewMode,
    /// The reviewer model, for `Model`; or why there is none.
    pub reviewer: Result<&'a Reviewer, String>,
}

/// Run every case.
pub async fn run(cases: &[Case], setup: &EvalSetup<'_>) -> EvalReport {
    let mut report = EvalReport::default();
    for case in cases {
        let result = run_case(case, setup).await;
        report.summary.add(case, &result);
        report.results.push(result);
    }
    report
}

impl Summary {
    fn add(&mut self, case: &Case, result: &CaseResult) {
        for counts in [
            self.kinds.entry(result.kind.to_string()).or_default(),
            &mut self.total,
        ] {
            let approved = result.outcome == Outcome::Approved;
            match case.label {
                Label::Routine => {
                    counts.routine += 1;
                    counts.routine_approved += u32::from(approved);
                }
                Label::Risky => {
                    counts.risky += 1;
                    counts.risky_approved += u32::from(approved);
                }
            }
            counts.asked += u32::from(result.outcome == Outcome::Asked);
            counts.refused += u32::from(result.outcome == Outcome::Refused);
        }
        if case.label == Label::Risky && result.outcome == Outcome::Approved {
            self.false_approvals.push(case.id.clone());
        }
    }
}

/// A decision the policy makes before any question.
enum Before {
    Allowed,
    Refused(Vec<String>),
    Question(QuestionKind, RulesTier, Vec<String>, Vec<String>),
}

/// How one action came out: approved without a person, asked, or refused; what
/// settled it; Warden's own reasons; and the reviewer model's review, when asked.
#[derive(Debug, Clone)]
pub struct Settled {
    pub outcome: Outcome,
    /// `policy`, `rules`, `model` or `person`.
    pub tier: &'static str,
    pub reasons: Vec<String>,
    pub review: Option<Review>,
}

/// Settle `action` as a session in `setup.workspace` would, with what the person asked
/// (`context`): the policy's decision, the router, the rules tier, and the reviewer model
/// when the route asks for it. `key` is the reviewer's cache key.
pub async fn settle_action(
    action: &Action,
    context: &CaseContext,
    key: &str,
    setup: &EvalSetup<'_>,
) -> Settled {
    let policy = setup.policy;
    let (kind, tier, reasons, findings) = match before_any_question(action, setup) {
        Before::Allowed => {
            return Settled {
                outcome: Outcome::Approved,
                tier: "policy",
                reasons: Vec::new(),
                review: None,
            };
        }
        Before::Refused(reasons) => {
            return Settled {
                outcome: Outcome::Refused,
                tier: "policy",
                reasons,
                review: None,
            };
        }
        Before::Question(kind, tier, reasons, findings) => (kind, tier, reasons, findings),
    };
    let approvals = &policy.config.approvals;
    let question = Question {
        kind,
        policy: policy.config.approval,
        category: match kind {
            QuestionKind::Escalation => approvals.escalation,
            QuestionKind::Network => approvals.network,
            _ => approvals.commands,
        },
        person_available: true,
        mode: setup.mode,
        escalations: policy.config.auto_review.escalations,
        rules_tier: tier.clone(),
        review: None,
    };
    let mut shown = reasons.clone();
    if let RulesTier::Approves(why) = &tier {
        shown.push(why.clone());
    }
    let script = match action {
        Action::Shell { argv, cwd, .. } => {
            let cwd = cwd.as_ref().map_or_else(
                || setup.workspace.clone(),
                |c| absolute(&setup.workspace, c),
            );
            crate::script::read_script(argv, &cwd, &setup.workspace)
        }
        _ => None,
    };
    let cx = || Context {
        reasons,
        findings,
        prompts: context.prompts.clone(),
        recent: context.recent.clone(),
        script,
    };
    let reviewer = setup.reviewer.as_ref().map_err(String::as_str).copied();
    let (route, review) = settle(question, reviewer, action, cx, key).await;
    let (outcome, tier) = match route {
        Route::Approve { .. } if review.is_some() => (Outcome::Approved, "model"),
        Route::Approve { .. } => (Outcome::Approved, "rules"),
        Route::Refuse { why, .. } => {
            shown.push(why);
            (Outcome::Refused, "policy")
        }
        Route::AskPerson | Route::Review => (Outcome::Asked, "person"),
    };
    Settled {
        outcome,
        tier,
        reasons: shown,
        review,
    }
}

async fn run_case(case: &Case, setup: &EvalSetup<'_>) -> CaseResult {
    let settled = settle_action(&case.action, &case.context, &case.id, setup).await;
    let mut result = CaseResult {
        id: case.id.clone(),
        label: case.label,
        kind: case.action.kind(),
        outcome: settled.outcome,
        tier: settled.tier,
        risk: None,
        rationale: None,
        tokens: 0,
    };
    if let Some(review) = &settled.review {
        result.tokens = review.tokens_in + review.tokens_out;
        match &review.said {
            Said::Verdict(v) => {
                result.risk = Some(v.risk.as_str().to_string());
                result.rationale = Some(v.rationale.clone());
            }
            Said::Unavailable(why) => result.rationale = Some(format!("unavailable: {why}")),
        }
    }
    result
}

/// What Warden's policy makes of the action before anyone is asked.
fn before_any_question(action: &Action, setup: &EvalSetup<'_>) -> Before {
    let policy = setup.policy;
    let workspace = &setup.workspace;
    let roots = [workspace.clone()];
    let cx = DecisionContext {
        policy: policy.config.approval,
        sandbox: policy.config.sandbox,
        sandbox_enforced: true,
        workspace,
        writable_roots: &roots,
        rules: &policy.rules,
        sensitive_edits: policy.config.approvals.sensitive_edits,
    };
    let reasons_of = |decision: &warden_policy::Decision| -> Vec<String> {
        decision
            .reasons
            .iter()
            .map(|r| format!("{} [{} from {}]", r.justification, r.rule, r.source))
            .collect()
    };
    let question = |kind, decision: &warden_policy::Decision| {
        let reasons = reasons_of(decision);
        let findings = decision
            .risk
            .as_ref()
            .map(|r| r.findings.iter().map(|f| f.why.clone()).collect())
            .unwrap_or_default();
        Before::Question(kind, RulesTier::of(decision), reasons, findings)
    };
    let by_verdict = |kind, decision: warden_policy::Decision| match decision.verdict {
        Verdict::Allow => Before::Allowed,
        Verdict::Forbidden => Before::Refused(reasons_of(&decision)),
        Verdict::Prompt => question(kind, &decision),
    };
    match action {
        Action::Shell {
            argv,
            cwd,
            escalate,
        } => {
            let cwd = cwd
                .as_ref()
                .map_or_else(|| workspace.clone(), |c| absolute(workspace, c));
            let decision = decide(ActionRequest::Shell { argv, cwd: &cwd }, &cx);
            if decision.verdict == Verdict::Forbidden {
                return Before::Refused(reasons_of(&decision));
            }
            if *escalate {
                let reasons = vec![format!(
                    "a rerun outside the sandbox (with write access beyond the workspace) [escalation]"
                )];
                return Before::Question(
                    QuestionKind::Escalation,
                    RulesTier::Unsettled,
                    reasons,
                    Vec::new(),
                );
            }
            by_verdict(QuestionKind::Command, decision)
        }
        Action::Patch { files } => {
            let paths: Vec<PathBuf> = files.iter().map(|f| absolute(workspace, &f.path)).collect();
            let diffs: Vec<String> = files.iter().map(|f| f.diff.clone()).collect();
            let decision = decide(
                ActionRequest::Write {
                    paths: &paths,
                    diffs: &diffs,
                },
                &cx,
            );
            by_verdict(QuestionKind::FileEdit, decision)
        }
        Action::Mcp { server, tool, .. } => {
            let (approval, rule) = match policy.config.mcp_servers.get(server) {
                Some(config) => config.tool_approval(server, tool),
                None => (McpApproval::Ask, format!("mcp_servers.{server}.approval")),
            };
            let source = policy
                .values
                .iter()
                .find(|v| v.key == rule)
                .or_else(|| {
                    policy
                        .values
                        .iter()
                        .find(|v| v.key == format!("mcp_servers.{server}"))
                })
                .map_or(PolicySource::BuiltIn, |v| v.source.clone());
            let decision = decide(
                ActionRequest::McpTool {
                    server,
                    tool,
                    approval,
                    rule: &rule,
                    source: &source,
                },
                &cx,
            );
            by_verdict(QuestionKind::McpCall, decision)
        }
        Action::Network { host, port, .. } => network(policy, host, *port),
    }
}

/// A connection as the egress proxy decides it (the same host policy, built from the
/// same effective policy): allowed or refused by an admin list, a rule or a setting, or a
/// question.
fn network(policy: &EffectivePolicy, host: &str, port: u16) -> Before {
    let hosts = match warden_proxy::HostPolicy::from_effective(policy) {
        Ok(hosts) => hosts,
        Err(e) => return Before::Refused(vec![e.to_string()]),
    };
    let verdict = hosts.decide(host, port, None);
    match verdict.decision {
        HostDecision::Allow => Before::Allowed,
        HostDecision::Deny => Before::Refused(vec![match verdict.source {
            Some(source) => format!("{host}:{port} is denied by {source}"),
            None => format!("{host}:{port}: unknown hosts are refused"),
        }]),
        HostDecision::Ask => {
            let reason = match &verdict.source {
                Some(source) => {
                    format!("a network rule from {source} says to ask for {host}:{port}")
                }
                None => format!("no rule allows {host}:{port} [network.unknown]"),
            };
            let tier = RulesTier::of_network(verdict.source.is_some(), host);
            Before::Question(QuestionKind::Network, tier, vec![reason], Vec::new())
        }
    }
}

fn absolute(workspace: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        workspace.join(p)
    }
}
