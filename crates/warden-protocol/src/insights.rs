//! Insights on the wire: a period's figures (sessions, tools, decisions, the network,
//! the sandbox, auto-review) and the tuning suggestions the record supports.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which period: `since` is `7d`, `30d` (days back, today included) or a date
/// (`2026-11-01`); `until` a date (default today). Days are UTC days.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct InsightsParams {
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A named count.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    pub name: String,
    pub n: u64,
}

/// Sessions started on one day (`2026-12-07`).
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DayCount {
    pub day: String,
    pub sessions: u64,
}

/// An MCP server's tool and how often it was called.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct McpCount {
    pub server: String,
    pub tool: String,
    pub n: u64,
}

/// Decisions of one outcome made by one kind of decider.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DecisionCount {
    /// `allow` or `refuse`.
    pub outcome: String,
    /// `rule`, `requirement`, `user`, `auto-review`, `default`, `session-cache`.
    pub by: String,
    pub n: u64,
}

/// One host's connections and questions.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HostCount {
    pub host: String,
    pub allowed: u64,
    pub refused: u64,
    pub asked: u64,
}

/// What the sandbox refused, by operation and layer.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DenialCount {
    pub operation: String,
    pub layer: String,
    pub n: u64,
}

/// Auto-review's work in the period.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ReviewFigures {
    /// Actions auto-review looked at (either tier).
    pub reviews: u64,
    pub approvals: u64,
    /// Put to a person.
    pub escalations: u64,
    pub denials: u64,
    /// The reviewer model could not answer (the question went to a person).
    pub unavailable: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

/// What a suggestion is about.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum SuggestionKind {
    /// A command a person approved every time it was asked: allow it by a rule.
    AllowCommand,
    /// A host a person approved every time: allow it by a network rule.
    AllowHost,
    /// A configured rule that decided nothing in the period.
    UnusedRule,
    /// A host refused many times: a misconfiguration, or a probe.
    RefusedHost,
    /// A session with many refusals.
    RefusingSession,
}

/// One tuning suggestion and the count behind it.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub kind: SuggestionKind,
    /// What it is about: the command line, the host, the rule's source, the session id.
    pub subject: String,
    /// One line for people.
    pub title: String,
    /// The count behind it (approvals, refusals).
    pub count: u64,
    /// The exact rule text applying it writes (allow suggestions).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whether applying it is possible here (requirements may forbid user rules).
    pub can_apply: bool,
    /// Why it cannot be applied.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// A period's figures and suggestions.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InsightsResponse {
    /// First and last day (UTC), inclusive.
    pub from: String,
    pub to: String,
    pub sessions: u64,
    pub sessions_per_day: Vec<DayCount>,
    /// Workspaces with at least one session, most sessions first.
    pub workspaces: Vec<Count>,
    /// Tool calls by tool, most first.
    pub tools: Vec<Count>,
    pub mcp_tools: Vec<McpCount>,
    pub decisions: Vec<DecisionCount>,
    /// Decisions in all, and how many a person made.
    pub decided: u64,
    pub by_person: u64,
    /// The median time a person took to answer (milliseconds), when anyone answered.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_answer_ms: Option<u64>,
    /// Network attempts per host, most attempts first.
    pub network: Vec<HostCount>,
    pub top_refused_hosts: Vec<Count>,
    pub top_asked_hosts: Vec<Count>,
    pub denials: Vec<DenialCount>,
    pub review: ReviewFigures,
    pub suggestions: Vec<Suggestion>,
}

/// Apply an allow suggestion: write its rule to the user's rules.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApplySuggestionParams {
    pub kind: SuggestionKind,
    pub subject: String,
}

/// What applying wrote.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApplySuggestionResponse {
    /// The rules file written.
    pub file: String,
    /// The rule as written.
    pub change: String,
}
