//! Who answers a question: the one place that decides, for every kind of question a
//! session can raise (a command or MCP call a rule or the policy prompted for, a rerun
//! with more access after the sandbox blocked a write, a connection to a host no rule
//! covers, an edit to a sensitive file), whether it is refused without asking, approved
//! by auto-review, or put to a person. Pure: the session gathers the facts, asks here,
//! and does what the route says.

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
    /// It does not settle it: a person (or, later, the reviewer model) decides. A rule's
    /// prompt, a dangerous finding and an admin requirement are always this.
    Unsettled,
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
    /// `auto_review` is on.
    pub auto_review: bool,
    pub rules_tier: RulesTier,
}

/// What to do with a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Approved without a person, by `actor` (auto-review), for `why`.
    Approve { actor: Actor, why: String },
    /// Refused without asking anyone, by `actor` (the fail-closed default), for `why`.
    Refuse { actor: Actor, why: String },
    /// Put to a person.
    AskPerson,
}

/// Where a question goes. In order: the approval policy `never` and a category set to
/// `deny` refuse it (auto-review included); auto-review's rules tier approves what it
/// settles; nobody to ask refuses it; otherwise a person decides.
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
    if q.auto_review
        && q.kind != QuestionKind::Escalation
        && let RulesTier::Approves(why) = &q.rules_tier
    {
        return Route::Approve {
            actor: Actor::AutoReview,
            why: why.clone(),
        };
    }
    if !q.person_available {
        return refuse(refusal(q.kind, Refusal::Nobody));
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
        if q.policy == ApprovalPolicy::Never || q.category == CategoryApproval::Deny {
            "refuse"
        } else if q.auto_review && approves && q.kind != QuestionKind::Escalation {
            "auto-review"
        } else if !q.person_available {
            "refuse"
        } else {
            "person"
        }
    }

    #[test]
    fn every_combination_routes_as_the_table_says() {
        let mut rows = 0;
        for kind in QuestionKind::ALL {
            for policy in POLICIES {
                for category in CATEGORIES {
                    for person_available in [true, false] {
                        for auto_review in [true, false] {
                            for rules_tier in
                                [RulesTier::Approves("low risk".into()), RulesTier::Unsettled]
                            {
                                let q = Question {
                                    kind,
                                    policy,
                                    category,
                                    person_available,
                                    auto_review,
                                    rules_tier,
                                };
                                let got = match route(&q) {
                                    Route::Approve { actor, .. } => {
                                        assert_eq!(actor, Actor::AutoReview, "{q:?}");
                                        "auto-review"
                                    }
                                    Route::Refuse { actor, why } => {
                                        assert_eq!(actor, Actor::Default, "{q:?}");
                                        assert!(!why.is_empty());
                                        "refuse"
                                    }
                                    Route::AskPerson => "person",
                                };
                                assert_eq!(got, expected(&q), "{q:?}");
                                rows += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(rows, 5 * 3 * 2 * 2 * 2 * 2);
    }

    #[test]
    fn refusals_name_what_refused() {
        let q = |kind, policy, category, person_available| Question {
            kind,
            policy,
            category,
            person_available,
            auto_review: false,
            rules_tier: RulesTier::Unsettled,
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
}
