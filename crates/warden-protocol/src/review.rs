//! Auto-review on the wire: the reviewer model's verdict, what an approval card shows of
//! it, the Settings view's auto-review section, and the "try it" call.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::WireApi;

/// What the reviewer recommends.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ReviewOutcome {
    Approve,
    Ask,
    Deny,
}

/// How risky the reviewer judges the action.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ReviewRisk {
    Low,
    Medium,
    High,
    Critical,
}

/// Whether the person's own requests ask for the action, as the reviewer reads them.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum UserAuthorized {
    Yes,
    No,
    Unclear,
}

/// Which tier of auto-review answered.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ReviewTier {
    /// The deterministic tier: the known-safe list, risk findings, rules.
    Rules,
    /// The reviewer model.
    Model,
}

impl ReviewOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Ask => "ask",
            Self::Deny => "deny",
        }
    }
}

impl ReviewRisk {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl UserAuthorized {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Unclear => "unclear",
        }
    }
}

impl ReviewTier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rules => "rules",
            Self::Model => "model",
        }
    }
}

/// What the reviewer model said of an action put to a person: its verdict, or why it
/// could not give one. Shown on the approval card.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReviewerNote {
    pub model: String,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ReviewOutcome>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<ReviewRisk>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Why there is no verdict (`timeout after 20 s`): never a risk verdict.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// What a session's reviewer, or all of them, spent.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSpend {
    /// Reviews asked of the reviewer model (cached answers not counted).
    pub reviews: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

/// Which tiers answer (`auto_review`).
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum AutoReviewMode {
    Off,
    Rules,
    Model,
}

impl AutoReviewMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Rules => "rules",
            Self::Model => "model",
        }
    }
}

/// The Settings view's auto-review section.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AutoReviewSettings {
    pub mode: AutoReviewMode,
    pub escalations: bool,
    /// The reviewer's endpoint, model and wire API: unset is the session model's.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_api: Option<WireApi>,
    /// Whether the reviewer has its own key in the keyring (otherwise it uses the
    /// session model's key).
    pub own_key: bool,
    pub timeout_secs: u64,
    pub max_reviews: u32,
    pub max_tokens: u64,
    pub context_tokens: u64,
    /// Settings an admin requirement fixes (`auto_review.mode`), each with its source:
    /// the view shows them read-only.
    pub locked: Vec<LockedSetting>,
    /// What reviewers spent over the last 30 days, from the audit store.
    pub spent_30_days: ReviewSpend,
}

/// A setting an admin requirement fixes.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LockedSetting {
    pub key: String,
    /// The requirement's file.
    pub source: String,
}

/// Save the auto-review section (in the user's config file; the key in the keyring).
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveAutoReviewParams {
    #[ts(optional)]
    #[serde(default)]
    pub mode: Option<AutoReviewMode>,
    #[ts(optional)]
    #[serde(default)]
    pub escalations: Option<bool>,
    /// Empty clears it (the session model's is used).
    #[ts(optional)]
    #[serde(default)]
    pub base_url: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub model: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub wire_api: Option<WireApi>,
    /// A key for the reviewer alone, stored in the keyring under its own entry.
    #[ts(optional)]
    #[serde(default)]
    pub api_key: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[ts(optional)]
    #[serde(default)]
    pub max_reviews: Option<u32>,
    #[ts(optional)]
    #[serde(default)]
    pub max_tokens: Option<u64>,
}

/// Review a typed action as a session in `cwd` would ("try it").
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReviewActionParams {
    /// The action in the corpus format (`{"kind": "shell", "argv": […]}`), or a command
    /// line typed as plain text.
    pub action: String,
    /// The workspace to review it in; the home folder when absent.
    #[ts(optional)]
    #[serde(default)]
    pub cwd: Option<String>,
    /// What the person asked for, as a session's prompts would say it.
    #[ts(optional)]
    #[serde(default)]
    pub prompt: Option<String>,
}

/// How a typed action came out.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReviewActionResponse {
    /// `approved` (runs without a person), `asked` (a person decides) or `refused`.
    pub outcome: String,
    /// What settled it: `policy`, `rules`, `model` or `person`.
    pub tier: String,
    /// The action as read.
    pub summary: String,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ReviewerNote>,
    /// Warden's own reasons (the policy's and the rules tier's).
    pub reasons: Vec<String>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub latency_ms: u64,
}
