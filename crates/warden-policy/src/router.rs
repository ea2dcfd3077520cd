//! Who answers a question: the one place that decides, for every kind of question a
//! session can raise (a command or MCP call a rule or the policy prompted for, a rerun
//! with more access after the sandbox blocked a write, a connection to a host no rule
//! covers, an edit to a sensitive file), whether it is refused without asking, approved
//! by auto-review (its rules tier, or its reviewer model), or put to a person. Pure: the
//! session gathers the facts, asks here, asks the reviewer when told to and asks here
//! again with what it said, then does what the route says.

use warden_protocol::{Actor, ApprovalPolicy};

use crate::config::CategoryApproval;

/// The kind of question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuestionKind {
    /// A command a rule or the approval policy prompted for.
    Command,
    /// A tool call to an MCP server that asks first.
    McpCall,
    /// Rerunning a command with write access to folders the sandbox blocked.
    Escalation,
    /// A connection to a host no network rule covers.
    Network,
    /// An edit to a sensitive file.
    FileEdit,
}

impl QuestionKind {
    pub const ALL: [QuestionKind; 5] = [
        Self::Command,
        Self::McpCall,
        Self::Escalation,
        Self::Network,
        Self::FileEdit,
    ];

    /// The `[approvals]` setting that governs it.
    pub fn category_key(self) -> &'static str {
        match self {
            Self::Command | Self::McpCall | Self::FileEdit => "approvals.commands",
            Self::Escalation => "approvals.escalation",
            Self::Network => "approvals.network",
        }
    }
}

/// What auto-review's rules tier says about the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesTier {
    /// It approves (a low-risk command only the policy's default prompted for, a
    /// well-known package registry), with its reason.
    Approves(String),
    /// It does not settle it; the reviewer model may.
    Unsettled,
    /// Only a person may answer: a rule's prompt, a dangerous finding, an admin
    /// requirement.
    PersonOnly,
}

impl RulesTier {
    /// The rules tier's word on a decision that prompted: it approves only a prompt the
    /// approval policy's default raised (no rule, no dangerous finding, nothing
    /// unresolved) on a low-risk command; a prompt from a rules file or an admin
    /// requirement, a dangerous finding, or no sandbox at all leave it to a person;
    /// anything else (built-in reasons such as a sensitive edit, a setting such as an
    /// MCP server's `approval = "ask"`) the reviewer model may answer.
    pub fn of(decision: &crate::Decision) -> Self {
        if let Some(risk) = &decision.risk
            && decision.reviewable
            && risk.level == crate::risk::RiskLevel::Low
        {
            return Self::Approves(format!("auto-review: {}", risk.line()));
        }
        // A rules file's prompt or an admin requirement's is a person's to answer; a
        // setting (an MCP server's `approval = "ask"`) the reviewer model may answer.
        let from_a_rule = decision.reasons.iter().any(|r| {
            matches!(
                r.source,
                warden_protocol::PolicySource::UserRules { .. }
                    | warden_protocol::PolicySource::ProjectRules { .. }
                    | warden_protocol::PolicySource::Requirement { .. }
            )
        });
        let dangerous = decision
            .risk
            .as_ref()
            .is_some_and(|r| r.dangerous().next().is_some());
        let unsandboxed = decision.reasons.iter().any(|r| r.rule == "no-sandbox");
        if from_a_rule || dangerous || unsandboxed {
            Self::PersonOnly
        } else {
            Self::Unsettled
        }
    }
}

impl RulesTier {
    /// The rules tier's word on a connection the network policy asks about: a rule that
    /// says to ask leaves it to a person; a well-known package registry it approves;
    /// any other host no rule covers it leaves to the reviewer model.
    pub fn of_network(asked_by_a_rule: bool, host: &str) -> Self {
        if asked_by_a_rule {
            Self::PersonOnly
        } else if crate::network::is_package_registry(host) {
            Self::Approves("auto-review: a well-known package registry".into())
        } else {
            Self::Unsettled
        }
    }
}

/// Which tiers of auto-review may answer (`auto_review`: off, rules, model).
pub use warden_protocol::AutoReviewMode as ReviewMode;

/// What the reviewer model said of a question it was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewSaid {
    Approve(String),
    Ask(String),
    Deny(String),
    /// It could not answer (a timeout, an error, an invalid verdict, a spent budget,
    /// paused after repeated failures): never a verdict, never an approval.
    Unavailable(String),
}

/// Everything the route depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub kind: QuestionKind,
    pub policy: ApprovalPolicy,
    /// The kind's `[approvals]` setting.
    pub category: CategoryApproval,
    /// Whether a person can be asked (a terminal, a window, a browser).
    pub person_available: bool,
    pub mode: ReviewMode,
    /// The reviewer model may answer requests to run outside the sandbox
    /// (`auto_review.escalations`).
    pub escalations: bool,
    pub rules_tier: RulesTier,
    /// What the reviewer model said, once asked.
    pub review: Option<ReviewSaid>,
}

/// What to do with a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Approved without a person, by `actor` (auto-review), for `why`.
    Approve { actor: Actor, why: String },
    /// Refused without asking anyone, by `actor` (the fail-closed default), for `why`.
    Refuse { actor: Actor, why: String },
    /// Ask the reviewer model, then route again with what it said.
    Review,
    /// Put to a person.
    AskPerson,
}

/// Where a question goes. In order: the approval policy `never` and a category set to
/// `deny` refuse it (auto-review included); auto-review's rules tier approves what it
/// settles; in `model` mode the reviewer model is asked what the rules tier leaves
/// unsettled (a rerun with more access only where `escalations` allows), and its approval
/// answers; everything else goes to a person, with the reviewer's verdict or why it was
/// unavailable, and with nobody to ask is refused saying why.
pub fn route(q: &Question) -> Route {
    let refuse = |why: String| Route::Refuse {
        actor: Actor::Default,
        why,
    };
    if q.policy == ApprovalPolicy::Never {
        return refuse(refusal(q.kind, Refusal::Never));
    }
    if q.category == CategoryApproval::Deny {
        return refuse(refusal(q.kind, Refusal::Category));
    }
    if q.mode != ReviewMode::Off
        && q.kind != QuestionKind::Escalation
        && let RulesTier::Approves(why) = &q.rules_tier
    {
        return Route::Approve {
            actor: Actor::AutoReview,
            why: why.clone(),
        };
    }
    let model_may = q.mode == ReviewMode::Model
        && q.rules_tier != RulesTier::PersonOnly
        && (q.kind != QuestionKind::Escalation || q.escalations);
    match (&q.review, model_may) {
        (None, true) => return Route::Review,
        (Some(ReviewSaid::Approve(why)), true) => {
            return Route::Approve {
                actor: Actor::AutoReview,
                why: why.clone(),
            };
        }
        _ => {}
    }
    if !q.person_available {
        let mut why = refusal(q.kind, Refusal::Nobody);
        match &q.review {
            Some(ReviewSaid::Ask(r) | ReviewSaid::Deny(r)) if model_may => {
                let recommends = if matches!(q.review, Some(ReviewSaid::Deny(_))) {
                    "denying"
                } else {
                    "asking"
                };
                why = format!("{why}; auto-review recommends {recommends}: {r}");
            }
            Some(ReviewSaid::Unavailable(r)) if model_may => {
                why = format!("{why}; auto-review unavailable: {r}");
            }
            _ => {}
        }
        return refuse(why);
    }
    Route::AskPerson
}

enum Refusal {
    Never,
    Category,
    Nobody,
}

/// The words of a refusal, as recorded and as the agent and the client read them.
fn refusal(kind: QuestionKind, why: Refusal) -> String {
    match (kind, why) {
        (QuestionKind::Network, Refusal::Never) => "the approval policy is `never`".into(),
        (QuestionKind::Network, Refusal::Category) => "approvals.network is `deny`".into(),
        (QuestionKind::Network, Refusal::Nobody) => "nobody can be asked here (no terminal)".into(),
        (QuestionKind::Escalation, Refusal::Never) => {
            "the approval policy is `never`, so no rerun with more access is offered".into()
        }
        (QuestionKind::Escalation, Refusal::Category) => {
            "approvals.escalation is `deny`, so no rerun with more access is offered".into()
        }
        (QuestionKind::Escalation, Refusal::Nobody) => {
            "nobody can be asked for a rerun with more access here".into()
        }
        (_, Refusal::Never) => {
            "the approval policy is `never`, so actions needing approval are denied".into()
        }
        (_, Refusal::Category) => {
            "approvals.commands is `deny`, so commands needing approval are denied without asking"
                .into()
        }
        (_, Refusal::Nobody) => {
            "nobody can be asked for approval here (no terminal), so it is denied".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICIES: [ApprovalPolicy; 3] = [
        ApprovalPolicy::Untrusted,
        ApprovalPolicy::OnRequest,
        ApprovalPolicy::Never,
    ];
    const CATEGORIES: [CategoryApproval; 2] = [CategoryApproval::Ask, CategoryApproval::Deny];

    /// What the table expects, written as the rules a reader would state them, for every
    /// combination of the inputs.
    fn expected(q: &Question) -> &'static str {
        let approves = matches!(q.rules_tier, RulesTier::Approves(_));
        let model_may = q.mode == ReviewMode::Model
            && q.rules_tier != RulesTier::PersonOnly
            && (q.kind != QuestionKind::Escalation || q.escalations);
        if q.policy == ApprovalPolicy::Never || q.category == CategoryApproval::Deny {
            "refuse"
        } else if q.mode != ReviewMode::Off && approves && q.kind != QuestionKind::Escalation {
            "rules tier"
        } else if model_may && q.review.is_none() {
            "ask the model"
        } else if model_may && matches!(q.review, Some(ReviewSaid::Approve(_))) {
            "model approves"
        } else if !q.person_available {
            "refuse"
        } else {
            "person"
        }
    }

    const MODES: [ReviewMode; 3] = [ReviewMode::Off, ReviewMode::Rules, ReviewMode::Model];

    fn reviews() -> [Option<ReviewSaid>; 5] {
        [
            None,
            Some(ReviewSaid::Approve("routine".into())),
            Some(ReviewSaid::Ask("unclear".into())),
            Some(ReviewSaid::Deny("exfiltration".into())),
            Some(ReviewSaid::Unavailable("timeout after 20 s".into())),
        ]
    }

    #[test]
    fn every_combination_routes_as_the_table_says() {
        let mut rows = 0;
        for kind in QuestionKind::ALL {
            for policy in POLICIES {
                for category in CATEGORIES {
                    for person_available in [true, false] {
                        for mode in MODES {
                            for escalations in [true, false] {
                                for rules_tier in [
                                    RulesTier::Approves("low risk".into()),
                                    RulesTier::Unsettled,
                                    RulesTier::PersonOnly,
                                ] {
                                    for review in reviews() {
                                        let q = Question {
                                            kind,
                                            policy,
                                            category,
                                            person_available,
                                            mode,
                                            escalations,
                                            rules_tier: rules_tier.clone(),
                                            review,
                                        };
                                        assert_eq!(routed(&q), expected(&q), "{q:?}");
                                        rows += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(rows, 5 * 3 * 2 * 2 * 3 * 2 * 3 * 5);
    }

    /// The route in the table's words, checking who it names.
    fn routed(q: &Question) -> &'static str {
        match route(q) {
            Route::Approve { actor, why } => {
                assert_eq!(actor, Actor::AutoReview, "{q:?}");
                if why == "low risk" {
                    "rules tier"
                } else {
                    "model approves"
                }
            }
            Route::Refuse { actor, why } => {
                assert_eq!(actor, Actor::Default, "{q:?}");
                assert!(!why.is_empty());
                "refuse"
            }
            Route::Review => "ask the model",
            Route::AskPerson => "person",
        }
    }

    #[test]
    fn refusals_name_what_refused() {
        let q = |kind, policy, category, person_available| Question {
            kind,
            policy,
            category,
            person_available,
            mode: ReviewMode::Off,
            escalations: false,
            rules_tier: RulesTier::Unsettled,
            review: None,
        };
        let why = |q: Question| match route(&q) {
            Route::Refuse { why, .. } => why,
            other => panic!("{other:?}"),
        };
        use ApprovalPolicy::*;
        use CategoryApproval::*;
        use QuestionKind::*;
        assert_eq!(
            why(q(Command, Never, Deny, true)),
            "the approval policy is `never`, so actions needing approval are denied"
        );
        assert_eq!(
            why(q(McpCall, Untrusted, Deny, true)),
            "approvals.commands is `deny`, so commands needing approval are denied without asking"
        );
        assert_eq!(
            why(q(Command, OnRequest, Ask, false)),
            "nobody can be asked for approval here (no terminal), so it is denied"
        );
        assert_eq!(
            why(q(Network, Untrusted, Deny, true)),
            "approvals.network is `deny`"
        );
        assert_eq!(
            why(q(Network, Untrusted, Ask, false)),
            "nobody can be asked here (no terminal)"
        );
        assert!(why(q(Escalation, Untrusted, Deny, true)).contains("approvals.escalation"));
    }

    /// Headless, the refusal carries what the reviewer said: its recommendation, or why it
    /// was unavailable (never shown as a risk verdict).
    #[test]
    fn headless_refusals_say_what_the_reviewer_said() {
        let q = |review| Question {
            kind: QuestionKind::Command,
            policy: ApprovalPolicy::Untrusted,
            category: CategoryApproval::Ask,
            person_available: false,
            mode: ReviewMode::Model,
            escalations: false,
            rules_tier: RulesTier::Unsettled,
            review: Some(review),
        };
        let why = |q: Question| match route(&q) {
            Route::Refuse { why, .. } => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            why(q(ReviewSaid::Deny(
                "it sends ~/.ssh to a paste site".into()
            ))),
            "nobody can be asked for approval here (no terminal), so it is denied; auto-review recommends denying: it sends ~/.ssh to a paste site"
        );
        assert_eq!(
            why(q(ReviewSaid::Unavailable("timeout after 20 s".into()))),
            "nobody can be asked for approval here (no terminal), so it is denied; auto-review unavailable: timeout after 20 s"
        );
    }

    /// What the rules tier makes of a prompt, by where its reasons came from and what
    /// the risk found: only the policy's own default on a low-risk command is approved;
    /// rules files and requirements are a person's; settings the reviewer may answer.
    #[test]
    fn the_rules_tier_reads_a_decision_by_its_sources_and_risk() {
        use crate::Decision;
        use crate::risk::{Assessment, Finding, RiskLevel};
        use warden_protocol::{PolicySource, Reason, Verdict};
        let path = || "/x".to_string();
        let decision = |source: PolicySource, rule: &str, level: Option<(RiskLevel, bool)>| {
            let reviewable = source == PolicySource::BuiltIn && !level.is_some_and(|l| l.1);
            Decision {
                verdict: Verdict::Prompt,
                reasons: vec![Reason {
                    rule: rule.into(),
                    source,
                    justification: "why".into(),
                }],
                risk: level.map(|(level, dangerous)| Assessment {
                    level,
                    findings: vec![Finding {
                        id: "x",
                        level,
                        why: "found".into(),
                        dangerous,
                    }],
                }),
                reviewable,
            }
        };
        let low = Some((RiskLevel::Low, false));
        let medium = Some((RiskLevel::Medium, false));
        let critical = Some((RiskLevel::Critical, true));
        let cases = [
            (
                decision(PolicySource::BuiltIn, "untrusted-policy", low),
                "approves",
            ),
            (
                decision(PolicySource::BuiltIn, "untrusted-policy", medium),
                "unsettled",
            ),
            (
                decision(PolicySource::BuiltIn, "untrusted-policy", critical),
                "person",
            ),
            (
                decision(PolicySource::BuiltIn, "no-sandbox", medium),
                "person",
            ),
            (
                decision(PolicySource::BuiltIn, "sensitive-edit", None),
                "unsettled",
            ),
            (
                decision(PolicySource::UserRules { path: path() }, "prefix_rule", low),
                "person",
            ),
            (
                decision(
                    PolicySource::ProjectRules { path: path() },
                    "prefix_rule",
                    medium,
                ),
                "person",
            ),
            (
                decision(
                    PolicySource::Requirement { path: path() },
                    "mcp_servers.x.approval",
                    None,
                ),
                "person",
            ),
            (
                decision(
                    PolicySource::UserConfig { path: path() },
                    "mcp_servers.x.approval",
                    None,
                ),
                "unsettled",
            ),
            (
                decision(
                    PolicySource::ManagedConfig { path: path() },
                    "mcp_servers.x.approval",
                    None,
                ),
                "unsettled",
            ),
        ];
        for (decision, expected) in cases {
            let got = match RulesTier::of(&decision) {
                RulesTier::Approves(_) => "approves",
                RulesTier::Unsettled => "unsettled",
                RulesTier::PersonOnly => "person",
            };
            assert_eq!(got, expected, "{decision:?}");
        }
        assert_eq!(
            RulesTier::of_network(true, "pypi.org"),
            RulesTier::PersonOnly
        );
        assert!(matches!(
            RulesTier::of_network(false, "pypi.org"),
            RulesTier::Approves(_)
        ));
        assert_eq!(
            RulesTier::of_network(false, "paste.example"),
            RulesTier::Unsettled
        );
    }
}
