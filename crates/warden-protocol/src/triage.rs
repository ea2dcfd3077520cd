//! Security triage on the wire: who and where a session ran and which processes its
//! commands were (so an endpoint alert can be matched to them), and a triage report: the
//! alert as read, the matching sessions and events, the verdict and its evidence.

use serde::{Deserialize, Deserializer, Serialize};
use ts_rs::TS;

/// A number read through `serde_json::Value`: a float inside an internally tagged enum
/// (`EventMsg`) is buffered first, and where serde_json's `arbitrary_precision` is on (a
/// dependency turns it on) it is buffered as a map that only `Value` reads back.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    v.as_f64()
        .ok_or_else(|| serde::de::Error::custom(format!("expected a number, found {v}")))
}

/// Where and as whom a session ran.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdentity {
    pub hostname: String,
    /// The OS user name.
    pub user: String,
    pub uid: u32,
}

/// What triage concluded: a recommendation for a person, never a closed case.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TriageVerdict {
    /// The agent did what the person asked for, within what they allowed.
    ExpectedAgentBehavior,
    /// A mistake without harm (a wrong host, a failed command).
    BenignMistake,
    /// A person should look at it now.
    NeedsEscalation,
    /// The record does not say enough (or no governed session matches).
    InsufficientEvidence,
}

impl TriageVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExpectedAgentBehavior => "expected_agent_behavior",
            Self::BenignMistake => "benign_mistake",
            Self::NeedsEscalation => "needs_escalation",
            Self::InsufficientEvidence => "insufficient_evidence",
        }
    }

    /// In words, for a report's heading.
    pub fn words(self) -> &'static str {
        match self {
            Self::ExpectedAgentBehavior => "expected agent behaviour",
            Self::BenignMistake => "a benign mistake",
            Self::NeedsEscalation => "needs escalation",
            Self::InsufficientEvidence => "insufficient evidence",
        }
    }
}

/// Who reached the verdict.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum TriageAnalysis {
    /// The triage model.
    Model,
    /// Warden's rules over the evidence (no model, or it failed: see `modelUnavailable`).
    Rules,
}

/// The alert as Warden read it.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AlertSummary {
    /// `ecs`, `falco`, `osquery` or `crowdstrike`.
    pub format: String,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// As the alert says it (`high`, `Critical`, `4`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// When it happened (ms since the epoch).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_pid: Option<u32>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// `host:port` or `address:port`.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// A session the alert matched, its events and why.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TriageMatch {
    pub session_id: String,
    /// The matching events' sequence numbers in that session.
    pub events: Vec<u64>,
    /// 0 to 1.
    #[serde(deserialize_with = "number")]
    pub score: f64,
    pub why: Vec<String>,
}

/// One cited event and what it shows.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceRef {
    pub session_id: String,
    pub seq: u64,
    pub why: String,
}

/// A triage report: recorded (as `triageReport`), returned and rendered.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TriageReport {
    pub alert: AlertSummary,
    pub verdict: TriageVerdict,
    /// 0 to 1.
    #[serde(deserialize_with = "number")]
    pub confidence: f64,
    pub analysis: TriageAnalysis,
    /// The triage model, when it answered.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the rules decided instead of the model (none configured, a timeout, an invalid
    /// answer).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_unavailable: Option<String>,
    pub summary: String,
    pub matches: Vec<TriageMatch>,
    pub evidence: Vec<EvidenceRef>,
    pub counter_evidence: Vec<String>,
    pub unknowns: Vec<String>,
    pub next_steps: Vec<String>,
}

/// Triage an endpoint alert (`warden triage`, `POST /api/triage`, the Triage view).
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TriageParams {
    /// The alert as the endpoint tool wrote it: ECS, Falco JSON, an osquery result-log
    /// line, or a CrowdStrike detection summary event.
    pub alert: String,
    /// Minutes either side of the alert's time to look in (default 10).
    #[ts(optional)]
    #[serde(default)]
    pub window_minutes: Option<u32>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TriageResponse {
    pub report: TriageReport,
    /// Where the report is recorded: its own session in the audit store.
    pub report_session_id: String,
    /// The report as Markdown.
    pub markdown: String,
}

/// The Settings view's triage section.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TriageSettings {
    /// `model` (the triage model, the rules when it fails) or `rules`.
    pub analysis: String,
    /// The triage model's endpoint, model and wire API: unset is the session model's.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_api: Option<crate::WireApi>,
    /// Whether the triage model has its own key in the keyring.
    pub own_key: bool,
    pub timeout_secs: u64,
    pub window_minutes: u32,
}

/// Save the triage section (in the user's config file; the key in the keyring).
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveTriageParams {
    /// `model` or `rules`.
    #[ts(optional)]
    #[serde(default)]
    pub analysis: Option<String>,
    /// Empty clears it (the session model's is used).
    #[ts(optional)]
    #[serde(default)]
    pub base_url: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub model: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub wire_api: Option<crate::WireApi>,
    /// A key for the triage model alone, stored in the keyring under its own entry.
    #[ts(optional)]
    #[serde(default)]
    pub api_key: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[ts(optional)]
    #[serde(default)]
    pub window_minutes: Option<u32>,
}
